"""The iCalendar feed: parsed back with icalendar, SEQUENCE and STATUS as RFC 5545 wants."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import icalendar
import pytest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import Adapter, NotSupported, PostRequest, Rejected
from adapters.ics import IcsAdapter, IcsFeed

UTC = dt.timezone.utc
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
START = dt.datetime(2025, 3, 1, 17, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = dt.datetime(2025, 2, 20, 9, 0, tzinfo=UTC)

    def __call__(self):
        self.now += dt.timedelta(seconds=1)
        return self.now


def events_of(path) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def upsert(feed: IcsFeed, **changes) -> int:
    details = dict(calendar_id="agenda-calp", uid="cal/pleno", summary="Pleno municipal",
                   start=START, end=START + dt.timedelta(hours=2), all_day=False,
                   location="Salón de plenos", url="https://calp.es/directo",
                   description="Orden del día en calp.es")
    details.update(changes)
    return feed.upsert_event(**details)


def test_a_new_event_is_written_with_sequence_zero_and_a_stable_uid(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    assert upsert(feed) == 0
    event = events_of(tmp_path / "ics" / "agenda-calp.ics")["cal/pleno@pregonero"]
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Pleno municipal"
    assert str(event["LOCATION"]) == "Salón de plenos"
    assert str(event["URL"]) == "https://calp.es/directo"
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    assert event.decoded("DTEND") == START + dt.timedelta(hours=2)
    assert "DTSTAMP" in event


def test_utc_times_are_written_with_z(tmp_path):
    upsert(IcsFeed(tmp_path, clock=Clock()))
    assert b"DTSTART:20250301T170000Z" in (tmp_path / "ics" / "agenda-calp.ics").read_bytes()


def test_a_zoned_time_keeps_its_tzid_and_ships_a_vtimezone(tmp_path):
    start = dt.datetime(2025, 3, 1, 18, 0, tzinfo=MADRID)
    upsert(IcsFeed(tmp_path, clock=Clock()), start=start, end=None)
    raw = (tmp_path / "ics" / "agenda-calp.ics").read_bytes()
    assert b"DTSTART;TZID=Europe/Madrid:20250301T180000" in raw
    calendar = icalendar.Calendar.from_ical(raw)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Madrid"]
    event = events_of(tmp_path / "ics" / "agenda-calp.ics")["cal/pleno@pregonero"]
    assert event.decoded("DTSTART") == START  # 18:00 in Madrid is 17:00 UTC


def test_every_change_increments_the_sequence_and_repeats_do_not(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    assert upsert(feed) == 0
    assert upsert(feed) == 0  # a retried job changes nothing
    assert upsert(feed, start=START + dt.timedelta(hours=1)) == 1
    assert upsert(feed, summary="Pleno extraordinario") == 2
    event = events_of(tmp_path / "ics" / "all.ics")["cal/pleno@pregonero"]
    assert event["SEQUENCE"] == 2
    assert str(event["SUMMARY"]) == "Pleno extraordinario"


def test_cancelling_marks_the_event_cancelled_with_a_higher_sequence(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    upsert(feed)
    upsert(feed, summary="Pleno (cambio)")
    assert feed.cancel_event("cal/pleno") == 2
    assert feed.cancel_event("cal/pleno") == 2  # cancelling twice is one cancellation
    for name in ("agenda-calp.ics", "all.ics"):
        event = events_of(tmp_path / "ics" / name)["cal/pleno@pregonero"]
        assert str(event["STATUS"]) == "CANCELLED"
        assert event["SEQUENCE"] == 2


def test_republishing_a_cancelled_event_revives_it(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    upsert(feed)
    feed.cancel_event("cal/pleno")
    assert upsert(feed) == 2
    assert feed.event("cal/pleno")["status"] == "CONFIRMED"


def test_cancelling_an_unknown_event_is_a_key_error(tmp_path):
    with pytest.raises(KeyError):
        IcsFeed(tmp_path).cancel_event("nope")


def test_all_day_events_have_date_values_and_an_exclusive_end(tmp_path):
    upsert(IcsFeed(tmp_path, clock=Clock()), uid="cal/fiesta", start="2025-10-12", end=None,
           all_day=True)
    event = events_of(tmp_path / "ics" / "agenda-calp.ics")["cal/fiesta@pregonero"]
    assert event.decoded("DTSTART") == dt.date(2025, 10, 12)
    assert event.decoded("DTEND") == dt.date(2025, 10, 13)
    assert b"DTSTART;VALUE=DATE:20251012" in (tmp_path / "ics" / "all.ics").read_bytes()


def test_an_all_day_event_given_a_utc_instant_that_is_not_midnight_is_refused(tmp_path):
    with pytest.raises(ValueError, match="all-day"):
        upsert(IcsFeed(tmp_path), start="2025-10-11T22:00:00+00:00", end=None, all_day=True)


def test_floating_times_are_refused(tmp_path):
    with pytest.raises(ValueError, match="time zone"):
        upsert(IcsFeed(tmp_path), start=dt.datetime(2025, 3, 1, 18, 0))


def test_each_calendar_has_its_file_and_all_ics_has_every_event(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    upsert(feed)
    upsert(feed, calendar_id="deportes", uid="dep/maraton", summary="Maratón")
    assert set(events_of(tmp_path / "ics" / "agenda-calp.ics")) == {"cal/pleno@pregonero"}
    assert set(events_of(tmp_path / "ics" / "deportes.ics")) == {"dep/maraton@pregonero"}
    assert set(events_of(tmp_path / "ics" / "all.ics")) == {"cal/pleno@pregonero",
                                                             "dep/maraton@pregonero"}


def test_moving_an_event_to_another_calendar_removes_it_from_the_old_file(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    upsert(feed)
    upsert(feed, calendar_id="cultura")
    assert events_of(tmp_path / "ics" / "agenda-calp.ics") == {}
    assert set(events_of(tmp_path / "ics" / "cultura.ics")) == {"cal/pleno@pregonero"}


def test_state_and_files_are_replaced_atomically_without_leftovers(tmp_path):
    feed = IcsFeed(tmp_path, clock=Clock())
    for hour in range(5):
        upsert(feed, start=START + dt.timedelta(hours=hour))
    names = sorted(p.name for p in (tmp_path / "ics").iterdir())
    assert names == [".lock", "agenda-calp.ics", "all.ics", "state.json"]
    state = json.loads((tmp_path / "ics" / "state.json").read_text())
    assert state["events"]["cal/pleno"]["sequence"] == 4


def test_rendering_the_same_state_gives_the_same_bytes(tmp_path):
    for name in ("one", "two"):
        feed = IcsFeed(tmp_path / name, clock=Clock())
        upsert(feed)
        upsert(feed, calendar_id="otro", uid="otro/evento", summary="Otro")
    assert ((tmp_path / "one" / "ics" / "all.ics").read_bytes()
            == (tmp_path / "two" / "ics" / "all.ics").read_bytes())


# --- the adapter ----------------------------------------------------------------------------


def event_request(action="publish", target=None, **event) -> PostRequest:
    details = {"start_utc": "2025-03-01T17:00:00+00:00", "end_utc": "2025-03-01T19:00:00+00:00",
               "all_day": False, "title": "Pleno municipal", "place": "Salón de plenos",
               "stream_url": "https://calp.es/directo", "description": "Orden del día"}
    details.update(event)
    return PostRequest(job_id="plenos/2025-03/ics:agenda-calp/es", account="ics:agenda-calp",
                       action=action, text="Pleno municipal", language="es",
                       idempotency_key=f"k-{action}", due=START, target=target, event=details)


def adapter(tmp_path) -> IcsAdapter:
    account = AccountConfig.from_mapping("ics:agenda-calp", {"department": "comunicacion"})
    built = make_adapter(account, "live", home=tmp_path)
    assert isinstance(built, IcsAdapter) and isinstance(built, Adapter)
    return built


def test_the_adapter_publishes_corrects_and_retracts_an_event(tmp_path):
    ics = adapter(tmp_path)
    assert ics.lookup(event_request()) is None
    ref = ics.publish(event_request())
    assert ref.platform == "ics" and ref.post_id == "plenos/2025-03/ics:agenda-calp/es"
    assert ics.lookup(event_request()) == ref
    corrected = ics.correct(event_request("correct", target=ref,
                                          start_utc="2025-03-01T18:00:00+00:00"))
    assert corrected.extra["sequence"] == "1"
    assert ics.lookup(event_request("retract", target=ref)) is None
    ics.retract(event_request("retract", target=ref))
    assert ics.lookup(event_request("retract", target=ref)) is not None
    event = events_of(tmp_path / "ics" / "agenda-calp.ics")[f"{ref.post_id}@pregonero"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 2
    assert event.decoded("DTSTART") == dt.datetime(2025, 3, 1, 18, 0, tzinfo=UTC)


def test_a_publish_without_event_details_is_rejected(tmp_path):
    request = PostRequest("j", "ics:agenda-calp", "publish", "texto", "es", "k", START)
    with pytest.raises(Rejected, match="no event details"):
        adapter(tmp_path).publish(request)


def test_the_feed_has_no_replies(tmp_path):
    with pytest.raises(NotSupported):
        adapter(tmp_path).reply(event_request("reply"))
