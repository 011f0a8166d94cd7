"""The iCalendar feed: events of the calendars as subscribable ``.ics`` files.

Calendar apps keep a subscribed event and update it when the same UID comes back with a higher
SEQUENCE (RFC 5545 3.8.7.4); a cancelled event stays in the feed with STATUS:CANCELLED so
that subscribers remove it, instead of silently vanishing. The feed's state (each event and
its SEQUENCE) lives in ``home/ics/state.json``; the ``.ics`` files are rebuilt from it on every
change, each written to a temporary file and renamed over the old one so a web server never
serves half a calendar. A lock file serialises the workers that update the feed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import pathlib
import tempfile
import zoneinfo
from typing import Callable, Mapping

import icalendar

from .platform import utc_now
from .accounts import AccountConfig
from .base import AccountStatus, Capabilities, NotSupported, PostRef, PostRequest, Rejected
from .capabilities import ICS

__all__ = ["IcsFeed", "IcsAdapter", "ALL_CALENDAR", "UID_DOMAIN"]

ALL_CALENDAR = "all"
UID_DOMAIN = "pregonero"
_PRODID = "-//pregonero//pregonero//ES"
_FIELDS = ("calendar_id", "summary", "start", "end", "all_day", "location", "url",
           "description")


def _encode_moment(value: dt.date | dt.datetime | str | None, all_day: bool) -> str | None:
    """A start/end as stored in state.json: ISO date, or ISO datetime plus its zone key."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value or not all_day \
            else dt.date.fromisoformat(value)
    if all_day:
        if isinstance(value, dt.datetime):
            # a UTC instant is the wrong day for Spain half the time: only a midnight is a day
            if value.time() != dt.time(0):
                raise ValueError(f"an all-day event needs a date, got {value.isoformat()}")
            value = value.date()
        return value.isoformat()
    if not isinstance(value, dt.datetime):
        raise ValueError(f"a timed event needs a datetime, got the date {value}")
    if value.tzinfo is None:
        # a floating time would mean different instants to different subscribers
        raise ValueError(f"event time {value.isoformat()} has no time zone")
    key = getattr(value.tzinfo, "key", None)
    if key and key != "UTC":
        # keep the IANA zone: rendered as TZID with a VTIMEZONE, as organisers expect
        return f"{value.isoformat()}[{key}]"
    return value.astimezone(dt.timezone.utc).isoformat()


def _decode_moment(text: str, all_day: bool) -> dt.date | dt.datetime:
    if all_day:
        return dt.date.fromisoformat(text)
    if text.endswith("]"):
        stamp, key = text[:-1].split("[")
        return dt.datetime.fromisoformat(stamp).astimezone(zoneinfo.ZoneInfo(key))
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)


