"""What `pregonero run` and the demo print for people: a correction says what was done to
which post, where and when, and never reads like a new post; logs stay off stdout."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from adapters.base import PostRef
from tests.enginekit import make_job
from worker.ops.feed import describe
from worker.engine.store import StoredJob

UTC = dt.timezone.utc
DUE = dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
AT_MS = int(dt.datetime(2027, 3, 5, 11, 30, 7, tzinfo=UTC).timestamp() * 1000)


def original(platform="x"):
    job = make_job("aviso", DUE, account=f"{platform}:ayto-test", text="El plazo acaba el 9.")
    ref = PostRef(platform, job.account, "111", f"https://{platform}.example/111")
    return StoredJob(job.id, "correcting", job, {"ref": json.dumps(ref.as_dict()), "lat": "12"})


def correction(action, platform="x", text="CORRECCIÓN: donde decía «9», debe decir «16»."):
    orig = original(platform)
    job = make_job("aviso", DUE, account=orig.job.account, text=text)
    fields = {"o": orig.id, "ca": action, "lat": "0", "ref": orig.fields["ref"]}
    return StoredJob(orig.id + "#c2", "published", job, fields), orig


def test_a_published_post_reads_as_a_publication_with_its_lateness():
    line = describe(original(), "published", "published")
    assert line.startswith("published") and "late   12 ms" in line and "El plazo" in line


def test_a_reply_correction_says_replied_on_which_post_and_when_it_happened():
    stored, orig = correction("reply")
    line = describe(stored, "published", "published", orig, AT_MS)
    assert line.startswith("replied ")
    assert "2027-03-05 12:30:07" in line            # when it went out, in Madrid time
    assert "2027-03-01" not in line and "late" not in line  # not the original's instant
    assert "(on https://x.example/111)" in line and "CORRECCIÓN" in line


def test_an_edit_and_a_deletion_say_so_and_a_deletion_quotes_no_text():
    stored, orig = correction("correct")
    assert describe(stored, "published", "published", orig, AT_MS).startswith("edited ")
    stored, orig = correction("retract", text="ANULADO: esta publicación queda sin efecto.")
    line = describe(stored, "published", "published", orig, AT_MS)
    assert line.startswith("retracted") and "ANULADO" not in line


def test_an_event_in_the_feed_is_updated_or_cancelled_not_edited():
    stored, orig = correction("correct", platform="ics")
    assert describe(stored, "published", "published", orig, AT_MS).startswith("updated ")
    stored, orig = correction("retract", platform="ics")
    assert describe(stored, "published", "published", orig, AT_MS).startswith("cancelled")


def test_a_one_shot_command_keeps_logs_off_stdout_and_writes_them_to_the_chosen_file(
        tmp_path, redis_server, monkeypatch):
    from tests.test_corrections import CALENDAR
    from worker.cli.main import cli

    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "ayudas.yaml").write_text(CALENDAR)
    from tests.test_corrections import ACCOUNTS, DEPARTMENTS, POLICIES

    config = tmp_path / "config"
    config.mkdir()
    for name, text in (("accounts", ACCOUNTS), ("departments", DEPARTMENTS),
                       ("policies", POLICIES)):
        (config / f"{name}.yaml").write_text(text)
    log_file = tmp_path / "pregonero.log"
    monkeypatch.setenv("PREGONERO_LOG_LEVEL", "INFO")
    result = CliRunner().invoke(
        cli, ["--log-file", str(log_file), "sync", "--schedules", str(schedules),
              "--config", str(config)],
        env={"REDIS_URL": redis_server.url, "PREGONERO_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0, result.output
    assert "sync_applied" not in result.stdout and "{" not in result.stdout
    assert result.stderr == ""
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(line["event"] == "sync_applied" for line in lines)
    assert all({"event", "level", "timestamp"} <= set(line) for line in lines)
