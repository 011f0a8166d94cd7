"""The calendar language's structure (see docs/calendar.md) and its JSON Schema."""

from __future__ import annotations

import json

from worker.calendar.spec import (ACCOUNT, FACT_NAME, LANG, SLUG, URL, Bool, Enum, Int, List, Obj, OneOf, Str,
                                  lang_text)

SCHEMA_ID = "https://pregonero.example.org/schema/calendar.schema.json"

DATE_EX = "2027-04-09"
DATETIME_EX = "2027-04-09 10:00"

KINDS = ("post", "golive", "event")
CATEGORIES = ("procedure", "service", "institutional", "event", "emergency")
OFFSET_UNITS = ("days", "business_days", "hours", "minutes", "weeks")
PERIOD_UNITS = ("business_days", "calendar_days", "weeks", "months", "years")
FORMATS = ("full", "long", "day_month", "weekday", "short", "iso", "time", "datetime")

_date = Str(doc="a date as YYYY-MM-DD, e.g. 2027-04-09", example=DATE_EX)
_datetime = Str(doc="a local date and time as YYYY-MM-DD HH:MM, e.g. 2027-04-09 10:00",
                example=DATETIME_EX)
_time = Str(doc="a local time as HH:MM (24 h), e.g. 10:00", example="10:00")
_fact_ref = Str(doc="the name of a fact of this calendar", pattern=FACT_NAME, example="plazo_fin")

_holiday = OneOf(
    doc="a local holiday: a date, or {date, name}",
    options=(_date, Obj(fields={"date": _date, "name": Str(doc="the holiday's name")},
                        required=("date",), name="local holiday")),
    choose=lambda v: 1 if isinstance(v, dict) else (0 if isinstance(v, str) else None),
    description="a date (YYYY-MM-DD) or {date: ..., name: ...}")

CALENDAR_HEADER = Obj(
    name="calendar header",
    doc="Who publishes this calendar and how its dates are read.",
    fields={
        "id": Str(doc="the calendar's id, unique in the repository (lowercase, digits, - and _)",
                  pattern=SLUG, example="calp-ayudas-comercio-2027"),
        "title": lang_text("the calendar's title"),
        "department": Str(doc="the owning department, as named in config/departments.yaml",
                          pattern=SLUG, example="promocion-economica"),
        "timezone": Str(doc="an IANA time zone, e.g. Europe/Madrid, Atlantic/Canary, "
                        "America/Mexico_City", example="Europe/Madrid"),
        "languages": List(doc="the languages of every text, the first one primary "
                          "(es, ca, ca-valencia, eu, gl, en, es-MX ...)",
                          item=Str(doc="a language tag", pattern=LANG, example="es"), min_items=1),
        "holidays": Obj(name="holidays section", doc="which days are not business days", fields={
            "region": Str(doc="country or region code for national and regional holidays: "
                          "ES, ES-VC, ES-PV, ES-CT, ES-GA, MX, MX-CMX ...", example="ES-VC"),
            "local": List(doc="local holidays of the municipality", item=_holiday),
        }, required=("region",)),
        "sources": List(doc="official source URLs; the first is the primary one (web or sede)",
                        item=Str(doc="an https:// URL", pattern=URL, example="https://..."),
                        min_items=1),
        "hashtags": List(doc="hashtags added to every post of this calendar",
                         item=Str(doc="a hashtag", pattern=r"^#\w+$", example="#Calp")),
    },
    required=("id", "title", "department", "timezone", "languages", "sources"),
)

_derived = {
    "from": _fact_ref,
    **{unit: Int(doc=f"number of {unit.replace('_', ' ')}", minimum=1, maximum=3650)
       for unit in PERIOD_UNITS},
}
FACT = OneOf(
    doc="a fact: a date, a date and time, a time, a value, or a period counted from another fact",
    options=(
        _date,
        Obj(name="fact", doc="a fact stated once; every text and time refers to it by name",
            fields={
                "date": _date, "datetime": _datetime, "time": _time,
                "value": lang_text("a value, e.g. an amount or a place"),
                **_derived,
                "label": lang_text("how citizens call this fact, used in correction notices: "
                                   "'el plazo de solicitud'"),
            }),
    ),
    choose=lambda v: 1 if isinstance(v, dict) else (0 if isinstance(v, str) else None),
    description="a date (YYYY-MM-DD) or a mapping (date:, datetime:, time:, value:, from:)",
)

AT = OneOf(
    doc="when to publish: a local date and time, or relative to a fact",
    options=(
        _datetime,
        Obj(name="relative time", doc="relative to a fact: {before: plazo_fin, days: 3, time: "
            "'10:00'}", fields={
                "on": _fact_ref, "before": _fact_ref, "after": _fact_ref,
                **{u: Int(doc=f"number of {u.replace('_', ' ')}", minimum=0, maximum=3650)
                   for u in OFFSET_UNITS},
                "time": _time,
            }),
    ),
    choose=lambda v: 1 if isinstance(v, dict) else (0 if isinstance(v, str) else None),
    description="a local date and time (YYYY-MM-DD HH:MM) or {on|before|after: fact, ...}",
)

