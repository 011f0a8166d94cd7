"""Analysis creates no reference cycles, so the linter may keep the cyclic collector off while
it works (``worker.analysis._without_cycle_collection``) without leaking a thing."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

from worker.analysis import analyze_file, analyze_text, calendar_files
from worker.config import load_config

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)

BROKEN = {
    "fact-cycle": "calendar: {id: c, title: T, department: promocion, timezone: Europe/Madrid, "
                  "languages: [es], sources: ['https://a.es']}\n"
                  "facts: {a: {from: b, days: 1}, b: {from: a, days: 1}}\nentries: []\n",
    "bad-yaml": "calendar: {id: c\nentries: [\n",
    "unknown-fact": "calendar: {id: c, title: T, department: promocion, timezone: Europe/Madird, "
                    "languages: [es], sources: ['https://a.es']}\n"
                    "entries:\n  - id: e\n    at: {before: nada, days: 1, time: '10:00'}\n"
                    "    accounts: [x:ayto-calp]\n    text: {es: 'Hola {{ nada }}'}\n",
}


def _garbage_left_by(work) -> list:
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work()
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_analysing_the_example_calendars_leaves_no_reference_cycles():
    config = load_config(ROOT / "config")
    files = calendar_files([ROOT / "schedules"])
    for file in files:  # warm up: first-use caches are not garbage
        analyze_file(file, config, NOW)
    left = _garbage_left_by(lambda: [analyze_file(f, config, NOW).findings for f in files])
    assert left == [], sorted({type(o).__name__ for o in left})


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_analysing_a_broken_calendar_leaves_no_reference_cycles(name):
    config = load_config(ROOT / "config")
    assert analyze_text(BROKEN[name], config, NOW).findings, "the fixture must be broken"
    left = _garbage_left_by(lambda: analyze_text(BROKEN[name], config, NOW).findings)
    assert left == [], sorted({type(o).__name__ for o in left})
