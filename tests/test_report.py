"""``pregonero report --html``: the static site, from the plan and a real store, rendered in
a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.base import PostRef
from tests.enginekit import FakeSourcePlan, begin_attempt, make_job
from tests.lintkit import BASE, FIXTURES
from tests.opskit import decode_png
from worker.cli.main import cli
from worker.ops.report.data import StoredInfo, outcome_of
from worker.engine.sync import apply_plan

UTC = dt.timezone.utc
NOW_ISO = "2027-03-12T00:00:00Z"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine "
                                    "(Debian: apt-get install chromium; .ci/run installs it as root)")


@pytest.mark.parametrize("info, outcome", [
    (None, "not_synced"),
    (StoredInfo("published", 800), "on_time"),
    (StoredInfo("published", 60_001), "late"),
    (StoredInfo("published", 60_000), "on_time"),
    (StoredInfo("needs_correction", 10, audit_to=frozenset({"published", "needs_correction"})), "corrected"),
    (StoredInfo("published", 90_000, corrections=("cal/e/x:a/es#fix1",)), "corrected"),
    (StoredInfo("orphaned", 10, audit_to=frozenset({"published", "orphaned"})), "retracted"),
    (StoredInfo("failed", None, "Rejected: too long"), "failed"),
    (StoredInfo("cancelled"), "cancelled"),
    (StoredInfo("held", reason="quiet_period"), "pending"),
])
def test_each_past_post_gets_one_outcome(info, outcome):
    assert outcome_of(info) == outcome


@pytest.fixture
def site(tmp_path, monkeypatch, store, redis_server):
    """A report of the BASE calendar plus a store where five posts of early March 2027 went
    out on time, late, corrected, retracted and failed."""
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "ayudas.yaml").write_text(BASE, encoding="utf-8")
    day = dt.datetime(2027, 3, 2, 9, tzinfo=UTC)
    names = ("puntual", "tardio", "corregido", "retirado", "fallido")
    jobs = [make_job(name, day + dt.timedelta(hours=i), calendar="balance",
                     department="festes" if i % 2 else "promocion") for i, name in enumerate(names)]
    apply_plan(store, [FakeSourcePlan("balance.yaml", True, tuple(jobs))], day - dt.timedelta(days=1))
    ref = PostRef("x", "x:ayto-test", "1")
    for n, (job, lateness) in enumerate(zip(jobs[:4], (300, 125_000, 200, 400))):
        store.mark_published(job.id, begin_attempt(store, job.id, n), ref, lateness)
    store.flag_posted(jobs[2].id, "needs_correction", "sync", "published, but its content changed")
    store.flag_posted(jobs[3].id, "orphaned", "sync", "published, but its entry was removed")
    store.mark_failed(jobs[4].id, "AuthError: token expired", attempt_id=begin_attempt(store, jobs[4].id, 9))
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["report", str(schedules), "--html", str(out), "--config",
                                      str(FIXTURES / "config"), "--now", NOW_ISO],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_site_has_an_index_a_balance_and_one_page_per_month(site):
    assert sorted(p.name for p in site.iterdir()) == [
        "balance.html", "index.html", "month-2027-03.html", "month-2027-04.html"]


def test_the_balance_counts_the_plan_against_what_was_done(site):
    balance = text_of((site / "balance.html").read_text(encoding="utf-8"))
    # 5 posts from the store, and the 3 'anuncio' posts of 10 March the store never saw
    assert "8 post(s) were due" in balance
    for label, count in (("on time", 1), ("late (> 60 s)", 1), ("corrected", 1),
                         ("retracted", 1), ("failed", 1), ("not synced", 3)):
        assert f"{label} {count}" in balance, label
    assert "late (> 60 s) (125.0 s)" in balance


def test_a_month_page_lists_posts_per_department_and_per_account(site):
    march = (site / "month-2027-03.html").read_text(encoding="utf-8")
    text = text_of(march)
    assert "March 2027" in text and "Per department" in text and "Per account" in text
    assert "<h3>festes</h3>" in march and "<h3>promocion</h3>" in march
    assert "<h3>x:ayto-test</h3>" in march and "<h3>facebook:ayto-test</h3>" in march
    assert "Ayudas de hasta 3.000 € para el comercio local" in text
    assert march.count("<svg") == 2


def test_the_site_needs_nothing_from_the_network(site):
    for page in site.iterdir():
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html
        assert not re.search(r'(src|href)="(https?:)?//', html), page.name


@needs_chromium
def test_the_index_renders_in_headless_chromium_with_its_charts(site, tmp_path):
    index = (site / "index.html").absolute().as_uri()
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}"]
    shot = tmp_path / "index.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,2000", index],
                   capture_output=True, timeout=120, check=True)
    assert shot.exists() and 20_000 < shot.stat().st_size < 20_000_000
    width, height, bpp, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), bpp * 4)]
    ink = sum(1 for p in pixels if p != b"\xff\xff\xff")
    assert ink / len(pixels) > 0.02, "the screenshot is blank"
    bar_blue, on_time_green = bytes((0x2b, 0x6c, 0x8f)), bytes((0x1b, 0x78, 0x37))
    assert bar_blue in set(pixels), "the SVG bar charts were not drawn"
    assert on_time_green in set(pixels), "the balance chart was not drawn"

    dom = subprocess.run([*common, "--dump-dom", index], capture_output=True, timeout=120,
                         check=True, text=True).stdout
    assert "Editorial calendar" in dom and "Plan against what was done" in dom
    assert dom.count("<svg") == 4 and dom.count("<rect") >= 10
    assert "March 2027 (" in dom
