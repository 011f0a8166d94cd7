"""Event entries: what a subscriber's calendar app shows is rendered, linted and bilingual.

The iCalendar feed is read back with ``icalendar`` the way a calendar app reads it: the
summary, place and description must be the rendered texts (never ``{{ ... }}``), in every
language of the calendar, and the feed must carry the calendar's title as its name.
"""

from __future__ import annotations

import dataclasses

import icalendar

from adapters.ics import IcsAdapter
from tests.lintkit import BASE, lint, replace
from worker.engine.publisher import build_request

EVENT_ENTRY = """\
  - id: sesion-informativa
    kind: event
    category: event
    at: {before: plazo_fin, days: 10, time: "10:00"}
    accounts: [ics:ayto-test]
    text:
      es: "Sesión informativa sobre las ayudas."
      ca: "Sessió informativa sobre les ajudes."
    event:
      start: "2027-03-20 18:00"
      end: "2027-03-20 19:30"
      title: {es: "Sesión informativa", ca: "Sessió informativa"}
      place: {es: "Salón de actos", ca: "Saló d'actes"}
      description:
        es: "Resolvemos dudas antes de que termine el plazo, el {{ plazo_fin }}."
        ca: "Resolem dubtes abans que acabe el termini, el {{ plazo_fin }}."
"""


def _calendar(entry: str = EVENT_ENTRY) -> str:
    return BASE + entry


def _event_job(text: str):
    analysis = lint(text)
    assert analysis.ok, [f.format() for f in analysis.findings]
    (job,) = [j for j in analysis.jobs if j.kind == "event"]
    return job


def test_an_event_description_is_rendered_in_every_language_never_the_raw_template():
    job = _event_job(_calendar())
    assert "{{" not in job.event.description and "}}" not in job.event.description
    assert "el miércoles, 14 de abril de 2027." in job.event.description
    assert "el dimecres, 14 d’abril del 2027." in job.event.description
    # the deadline the description states is a dependency: moving it corrects the event
    assert "plazo_fin" in job.depends_on


def test_the_title_and_the_place_carry_both_languages_of_the_calendar():
    job = _event_job(_calendar())
    assert job.event.title == "Sesión informativa / Sessió informativa"
    assert job.event.place == "Salón de actos / Saló d'actes"


def test_a_place_named_alike_in_both_languages_is_written_once():
    text = _calendar(EVENT_ENTRY.replace('place: {es: "Salón de actos", ca: "Saló d\'actes"}',
                                         'place: "Auditori Municipal"'))
    assert _event_job(text).event.place == "Auditori Municipal"


def test_an_unknown_fact_in_an_event_title_is_a_located_lint_error():
    text = _calendar(EVENT_ENTRY.replace('title: {es: "Sesión informativa"',
                                         'title: {es: "Sesión {{ sesion | weekday }}"'))
    findings = [f for f in lint(text).findings if f.severity == "error"]
    assert findings, "an unknown fact in an event title must not pass the linter"
    assert any("sesion" in f.message and f.code == "template" for f in findings)
    line = text.splitlines().index(next(l for l in text.splitlines() if "Sesión {{" in l)) + 1
    assert any(f.line == line for f in findings)


def test_the_feed_a_subscriber_reads_has_the_rendered_texts_and_the_calendar_title(tmp_path):
    job = _event_job(_calendar())
    IcsAdapter("ics:ayto-test", tmp_path).publish(build_request(job))
    feed = icalendar.Calendar.from_ical((tmp_path / "ics" / "test-ayudas.ics").read_bytes())
    assert str(feed["X-WR-CALNAME"]) == "Ayudas al comercio / Ajudes al comerç"
    (event,) = feed.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Sesión informativa / Sessió informativa"
    assert str(event["LOCATION"]) == "Salón de actos / Saló d'actes"
    description = str(event["DESCRIPTION"])
    assert "{{" not in description and "miércoles, 14 de abril de 2027" in description


def test_a_moved_deadline_changes_the_event_description_so_the_feed_is_corrected():
    before = _event_job(_calendar())
    after = _event_job(replace("publicacion: 2027-03-12", "publicacion: 2027-03-19", _calendar()))
    assert before.event.description != after.event.description
    assert before.content_hash != after.content_hash
    assert dataclasses.replace(before.event, description=after.event.description) == after.event
