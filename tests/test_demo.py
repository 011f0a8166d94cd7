"""`pregonero demo` as a user runs it: a subprocess that ends on its own, in under a minute,
with every planned post in the outbox exactly once and none before its instant."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from worker.plan import all_jobs, compile_directory


def test_the_demo_publishes_every_planned_post_once_never_early_and_exits_0_on_its_own(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PREGONERO_TRANSPORT")}
    env.update(PREGONERO_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    # a liveness bound, not a speed target: the demo normally ends in about 25 s
    result = subprocess.run([sys.executable, "-m", "worker.cli.main", "demo"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    (root,) = (tmp_path / "home" / "demo").iterdir()
    outbox = root / "home" / "outbox.jsonl"
    assert f"outbox: {outbox}" in result.stdout
    # the calendar as the demo first wrote it (its last step changes a date in schedules/)
    first = root / "first" if (root / "first").exists() else root / "schedules"
    calendar = first / "demo.yaml"
    # compile as of just before the demo wrote it (its instants are in the past by now)
    written = dt.datetime.fromtimestamp(calendar.stat().st_mtime, dt.timezone.utc)
    planned = all_jobs(compile_directory(first, root / "config",
                                         written - dt.timedelta(seconds=1)))
    assert len(planned) >= 20
    assert {j.language for j in planned} >= {"es", "ca"}
    assert {j.platform for j in planned} == {"x", "facebook", "mastodon", "bluesky", "telegram", "ics"}
    assert {j.kind for j in planned} == {"post", "event", "golive"}

    posts = [json.loads(line) for line in outbox.read_text().splitlines()]
    posts = [p for p in posts if p["action"] == "publish"]
    assert sorted(p["job_id"] for p in posts) == sorted(j.id for j in planned), "each exactly once"
    due = {j.id: j.due_utc for j in planned}
    for post in posts:
        assert dt.datetime.fromisoformat(post["at"]) >= due[post["job_id"]], post["job_id"]
    golive = [p for p in posts if "/ya-abierto/" in p["job_id"]]
    assert golive and all(dt.datetime.fromisoformat(p["at"]) - due[p["job_id"]]
                          >= dt.timedelta(seconds=1.5) for p in golive), "held until the page was live"
    summary = f"{len(planned)} planned, {len(planned)} published, 0 duplicated, 0 missing, 0 early"
    assert summary in result.stdout
    for needle in ("late ms", "account", "Ayudas de demostración", "Ajudes de demostració"):
        assert needle in result.stdout
    assert Path(root / "home" / "redis").exists()
    _what_citizens_see_is_true(result.stdout, root, [json.loads(line)
                                                     for line in outbox.read_text().splitlines()])


def _what_citizens_see_is_true(stdout: str, root: Path, records: list[dict]) -> None:
    """The demo ends with the citizen's view, and that view states the corrected deadline."""
    from tests.scenarios.citizen import Fact, post_problems
    from tests.twins.base import SeenPost
    from worker.ops.citizen_view import fold, outbox_events
    from worker.corrections.writeback import read_fact_value

    assert "What citizens see now, network by network" in stdout
    assert "agenda (iCalendar feed)" in stdout and "↳ CORRECCIÓN" in stdout
    before = read_fact_value((root / "first" / "demo.yaml").read_text(), "plazo_fin")
    after = read_fact_value((root / "schedules" / "demo.yaml").read_text(), "plazo_fin")
    assert before != after
    fact = Fact("plazo_fin", (dt.date.fromisoformat(before), dt.date.fromisoformat(after)))

    def seen(post):
        return SeenPost(post.post_id, post.text, replies=tuple(seen(r) for r in post.replies))

    view = fold(records)
    assert set(view) == {"x:ayto-demo", "facebook:ayto-demo", "mastodon:ayto-demo",
                         "bluesky:ayto-demo", "telegram:ayto-demo"}
    problems = [p for posts in view.values() for post in posts
                for p in post_problems(seen(post), ("es", "ca"), [fact])]
    assert not problems, "\n".join(problems)
    (event,) = outbox_events(records)
    assert event["summary"] == "Sesión informativa / Sessió informativa" and "{{" not in \
        event["description"]