class IcsFeed:
    """The events of all calendars, kept in ``home/ics``."""

    def __init__(self, home: pathlib.Path | str,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.dir = pathlib.Path(home) / "ics"
        self.state_path = self.dir / "state.json"
        self.clock = clock

    def upsert_event(self, calendar_id: str, uid: str, summary: str,
                     start: dt.date | dt.datetime | str, end: dt.date | dt.datetime | str | None,
                     all_day: bool, location: str | None = None, url: str | None = None,
                     description: str = "", calendar_title: str | None = None) -> int:
        """Add or change an event; returns its SEQUENCE (0 when new, +1 on each change).

        Sending the same details again changes nothing (a retried job must not bump SEQUENCE);
        re-publishing a cancelled event revives it with a higher SEQUENCE. ``calendar_title``
        names the calendar's feed (X-WR-CALNAME) in subscribers' apps.
        """
        if not calendar_id or "/" in calendar_id or calendar_id == ALL_CALENDAR:
            raise ValueError(f"invalid calendar id {calendar_id!r}")
        fields = {"calendar_id": calendar_id, "summary": summary,
                  "start": _encode_moment(start, all_day), "end": _encode_moment(end, all_day),
                  "all_day": bool(all_day), "location": location, "url": url,
                  "description": description or ""}
        with self._locked_state() as state:
            events = state["events"]
            old = events.get(uid)
            titles = state.setdefault("titles", {})
            retitled = bool(calendar_title) and titles.get(calendar_id) != calendar_title
            if retitled:
                titles[calendar_id] = calendar_title
            if old and old["status"] == "CONFIRMED" and all(old[k] == fields[k] for k in _FIELDS):
                if retitled:
                    self._write(state, {calendar_id})
                return old["sequence"]
            stamp = self.clock().astimezone(dt.timezone.utc).isoformat()
            event = dict(fields, status="CONFIRMED", modified=stamp,
                         sequence=old["sequence"] + 1 if old else 0,
                         created=old["created"] if old else stamp)
            events[uid] = event
            calendars = {calendar_id} | ({old["calendar_id"]} if old else set())
            self._write(state, calendars)
            return event["sequence"]

    def cancel_event(self, uid: str) -> int:
        """Mark an event STATUS:CANCELLED with SEQUENCE+1; returns the new SEQUENCE."""
        with self._locked_state() as state:
            event = state["events"].get(uid)
            if event is None:
                raise KeyError(f"no event with uid {uid!r} in the feed")
            if event["status"] != "CANCELLED":
                event.update(status="CANCELLED", sequence=event["sequence"] + 1,
                             modified=self.clock().astimezone(dt.timezone.utc).isoformat())
                self._write(state, {event["calendar_id"]})
            return event["sequence"]

    def event(self, uid: str) -> dict | None:
        """The stored state of an event (a copy), or None."""
        event = self._read_state()["events"].get(uid)
        return dict(event) if event else None

    def path_of(self, calendar_id: str) -> pathlib.Path:
        """The ``.ics`` file of a calendar (``all`` for the feed of every calendar)."""
        return self.dir / f"{calendar_id}.ics"

    # --- internals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked_state(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._read_state()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "events": {}}
        except ValueError as exc:
            raise RuntimeError(f"iCalendar state {self.state_path} is corrupt") from exc

    def _write(self, state: dict, calendars: set[str]) -> None:
        # state first: if we die before the .ics files, the next change rebuilds them
        _atomic_write(self.state_path, json.dumps(state, ensure_ascii=False, indent=1,
                                                  sort_keys=True).encode("utf-8"))
        for calendar_id in sorted(calendars):
            members = {u: e for u, e in state["events"].items() if e["calendar_id"] == calendar_id}
            title = state.get("titles", {}).get(calendar_id) or calendar_id
            _atomic_write(self.path_of(calendar_id), _render(title, members))
        titles = [t for _, t in sorted(state.get("titles", {}).items())]
        _atomic_write(self.path_of(ALL_CALENDAR),
                      _render(" · ".join(titles) or ALL_CALENDAR, state["events"]))


def _render(name: str, events: Mapping[str, dict]) -> bytes:
    """The iCalendar text of ``events`` under the calendar name ``name`` (X-WR-CALNAME, what
    a subscriber's app shows as the calendar's name), in a stable order (same state, same
    bytes)."""
    cal = icalendar.Calendar()
    cal.add("prodid", _PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for uid in sorted(events):
        data = events[uid]
        ev = icalendar.Event()
        ev.add("uid", f"{uid}@{UID_DOMAIN}")
        # DTSTAMP is the last change, not "now": unchanged events render identically
        ev.add("dtstamp", dt.datetime.fromisoformat(data["modified"]).astimezone(dt.timezone.utc))
        ev.add("last-modified",
               dt.datetime.fromisoformat(data["modified"]).astimezone(dt.timezone.utc))
        ev.add("created", dt.datetime.fromisoformat(data["created"]).astimezone(dt.timezone.utc))
        ev.add("sequence", data["sequence"])
        ev.add("status", data["status"])
        ev.add("summary", data["summary"])
        start = _decode_moment(data["start"], data["all_day"])
        ev.add("dtstart", start)
        if data["end"]:
            ev.add("dtend", _decode_moment(data["end"], data["all_day"]))
        elif data["all_day"]:
            # DTEND of an all-day event is exclusive: the next day
            ev.add("dtend", start + dt.timedelta(days=1))
        if data.get("location"):
            ev.add("location", data["location"])
        if data.get("url"):
            ev.add("url", data["url"])
        if data.get("description"):
            ev.add("description", data["description"])
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # served to the public by a web server
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class IcsAdapter:
    """The Adapter protocol on the feed: publish/correct upsert an event, retract cancels it.

    The request carries the event (``PostRequest.event``: EventInfo fields). The UID is the
    event's ``uid`` if given, else the job id — both stable across compiles, so a corrected
    event replaces the old one in subscribers' calendars. The calendar is the event's
    ``calendar`` if given, else the account handle (``ics:agenda-calp`` -> agenda-calp.ics).
    """

    def __init__(self, account: AccountConfig | str, home: pathlib.Path | str,
                 capabilities: Capabilities = ICS,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.account: str = account.ref if isinstance(account, AccountConfig) else account
        self.capabilities = capabilities
        self.feed = IcsFeed(home, clock=clock)
        self.calendar_id = self.account.split(":", 1)[-1]

    def publish(self, request: PostRequest) -> PostRef:
        """Add (or update) the event of ``request``."""
        uid, calendar_id, event = self._event_of(request)
        return self._upsert(uid, calendar_id, event, request)

    def correct(self, request: PostRequest) -> PostRef:
        """Update the event ``request.target`` (SEQUENCE+1). Without ``request.event`` only the
        description changes, to ``request.text``."""
        if request.target is None:
            raise ValueError(f"correct of job {request.job_id} needs request.target")
        uid = request.target.post_id
        if request.event is None:
            stored = self.feed.event(uid)
            if stored is None:
                raise Rejected(f"event {uid} is not in the feed")
            sequence = self.feed.upsert_event(
                stored["calendar_id"], uid, stored["summary"], stored["start"], stored["end"],
                stored["all_day"], stored["location"], stored["url"], request.text)
            return self._ref(uid, stored["calendar_id"], sequence)
        _, calendar_id, event = self._event_of(request)
        return self._upsert(uid, calendar_id, event, request)

    def reply(self, request: PostRequest) -> PostRef:
        """A calendar has no replies: the planner alerts instead."""
        raise NotSupported("the iCalendar feed has no replies")

    def retract(self, request: PostRequest) -> None:
        """Cancel the event (STATUS:CANCELLED, SEQUENCE+1); it stays in the feed."""
        if request.target is None:
            raise ValueError(f"retract of job {request.job_id} needs request.target")
        try:
            self.feed.cancel_event(request.target.post_id)
        except KeyError as exc:
            raise Rejected(f"event {request.target.post_id} is not in the feed") from exc

    def lookup(self, request: PostRequest) -> PostRef | None:
        """The event exists (for a retraction: is cancelled) — writes are atomic, so it is."""
        uid = request.target.post_id if request.target is not None else self._uid_of(request)
        stored = self.feed.event(uid)
        if stored is None or (request.action == "retract" and stored["status"] != "CANCELLED"):
            return None
        return self._ref(uid, stored["calendar_id"], stored["sequence"])

    def verify(self) -> AccountStatus:
        """No credentials: check that the feed directory is writable."""
        self.feed.dir.mkdir(parents=True, exist_ok=True)
        ok = os.access(self.feed.dir, os.W_OK)
        return AccountStatus(self.account, ok, f"iCalendar feed in {self.feed.dir}"
                             + ("" if ok else " is not writable"))

    # --- internals ------------------------------------------------------------------------------

    @staticmethod
    def _uid_of(request: PostRequest) -> str:
        event = request.event or {}
        return str(event.get("uid") or request.job_id)

    def _event_of(self, request: PostRequest) -> tuple[str, str, Mapping]:
        if request.event is None:
            raise Rejected(f"job {request.job_id} has no event details for the iCalendar feed")
        event = request.event
        missing = [key for key in ("start_utc", "title") if not event.get(key)]
        if missing:
            raise Rejected(f"event of job {request.job_id} lacks {', '.join(missing)}")
        return self._uid_of(request), str(event.get("calendar") or self.calendar_id), event

    def _upsert(self, uid: str, calendar_id: str, event: Mapping,
                request: PostRequest) -> PostRef:
        try:
            sequence = self.feed.upsert_event(
                calendar_id, uid, str(event["title"]), event["start_utc"],
                event.get("end_utc"), bool(event.get("all_day")), event.get("place"),
                event.get("stream_url") or request.link,
                str(event.get("description") or request.text),
                calendar_title=str(event.get("calendar_title") or "") or None)
        except ValueError as exc:
            raise Rejected(f"event of job {request.job_id}: {exc}") from exc
        return self._ref(uid, calendar_id, sequence)

    def _ref(self, uid: str, calendar_id: str, sequence: int) -> PostRef:
        url = f"{self.feed.path_of(calendar_id).resolve().as_uri()}#{uid}@{UID_DOMAIN}"
        return PostRef("ics", self.account, uid, url,
                       {"calendar": calendar_id, "sequence": str(sequence)})
