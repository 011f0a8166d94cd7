"""The iCalendar feed as a subscriber's calendar app reads it.

An app that subscribes to ``<calendar>.ics`` fetches it again from time to time and keeps one
event per UID: an event that comes back with a higher SEQUENCE replaces the one it had (RFC
5545 3.8.7.4), a lower or equal one does not, and STATUS:CANCELLED removes it from the
agenda. The feed is parsed back with ``icalendar`` exactly as published: what the app shows
is the SUMMARY, LOCATION, DESCRIPTION and the start/end of each event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import icalendar


@dataclasses.dataclass(frozen=True)
class SeenEvent:
    """One event in a subscriber's agenda."""

    uid: str
    summary: str
    location: str
    description: str
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None
    sequence: int
    url: str = ""

    @property
    def text(self) -> str:
        """Everything the app shows of the event, for date checks."""
        return "\n".join(p for p in (self.summary, self.location, self.description) if p)


class FeedSubscriber:
    """A calendar app subscribed to one ``.ics`` file (which may not exist yet)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.calendar_name = ""
        self._events: dict[str, SeenEvent] = {}
        self._cancelled: set[str] = set()

    def refresh(self) -> None:
        """Fetch the feed again and apply it as an app does."""
        if not self.path.exists():
            return
        feed = icalendar.Calendar.from_ical(self.path.read_bytes())
        self.calendar_name = str(feed.get("X-WR-CALNAME", ""))
        for event in feed.walk("VEVENT"):
            uid = str(event["UID"])
            sequence = int(event.get("SEQUENCE", 0))
            known = self._events.get(uid)
            if known is not None and known.sequence >= sequence:
                continue
            if str(event.get("STATUS", "CONFIRMED")).upper() == "CANCELLED":
                self._cancelled.add(uid)
            else:
                self._cancelled.discard(uid)
            end = event.get("DTEND")
            self._events[uid] = SeenEvent(
                uid, str(event.get("SUMMARY", "")), str(event.get("LOCATION", "")),
                str(event.get("DESCRIPTION", "")), event.decoded("DTSTART"),
                event.decoded("DTEND") if end is not None else None, sequence,
                str(event.get("URL", "")))

    def visible(self) -> list[SeenEvent]:
        """The events in the agenda now (after a refresh), by start."""
        self.refresh()
        shown = [e for uid, e in self._events.items() if uid not in self._cancelled]
        return sorted(shown, key=lambda e: (str(e.start), e.uid))
