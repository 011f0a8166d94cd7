"""A planned job: one thing to send to one account in one language (or combined) at one instant.

The compiled plan is a sorted tuple of these. The store keeps them, the diff compares them by
``id`` and ``content_hash``, the dispatcher sends them at ``due_utc``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Literal, Mapping

Kind = Literal["post", "golive", "event"]


@dataclasses.dataclass(frozen=True)
class PlannedImage:
    """An image of a job, with alt text already chosen for the job's language(s)."""

    path: str
    alt: str


@dataclasses.dataclass(frozen=True)
class EventInfo:
    """What the iCalendar feed needs about an event entry."""

    start_utc: str
    end_utc: str | None
    all_day: bool
    title: str
    place: str | None
    stream_url: str | None
    description: str
    #: the calendar's title in its languages ("Fiestas 2027 / Festes 2027"): the feed's name
    calendar_title: str = ""


@dataclasses.dataclass(frozen=True)
class Job:
    """A job of the compiled plan.

    ``id`` is deterministic and readable: ``calendar/entry/account/language``, so that every
    compile of the same calendar yields the same ids and on-call staff can read them.
    ``depends_on`` maps each fact the job's instant or text uses to the value used, so that
    the correction path knows which published posts a changed fact touches.
    """

    id: str
    calendar: str
    entry: str
    kind: Kind
    account: str
    platform: str
    department: str
    #: the language tag, or tags joined by '+' for a combined post ("es+ca")
    language: str
    due_utc: dt.datetime
    due_local: str
    timezone: str
    text: str
    link: str | None = None
    images: tuple[PlannedImage, ...] = ()
    depends_on: Mapping[str, str] = dataclasses.field(default_factory=dict)
    official_url: str | None = None
    #: for go-live jobs: a text the official page must show before the post goes out (a page
    #: that answers 200 with "En construcción" is not open)
    check_contains: str | None = None
    category: str = "institutional"
    event: EventInfo | None = None
    #: texts per language tag for a combined post (so corrections can re-render each part)
    parts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: a thread (the entry's ``thread: true``, its text too long for one post): the posts in
    #: order, each with its counter, each a reply to the one before; ``text`` stays the whole
    #: text, which corrections compare. Empty: one post.
    thread: tuple[str, ...] = ()

    @classmethod
    def build(cls, *parts: Mapping[str, object], **fields) -> "Job":
        """A job from every one of its fields, without the generated ``__init__``: a frozen
        dataclass sets each field through ``object.__setattr__`` (5 µs for these 19), and the
        compiler makes hundreds of thousands of jobs. ``parts`` are mappings of fields (those
        an entry's jobs share, then a job's own), ``fields`` the rest. The result is as frozen
        as any other."""
        job = object.__new__(cls)
        values = job.__dict__
        for part in parts:
            values.update(part)
        values.update(fields)
        if len(values) != len(_FIELDS):
            missing = sorted({f.name for f in _FIELDS} - set(values))
            raise TypeError(f"Job.build needs every field; missing {missing}")
        return job

    @property
    def content_hash(self) -> str:
        """A hash of everything that would change what citizens see, or when."""
        cached = self.__dict__.get("_content_hash")
        if cached is None:  # frozen: computed once per instance (a correction fan-out asks often)
            payload = self.as_dict()
            payload.pop("id")
            raw = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
            cached = hashlib.sha256(raw).hexdigest()[:20]
            object.__setattr__(self, "_content_hash", cached)
        return cached

    def as_dict(self) -> dict:
        """JSON-ready form, stable key order (``plan --json`` must be byte-identical)."""
        # what dataclasses.asdict gives, without its deep copies (every field is a plain value,
        # a mapping of strings, or a tuple of small dataclasses)
        data = {field.name: getattr(self, field.name) for field in _FIELDS}
        data["images"] = tuple({"path": i.path, "alt": i.alt} for i in self.images)
        data["event"] = dataclasses.asdict(self.event) if self.event is not None else None
        data["due_utc"] = self.due_utc.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
        data["depends_on"] = dict(sorted(self.depends_on.items()))
        data["parts"] = dict(sorted(self.parts.items()))
        if self.thread:
            data["thread"] = list(self.thread)
        else:
            # a field added after posts were stored: absent when unused, so that the content
            # hash of every job without a thread is what it was (no post looks changed)
            del data["thread"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> "Job":
        data = dict(data)
        data.pop("content_hash", None)
        data["due_utc"] = dt.datetime.fromisoformat(data["due_utc"])
        data["images"] = tuple(PlannedImage(**img) for img in data.get("images") or ())
        data["event"] = EventInfo(**data["event"]) if data.get("event") else None
        data["depends_on"] = dict(data.get("depends_on") or {})
        data["parts"] = dict(data.get("parts") or {})
        data["thread"] = tuple(data.get("thread") or ())
        return cls(**data)


_FIELDS = dataclasses.fields(Job)


def job_id(calendar: str, entry: str, account: str, language: str) -> str:
    """The deterministic id of a job."""
    return f"{calendar}/{entry}/{account}/{language}"
