"""``pregonero correct``, ``retract`` and ``history`` against a running in-process engine, and
overrides that survive a stale checkout until git carries the value."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from tests.enginekit import hold_still
from tests.test_corrections import FB, REMINDER_ES, X_ES, make_world, publishes_once
from worker.cli.main import cli
from worker.cli.status_cmd import collect as status_report
from worker.corrections.overrides import pending_overrides


@pytest.fixture
def world(engine, tmp_path, redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "cli-home"))
    return make_world(engine, tmp_path)


def run(world, *args, input=None):
    result = CliRunner().invoke(cli, [*args, "--schedules", str(world.schedules),
                                      "--config", str(world.config)], input=input,
                                catch_exceptions=False)
    return result


def correct(world, value, *extra):
    return run(world, "correct", "ayudas-test", "plazo_fin", value, "--reason",
               "el BOP rectifica la fecha", "--by", "guardia-ana", *extra)


def test_correct_previews_then_acts_with_yes(world):
    world.publish_entries(("anuncio",))
    result = correct(world, "2027-08-27", "--yes")
    assert result.exit_code == 0, result.output
    out = result.output
    # the preview: per platform and language, with the exact text
    assert "published post gets a REPLY" in out and "published post is EDITED in place" in out
    assert "[x es] " + X_ES in out and "[facebook es+ca] " + FB in out
    assert "«viernes 27 de agosto de 2027»" in out
    assert "pending post moves" in out and REMINDER_ES in out
    # the file was written back, comments kept
    text = world.file.read_text()
    assert "date: 2027-08-27" in text and "# fecha del BOP" in text
    assert "# Ayudas de prueba: el plazo se escribe UNA vez." in text
    assert "guardia-ana" in text
    world.wait_settled()
    (reply,) = world.records("reply", X_ES)
    assert "«viernes 27 de agosto de 2027»" in reply["text"]
    assert len(world.records("correct", FB)) == 1
    # outside git nothing is a commit: the override stays (listed by status), so that an
    # older copy of the folder cannot bring the 20th back (see the stale-copy tests below)
    assert [o.value for o in pending_overrides(world.store)] == ["2027-08-27"]
    assert "not a git checkout" in out
    # the same correction again: nothing to do, nothing sent twice
    again = correct(world, "2027-08-27", "--yes")
    assert "nothing to correct" in again.output
    publishes_once(world)
    # history: every version, who and why
    history = run_history(world, "anuncio")
    post = next(p for p in history["posts"] if p["job_id"] == X_ES)
    assert [v["v"] for v in post["versions"]] == [1, 2]
    assert post["versions"][1]["by"] == "guardia-ana"
    assert "el BOP rectifica la fecha" in post["versions"][1]["why"]
    assert any(a["job"] == X_ES + "#c2" and a["to"] == "published" for a in post["audit"])
    text_out = CliRunner().invoke(cli, ["history", "ayudas-test", "anuncio"]).output
    assert "v2" in text_out and "guardia-ana" in text_out and "override set" in text_out


def run_history(world, entry=None):
    args = ["history", "ayudas-test"] + ([entry] if entry else []) + ["--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dry_run_changes_nothing_and_no_confirmation_means_no_action(world):
    world.publish_entries(("anuncio",))
    before = world.file.read_text()
    dry = correct(world, "2027-08-27", "--dry-run")
    assert dry.exit_code == 0 and "--dry-run: nothing was changed" in dry.output
    assert "«viernes 27 de agosto de 2027»" in dry.output
    refused = correct(world, "2027-08-27")   # no terminal, no --yes
    assert refused.exit_code == 2
    assert world.file.read_text() == before and pending_overrides(world.store) == []
    hold_still(lambda: not world.records("reply"), 0.5, what="nothing sent")


def test_a_derived_fact_or_a_bad_value_is_refused_with_a_hint(world):
    result = correct(world, "27/08/2027", "--yes")
    assert result.exit_code == 2 and "2027-08-27" in result.output
    result = run(world, "correct", "ayudas-test", "no_such_fact", "2027-08-27", "--reason", "x",
                 "--by", "y", "--yes")
    assert result.exit_code == 2 and "plazo_fin" in result.output


def test_retract_withdraws_the_published_posts_and_cancels_pending_ones(world):
    world.publish_entries(("anuncio",))
    result = run(world, "retract", "ayudas-test", "anuncio", "--reason", "convocatoria anulada",
                 "--by", "guardia-luis", "--yes")
    assert result.exit_code == 0, result.output
    assert "published post gets a REPLY" in result.output and "ANULADO" in result.output
    world.wait_settled()
    (notice,) = world.records("reply", X_ES)
    assert notice["text"].startswith("ANULADO") and "convocatoria anulada" in notice["text"]
    assert world.store.state(X_ES) == "retracted"
    text = world.file.read_text()
    assert "id: anuncio" not in text and "entrada 'anuncio' retirada" in text
    publishes_once(world)


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), "-c", "user.email=t@example.org", "-c", "user.name=t",
                    *args], check=True, capture_output=True)


def test_an_override_survives_a_stale_checkout_until_git_carries_the_value(world):
    git(world.schedules, "init", "-q")
    git(world.schedules, "add", ".")
    git(world.schedules, "commit", "-qm", "calendar")
    world.publish_entries(("anuncio",))
    assert correct(world, "2027-08-27", "--yes").exit_code == 0
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1
    # a stale checkout (the old file comes back, e.g. git checkout / a pull of an old branch)
    git(world.schedules, "checkout", "--", "ayudas.yaml")
    assert "2027-08-20" in world.file.read_text()
    report = world.sync()
    assert report.counts["corrections"] == 0 and report.counts["moves"] == 0
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1          # no "correction" back to the 20th
    assert "27 de agosto" in world.store.get(X_ES).job.text
    assert "27 de agosto" in world.store.get(REMINDER_ES).job.text
    assert [o.value for o in pending_overrides(world.store)] == ["2027-08-27"]
    (shown,) = status_report(world.store)["overrides_not_in_git"]
    assert shown["value"] == "2027-08-27" and "plazo_fin" in shown["summary"]
    # someone commits the value: the override is cleared
    world.set_fact("plazo_fin", "2027-08-27")
    git(world.schedules, "commit", "-qam", "plazo 27")
    world.sync()
    assert pending_overrides(world.store) == []
    publishes_once(world)


def test_an_override_survives_a_stale_copy_of_a_plain_folder(world):
    # no git: the schedules are a folder that someone may overwrite with an older copy
    world.publish_entries(("anuncio",))
    stale = world.file.read_text()
    assert correct(world, "2027-08-27", "--yes").exit_code == 0
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1
    (shown,) = status_report(world.store)["overrides_not_in_git"]
    assert shown["value"] == "2027-08-27"
    world.file.write_text(stale)                      # yesterday's copy comes back
    report = world.sync()
    assert report.counts["corrections"] == 0 and report.counts["moves"] == 0
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1      # no "correction" back to the 20th
    assert "27 de agosto" in world.store.get(X_ES).job.text
    assert "27 de agosto" in world.store.get(REMINDER_ES).job.text
    assert any("stale calendar" in a["why"] for a in world.store.audit("calendar:ayudas-test"))
    publishes_once(world)


def test_an_editors_new_value_in_a_plain_folder_replaces_the_override_and_is_corrected(world):
    world.publish_entries(("anuncio",))
    assert correct(world, "2027-08-27", "--yes").exit_code == 0
    world.wait_settled()
    world.set_fact("plazo_fin", "2027-09-03")          # a newer decision, written by an editor
    world.sync()
    world.wait_settled()
    assert pending_overrides(world.store) == []
    assert "3 de septiembre" in world.store.get(REMINDER_ES).job.text
    replies = world.records("reply", X_ES)
    assert len(replies) == 2 and "«viernes 3 de septiembre de 2027»" in replies[1]["text"]


def test_on_call_corrects_from_the_last_good_version_while_an_editor_left_a_syntax_error(world):
    world.publish_entries(("anuncio",))
    good = world.file.read_text()
    broken = good.replace("entries:", "entries:\n  - id: [sin cerrar", 1)
    world.file.write_text(broken)                      # the editor's mistake, left in the file
    report = world.sync()
    assert list(report.load_errors) == ["ayudas.yaml"]
    for calendar in ("ayudas-test", str(world.file)):  # by id, and by the file's path
        result = correct(world, "2027-08-27", "--dry-run") if calendar == "ayudas-test" else \
            run(world, "correct", calendar, "plazo_fin", "2027-08-27", "--reason", "BOP",
                "--by", "guardia-ana", "--dry-run")
        assert result.exit_code == 0, result.output
        assert "does not load" in result.output or "ayudas.yaml:" in result.output
        assert "«viernes 27 de agosto de 2027»" in result.output
    result = correct(world, "2027-08-27", "--yes")
    assert result.exit_code == 0, result.output
    assert world.file.read_text() == broken            # never written over the editor's text
    world.wait_settled()
    (reply,) = world.records("reply", X_ES)
    assert "«viernes 27 de agosto de 2027»" in reply["text"]
    assert "27 de agosto" in world.store.get(REMINDER_ES).job.text
    assert "ayudas.yaml" in status_report(world.store)["calendars_failing"]
    # the editor fixes the syntax (their copy still says the 20th): the correction stands
    world.file.write_text(good)
    world.sync()
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1
    assert "27 de agosto" in world.store.get(REMINDER_ES).job.text
    publishes_once(world)


def test_a_calendar_that_never_loaded_cannot_be_corrected_and_says_why(world, tmp_path):
    (world.schedules / "nuevo.yaml").write_text("calendar:\n  id: nuevo\n  title: [sin cerrar\n")
    result = run(world, "correct", str(world.schedules / "nuevo.yaml"), "plazo_fin",
                 "2027-08-27", "--reason", "r", "--by", "b", "--yes")
    assert result.exit_code == 2
    assert "nuevo.yaml:" in result.output and "fix the file first" in result.output
