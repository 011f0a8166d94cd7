"""The outbox: an adapter that writes posts to a local JSON-lines file instead of a platform.

It stands in for a real account (dry runs, training, tests, administrations not yet connected)
and behaves like the platform it replaces: same length counting and limits, same edit window,
same "no edit on Bluesky". Several worker processes append to the same file, so every line is
written with one ``write`` under an exclusive ``flock`` and fsynced before we return: a post
the engine believes sent is on disk, and ``lookup`` finds it after a crash.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import pathlib
from typing import Callable, Iterator

from .platform import utc_now
from .accounts import AccountConfig
from .outbox_file import line_file
from .content import content_problem
from .base import (AccountStatus, Capabilities, NotSupported, OutcomeUnknown, PostRef,
                   PostRequest, Rejected)

__all__ = ["OutboxAdapter", "FailPlan", "OUTBOX_FILE"]

OUTBOX_FILE = "outbox.jsonl"

#: test hook: given the request, the error to simulate (or None to proceed normally)
FailPlan = Callable[[PostRequest], "Exception | None"]


def _iso_utc(moment: dt.datetime) -> str:
    # naive datetimes are taken as UTC: the engine works in UTC throughout
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def read_records(path: pathlib.Path, action: str | None = None) -> Iterator[dict]:
    """Every complete line of an outbox file, oldest first, optionally only one ``action``.
    A line torn by a crash or a full disk is not a post: it is skipped."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            data = handle.read()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if action is None or record.get("action") == action:
            yield record


