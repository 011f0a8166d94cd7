"""What a citizen sees on each account: the outbox's history folded into the visible posts.

The outbox records every action (publish, correct, reply, retract) in the order it happened.
Replayed, they give what a follower of each account sees at the end: the posts still up,
with their current text (an edit replaces the text, and on X the post id), the replies under
them, and none of what was withdrawn. The iCalendar feed is read as a subscriber's app reads
it: the events not cancelled. ``pregonero demo`` ends with this view, so that what the demo
claims is checked the way a citizen would check it.

Pure except for reading the files it is given.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Mapping


@dataclasses.dataclass
class VisiblePost:
    """A post as its account's followers see it."""

    account: str
    post_id: str
    text: str
    #: alternative texts of its images, in order
    images: tuple[str, ...] = ()
    edited: bool = False
    replies: list["VisiblePost"] = dataclasses.field(default_factory=list)
    #: the title of its link's card, where the post embeds one (Bluesky)
    card: str | None = None


def fold(records: Iterable[Mapping]) -> dict[str, list[VisiblePost]]:
    """Account -> its visible top-level posts, oldest first, from outbox records in order.
    Events of the iCalendar feed are not posts: see ``outbox_events``."""
    top: dict[str, list[VisiblePost]] = {}
    by_id: dict[tuple[str, str], VisiblePost] = {}
    parent_of: dict[int, list[VisiblePost]] = {}
    for record in records:
        if record.get("platform") == "ics":
            continue
        account, action = record.get("account", ""), record.get("action")
        target = (record.get("target") or {}).get("post_id")
        if action == "publish" or (action == "reply" and (account, target) not in by_id):
            post = _post(record)
            siblings = top.setdefault(account, [])
        elif action == "reply":
            post = _post(record)
            siblings = by_id[(account, target)].replies
        elif action == "correct" and (account, target) in by_id:
            post = by_id.pop((account, target))
            post.text, post.edited, post.post_id = record.get("text", ""), True, \
                str(record.get("post_id") or target)
            by_id[(account, post.post_id)] = post
            continue
        elif action == "retract" and (account, target) in by_id:
            post = by_id.pop((account, target))
            parent_of[id(post)].remove(post)
            continue
        else:
            continue
        siblings.append(post)
        parent_of[id(post)] = siblings
        by_id[(account, post.post_id)] = post
    return {account: posts for account, posts in sorted(top.items()) if posts}


def _post(record: Mapping) -> VisiblePost:
    return VisiblePost(record.get("account", ""), str(record.get("post_id", "")),
                       record.get("text", ""),
                       tuple(i.get("alt", "") for i in record.get("images") or ()),
                       card=(record.get("card") or {}).get("title"))


def outbox_events(records: Iterable[Mapping]) -> list[dict]:
    """The agenda a subscriber would have if the outbox's iCalendar records were the feed:
    each event as last published or updated, cancelled ones gone."""
    import datetime as dt

    events: dict[str, dict] = {}
    for record in records:
        if record.get("platform") != "ics":
            continue
        uid = (record.get("target") or {}).get("post_id") or record.get("post_id")
        if record.get("action") == "retract":
            events.pop(uid, None)
        elif record.get("event"):
            event = record["event"]
            known = events.get(uid)
            events[uid] = {"start": dt.datetime.fromisoformat(event["start_utc"]),
                           "summary": event.get("title", ""), "location": event.get("place") or "",
                           "description": event.get("description", ""),
                           "sequence": known["sequence"] + 1 if known else 0}
    return sorted(events.values(), key=lambda e: str(e["start"]))


def feed_events(path: Path) -> list[dict]:
    """The events of an ``.ics`` file that a subscriber's agenda shows (not cancelled)."""
    import icalendar

    if not Path(path).exists():
        return []
    feed = icalendar.Calendar.from_ical(Path(path).read_bytes())
    events = []
    for event in feed.walk("VEVENT"):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        events.append({"start": event.decoded("DTSTART"), "summary": str(event.get("SUMMARY", "")),
                       "location": str(event.get("LOCATION", "")),
                       "description": str(event.get("DESCRIPTION", "")),
                       "sequence": int(event.get("SEQUENCE", 0))})
    return sorted(events, key=lambda e: str(e["start"]))


def render(view: Mapping[str, list[VisiblePost]], events: Iterable[dict] = (),
           width: int = 110) -> list[str]:
    """The view as lines for people: each account, its posts, the replies indented under."""
    lines: list[str] = []
    for account, posts in view.items():
        lines.append(f"{account}")
        for post in posts:
            _render(post, lines, 1, width)
    events = list(events)
    if events:
        lines.append("agenda (iCalendar feed)")
        for event in events:
            start = event["start"]
            when = start.strftime("%Y-%m-%d %H:%M %Z") if hasattr(start, "hour") else str(start)
            updated = f", updated {event['sequence']}x" if event["sequence"] else ""
            lines.append(f"  {when}  {event['summary']} — {event['location']}{updated}")
            if event["description"]:
                lines.append(f"      {_cut(event['description'], width - 6)}")
    return lines


def _render(post: VisiblePost, lines: list[str], depth: int, width: int) -> None:
    """A post in full (citizens read all of it, corrections included), wrapped."""
    import textwrap

    marks = (" [edited]" if post.edited else "") + \
        (f" [{len(post.images)} image(s), alt text: {post.images[0]!r}]" if post.images else "") + \
        (f" [link card: {post.card!r}]" if post.card else "")
    pad = "  " * depth
    lines.extend(textwrap.wrap(" ".join(post.text.split()) + marks, width,
                               initial_indent=pad + ("↳ " if depth > 1 else "- "),
                               subsequent_indent=pad + "  "))
    for reply in post.replies:
        _render(reply, lines, depth + 1, width)


def _cut(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"