IMAGE = Obj(name="image", doc="an image with alternative text in every language", fields={
    "file": Str(doc="path of an image file inside the calendar repository, relative to the "
                "calendar file (e.g. img/cartel.png)"),
    "url": Str(doc="public URL of the image (Instagram needs one)", pattern=URL),
    "alt": lang_text("alternative text describing the image, for blind citizens"),
}, required=("alt",))

_override = Obj(name="override", doc="what changes for this platform or account", fields={
    "text": lang_text("the text for this platform"),
    "link": Str(doc="a link for this platform", pattern=URL),
    "images": List(doc="images for this platform", item=IMAGE),
})

EVENT = Obj(name="event", doc="what, when and where", fields={
    "start": OneOf(doc="start: local date and time, a date (all day) or a fact name",
                   options=(Str(doc="YYYY-MM-DD HH:MM, YYYY-MM-DD or a fact name"),),
                   choose=lambda v: 0 if isinstance(v, str) else None,
                   description="a local date and time, a date or a fact name"),
    "end": Str(doc="end: local date and time, a date or a fact name"),
    "title": lang_text("the event's title"),
    "place": lang_text("where it happens"),
    "stream": Str(doc="live-stream URL", pattern=URL),
    "description": lang_text("a longer description for the iCalendar feed"),
}, required=("start", "title"))

ENTRY = Obj(
    name="entry",
    doc="a post, a go-live announcement or an event",
    fields={
        "id": Str(doc="the entry's id, unique in this calendar", pattern=SLUG,
                  example="recordatorio-plazo"),
        "kind": Enum(doc="post (default), golive (published only once the official URL is "
                     "live) or event", values=KINDS),
        "category": Enum(doc="what the post is about; quiet periods allow some categories",
                         values=CATEGORIES),
        "for": Str(doc="the period this entry is about (a name under 'periods')", pattern=FACT_NAME),
        "role": Enum(doc="announcement (before the period opens), reminder (while it is open) "
                     "or closing (at or after the close)",
                     values=("announcement", "reminder", "closing")),
        "at": AT,
        "accounts": List(doc="where to publish: platform:account, e.g. x:ayto-calp",
                         item=Str(doc="platform:account", pattern=ACCOUNT, example="x:ayto-calp"),
                         min_items=1, scalar_ok=True),
        "text": lang_text("the text, with {{ fact }} templates, in every language"),
        "link": Str(doc="a link added to the post", pattern=URL),
        "images": List(doc="images with alternative text", item=IMAGE),
        "check_url": Str(doc="for golive: the official page that must be live before "
                         "publishing (default: the calendar's first source)", pattern=URL),
        "check_contains": Str(doc="for golive: a text the official page must contain"),
        "event": EVENT,
        "overrides": Obj(name="overrides", doc="per platform (x, facebook...) or per account "
                         "(x:ayto-calp)", keys=r"^[a-z]+(:[A-Za-z0-9_.@-]+)?$", values=_override),
        "thread": Bool(doc="true: where the text is too long for one post, it goes out as a "
                       "thread of numbered replies on X, Bluesky, Mastodon and Threads (each "
                       "part within the network's limit; corrections answer the first part)"),
        "archived": Bool(doc="true once the post went out and its time has passed: kept for "
                         "corrections, not scheduled again, not linted as 'in the past'"),
    },
    required=("id", "at", "accounts", "text"),
)

PERIOD = Obj(name="period", doc="a period between two facts (e.g. an application period)",
             fields={"opens": _fact_ref, "closes": _fact_ref,
                     "label": lang_text("how citizens call it: 'el plazo de solicitudes'")},
             required=("opens", "closes"))

NOTICES = Obj(name="notices", doc="overrides of the citizen-facing correction texts", fields={
    "correction": lang_text("correction note; placeholders {label} {old} {new}"),
    "retraction": lang_text("retraction notice; placeholders {reason}"),
})

CALENDAR = Obj(
    name="calendar",
    doc="A pregonero editorial calendar (docs/calendar.md).",
    fields={
        "calendar": CALENDAR_HEADER,
        "facts": Obj(name="facts section", doc="named dates, times and values, stated once",
                     keys=FACT_NAME, values=FACT),
        "periods": Obj(name="periods section", doc="named periods between facts",
                       keys=FACT_NAME, values=PERIOD),
        "entries": List(doc="the posts, announcements and events", item=ENTRY),
        "notices": NOTICES,
    },
    required=("calendar", "entries"),
)


def json_schema() -> dict:
    """The calendar's JSON Schema (draft 2020-12), generated from the same declaration the
    linter validates with, so the two can never disagree."""
    schema = CALENDAR.schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "pregonero calendar", **schema}


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
