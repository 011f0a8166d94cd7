"""A thread on its way: the request for each of its posts, what has gone out, and the one
reference the rest of the engine knows it by. Pure (the publisher does the calls and writes).

A job with ``Job.thread`` is one job for the store, the diff and the corrections (one state,
one version, one correction answering its first post), and several posts for the platform:
part 1 is a publish, part k a reply to part k-1. Exactly once holds per post: each part has
its own idempotency key (part 1 keeps the job's, so a lookup of the head is a lookup of any
post), and the references of the parts already out are recorded on the job (``tp``) before
the next is sent, so an attempt that stops half-way (a rate limit, an outage, a lost answer,
a dead worker) resumes at the first part not out, after a lookup of the part in doubt.

The job's reference once every part is out is the first post's, with the ids of the others
in ``extra["thread"]``: a correction replies under the first post; a retraction deletes the
last post first and the first one last, so a reader never finds an answer without its start.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping

from adapters.base import PostRef, PostRequest
from worker.jobs import Job

#: the job field holding the references of the parts already out (``worker.engine.fields``)
PROGRESS = "tp"


def part_request(job: Job, whole: PostRequest, index: int,
                 previous: PostRef | None) -> PostRequest:
    """The request for part ``index`` (0-based) of ``job``'s thread, ``whole`` being the job's
    request: the images go with the first post; the link (and its card) with the post that
    states it."""
    text = job.thread[index]
    states_link = whole.link is not None and whole.link in text
    first_with_link = next((i for i, part in enumerate(job.thread)
                            if whole.link and whole.link in part), 0)
    with_link = states_link or index == first_with_link
    return dataclasses.replace(
        whole, text=text, action="publish" if index == 0 else "reply", target=previous,
        idempotency_key=whole.idempotency_key if index == 0
        else f"{whole.idempotency_key}/{index + 1}",
        images=whole.images if index == 0 else (),
        link=whole.link if with_link else None, card=whole.card if with_link else None)


def progress(fields: Mapping[str, str]) -> list[PostRef]:
    """The references of the parts already out, in order (none yet: empty)."""
    raw = fields.get(PROGRESS)
    return [PostRef.from_dict(ref) for ref in json.loads(raw)] if raw else []


def progress_value(refs: list[PostRef]) -> str:
    return json.dumps([ref.as_dict() for ref in refs], separators=(",", ":"))


def next_request(job: Job, whole: PostRequest, fields: Mapping[str, str]) -> PostRequest:
    """The request of the first part not out yet (what a lookup after a lost answer asks)."""
    done = progress(fields)
    index = min(len(done), len(job.thread) - 1)
    return part_request(job, whole, index, done[index - 1] if index else None)


def head_ref(refs: list[PostRef]) -> PostRef:
    """The thread's reference: its first post's, naming the others."""
    head = refs[0]
    return dataclasses.replace(head, extra={**head.extra,
                                            "thread": ",".join(r.post_id for r in refs[1:])})


def retractions(request: PostRequest) -> list[PostRequest]:
    """The deletions a retraction of ``request.target`` makes: every post of the thread it
    heads, the last first, the first (with the request's own idempotency key, which a lookup
    after a lost answer asks about) last; just the request for a single post."""
    head = request.require_target()
    others = [part for part in head.extra.get("thread", "").split(",") if part]
    return [dataclasses.replace(request, target=PostRef(head.platform, head.account, post_id),
                                idempotency_key=f"{request.idempotency_key}/{post_id}")
            for post_id in reversed(others)] + [request]
