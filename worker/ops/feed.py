"""A readable line per outcome, for people watching ``pregonero run`` or ``pregonero demo``.

The logs (stderr) are for operators and machines; this feed (stdout) says in plain words what
went out. It follows the audit stream rather than hooking into the workers, so it sees the
outcomes of every worker process sharing the Redis, and it works with any transport.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable

import click
import redis

from worker.engine.store import Store, StoredJob

#: the audit transitions worth a line, and the word shown for them
SHOWN = {"published": "published", "failed": "FAILED", "uncertain": "uncertain", "held": "held"}


def excerpt(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def local_time(job) -> str:
    """The due instant in the calendar's zone, to the second (what the editor wrote)."""
    try:
        from zoneinfo import ZoneInfo

        return job.due_utc.astimezone(ZoneInfo(job.timezone)).strftime("%Y-%m-%d %H:%M:%S")
    except Exception:
        return job.due_utc.isoformat()


#: what a published correction did, by its action, as people say it (the feed, per platform)
CORRECTION_WORDS = {"correct": "edited", "reply": "replied", "retract": "retracted"}
FEED_WORDS = {"correct": "updated", "retract": "cancelled"}


def _clock(moment_ms: int | None, job) -> str:
    """An instant (epoch ms) in the calendar's zone, to the second."""
    from zoneinfo import ZoneInfo

    moment = dt.datetime.fromtimestamp((moment_ms or utc_now_ms()) / 1000, dt.timezone.utc)
    try:
        return moment.astimezone(ZoneInfo(job.timezone)).strftime("%Y-%m-%d %H:%M:%S")
    except Exception:
        return moment.isoformat()


def _shown_url(stored: StoredJob | None) -> str:
    url = stored.ref.url if stored is not None and stored.ref and stored.ref.url else ""
    return "" if url.startswith("file:") else url  # the outbox: its path is printed at start


def describe(stored: StoredJob, to: str, why: str, original: StoredJob | None = None,
             at_ms: int | None = None) -> str:
    """One line for people. A post: when it was due, where, how late, what it says. A
    correction: what was done to which published post (edited, replied, retracted; an event
    updated or cancelled in the feed), where and when it happened, never as a new post."""
    job = stored.job
    action = stored.fields.get("ca") if stored.fields.get("o") else None
    if action and to == "published":
        words = FEED_WORDS if job.platform == "ics" else CORRECTION_WORDS
        head = f"{words.get(action, action):<9} {_clock(at_ms, job)}  {job.account:<24} {job.language:<5}"
        target = _shown_url(original) or stored.fields["o"]
        said = "" if action == "retract" else f"{excerpt(job.text)}  "  # a deletion says nothing
        return f"{head} {said}(on {target})"
    head = f"{SHOWN.get(to, to):<9} {local_time(job)}  {job.account:<24} {job.language:<5}"
    if to == "published":
        late = stored.lateness_ms
        url = _shown_url(stored)
        tail = f"{excerpt(job.text)}" + (f"  {url}" if url else "")
        return f"{head} late {late if late is not None else '?':>4} ms  {tail}"
    return f"{head} {why}"


def follow(store: Store, stop: threading.Event, since_ms: int,
           echo: Callable[[str], None] = click.echo) -> threading.Thread:
    """Print a line for each publication (and failure, hold, uncertain outcome) recorded in
    the audit stream from ``since_ms`` on, until ``stop`` is set. Returns the thread."""

    def loop() -> None:
        last = f"{since_ms}-0"
        seen_holds: set[tuple[str, str]] = set()  # a go-live re-check holds again: say it once
        while not stop.is_set():
            try:
                entries = store.follow_audit(last, block_ms=500)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                if stop.wait(0.5):
                    return
                continue
            for entry_id, row in entries:
                last = entry_id
                to = row.get("to", "")
                if to not in SHOWN:
                    continue
                job_id = row.get("job", "")
                try:
                    stored = store.get(job_id)
                except redis.RedisError:
                    continue
                if stored is not None and to == "held":
                    if (job_id, stored.reason) in seen_holds:
                        continue
                    seen_holds.add((job_id, stored.reason))
                if stored is not None:
                    original = store.get(stored.fields["o"]) if stored.fields.get("o") else None
                    echo(describe(stored, to, row.get("why", ""), original,
                                  int(row.get("at") or 0) or None))

    thread = threading.Thread(target=loop, name="feed", daemon=True)
    thread.start()
    return thread


def utc_now_ms() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