class OutboxAdapter:
    """Writes the account's posts to ``home / "outbox.jsonl"``, one JSON object per line."""

    def __init__(self, account: AccountConfig | str, capabilities: Capabilities,
                 home: pathlib.Path | str, clock: Callable[[], dt.datetime] = utc_now,
                 fail_plan: FailPlan | None = None) -> None:
        self.account_config = account if isinstance(account, AccountConfig) else None
        self.account: str = account.ref if isinstance(account, AccountConfig) else account
        self.capabilities = capabilities
        self.home = pathlib.Path(home)
        self.path = self.home / OUTBOX_FILE
        self.clock = clock
        self.fail_plan = fail_plan
        self._uri = self.path.resolve().as_uri()

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Append a new post (a reply when ``request.target`` is set)."""
        if request.target is not None:
            return self.reply(request)
        self._check_content(request)
        return self._send(request, "publish", target=None)

    def correct(self, request: PostRequest) -> PostRef:
        """Append an edit of ``request.target``, within the platform's edit rules."""
        target = request.require_target()
        edit = self.capabilities.edit
        if not edit.possible:
            raise NotSupported(f"{self.capabilities.platform} posts cannot be edited "
                               f"(correct with a {self.capabilities.correction_fallback})")
        age = self._age_s(target)
        if edit.window_s is not None and age is not None and age > edit.window_s:
            raise NotSupported(f"{self.capabilities.platform} edit window of "
                               f"{edit.window_s // 60} min has passed "
                               f"({int(age // 60)} min since publication)")
        edits = int(target.extra.get("edit_count", "0"))
        if edit.max_edits is not None and edits >= edit.max_edits:
            raise NotSupported(f"{self.capabilities.platform} allows at most {edit.max_edits} "
                               f"edits and this post has had {edits}")
        self._check_content(request)
        return self._send(request, "correct", target=target)

    def reply(self, request: PostRequest) -> PostRef:
        """Append a reply under ``request.target``."""
        target = request.require_target()
        if not self.capabilities.replies:
            raise NotSupported(f"{self.capabilities.platform} has no replies")
        self._check_content(request)
        return self._send(request, "reply", target=target)

    def retract(self, request: PostRequest) -> None:
        """Append a retraction of ``request.target``, within the platform's delete rules."""
        target = request.require_target()
        caps = self.capabilities
        if not caps.delete:
            raise NotSupported(f"{caps.platform} posts cannot be deleted")
        age = self._age_s(target)
        if caps.delete_window_s is not None and age is not None and age > caps.delete_window_s:
            raise NotSupported(f"{caps.platform} only deletes posts within "
                               f"{caps.delete_window_s // 3600} h of publication")
        self._send(request, "retract", target=target)

    def lookup(self, request: PostRequest) -> PostRef | None:
        """The post a previous attempt of ``request`` wrote, found by idempotency key."""
        action = self._action_of(request)
        for record in self.records():
            if (record.get("idempotency_key") == request.idempotency_key
                    and record.get("action") == action):
                return self._ref_from(record)
        return None

    def verify(self) -> AccountStatus:
        """Always fine: the outbox needs no credentials (only a writable directory)."""
        self.home.mkdir(parents=True, exist_ok=True)
        ok = os.access(self.home, os.W_OK)
        detail = f"outbox {self.path}" if ok else f"outbox directory {self.home} is not writable"
        return AccountStatus(self.account, ok, detail)

    # --- reading --------------------------------------------------------------------------------

    def records(self) -> Iterator[dict]:
        """Every complete line of the outbox, oldest first (a torn last line is skipped)."""
        return read_records(self.path)

    # --- internals ------------------------------------------------------------------------------

    def _send(self, request: PostRequest, action: str, target: PostRef | None) -> PostRef:
        planned = self.fail_plan(request) if self.fail_plan else None
        if planned is not None and not isinstance(planned, OutcomeUnknown):
            # 429 / 5xx / auth: the platform refused before acting, nothing is written
            raise planned
        def build(line_no: int) -> dict:
            # built by the group's leader under the file lock: "at" is when it hits the disk
            now = self.clock()
            post_id = self._post_id(action, target, line_no)
            record = {
                "action": action,
                "account": self.account,
                "platform": self.capabilities.platform,
                "job_id": request.job_id,
                "text": request.text,
                "language": request.language,
                "due": _iso_utc(request.due),
                "at": _iso_utc(now),
                "idempotency_key": request.idempotency_key,
                "post_id": post_id,
                "url": f"{self._uri}#{post_id}",
                "target": target.as_dict() if target else None,
                "link": request.link,
                "images": [{"path": image.path, "alt": image.alt} for image in request.images],
                "published_at": self._published_at(action, target, now),
                "edit_count": (int(target.extra.get("edit_count", "0")) + 1
                               if action == "correct" and target else 0),
            }
            if request.event is not None:
                record["event"] = dict(request.event)
            if request.card is not None:  # what the post's link card shows (Bluesky)
                record["card"] = {"uri": request.card.uri, "title": request.card.title,
                                  "description": request.card.description,
                                  "image": request.card.thumb is not None}
            return record

        record = line_file(self.path).append(build)
        if planned is not None:
            # sent, but the answer was lost: the engine must call lookup, not resend
            raise planned
        return self._ref_from(record)

    def _post_id(self, action: str, target: PostRef | None, line_no: int) -> str:
        if target is not None and (action == "retract"
                                   or (action == "correct" and not self.capabilities.edit.new_id)):
            return target.post_id
        return f"outbox-{line_no}"

    @staticmethod
    def _published_at(action: str, target: PostRef | None, now: dt.datetime) -> str:
        # an edit keeps the original publication time: X's 30-minute window does not restart
        if action in ("correct", "retract") and target and target.extra.get("published_at"):
            return str(target.extra["published_at"])
        return _iso_utc(now)

    def _ref_from(self, record: dict) -> PostRef:
        return PostRef(self.capabilities.platform, record["account"], record["post_id"],
                       record.get("url"),
                       {"published_at": str(record.get("published_at") or record["at"]),
                        "edit_count": str(record.get("edit_count") or 0),
                        "outbox": "1"})

    def _age_s(self, target: PostRef) -> float | None:
        published = target.published_at()
        return None if published is None else (self.clock() - published).total_seconds()

    def _check_content(self, request: PostRequest) -> None:
        """Refuse what the platform would refuse, with the platform's own counting."""
        problem = content_problem(self.capabilities, request)
        if problem:
            raise Rejected(problem)

    @staticmethod
    def _action_of(request: PostRequest) -> str:
        if request.action == "publish" and request.target is not None:
            return "reply"
        return request.action
