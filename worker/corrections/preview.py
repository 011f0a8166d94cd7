"""What a change would do, before it is made: every pending post that moves, every published
post that will be edited, replied to or withdrawn, per platform and language, with the text.

Computed exactly as the engine will act: the engine's compile with the change as an extra
override, the diff against the store, and the correction planner's own ``steps_for``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Iterable

from worker.engine.diff import diff
from worker.engine.store import Store
from worker.engine.clock import to_ms
from worker.plan import TOLERATED

from worker.corrections import engine as ceng, overrides as ovr

#: what happens to a post, in the order the preview lists them
KINDS = ("move", "rerender", "hold", "cancel", "correct", "reply", "retract", "accept", "wait",
         "alert")
LABELS = {
    "move": "pending post moves", "rerender": "pending post is re-rendered",
    "hold": "pending post is HELD (a person decides)", "cancel": "pending post is cancelled",
    "correct": "published post is EDITED in place", "reply": "published post gets a REPLY",
    "retract": "published post is WITHDRAWN", "accept": "published post needs no change",
    "wait": "in flight: corrected once its outcome is known", "alert": "cannot be corrected "
    "automatically: do it by hand",
}


@dataclasses.dataclass(frozen=True)
class Item:
    kind: str
    job_id: str
    account: str
    platform: str
    language: str
    text: str = ""
    old_due: str = ""
    new_due: str = ""
    note: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Preview:
    items: list[Item]
    findings: list[str]
    ok: bool

    def count(self, kind: str) -> int:
        return sum(i.kind == kind for i in self.items)

    @property
    def empty(self) -> bool:
        return not self.items


def compute(store: Store, schedules_dir: Path, config_dir: Path, now: dt.datetime,
            extra: Iterable[ovr.Override] = (), planner: ceng.CorrectionPlanner | None = None,
            calendar: str | None = None) -> Preview:
    extra = list(extra)
    plans = ovr.engine_compile(store, schedules_dir, config_dir, now, extra=extra, clear=False)
    mine = [p for p in plans if calendar is None or p.calendar_id == calendar]
    findings = [f.format() for p in mine for f in p.findings if f.severity == "error"
                and f.code not in TOLERATED]
    if any(not p.ok for p in mine):
        return Preview([], findings, False)
    planner = planner or ceng.planner_from_config(store, config_dir)
    flagged = {k: v for p in plans for k, v in p.flagged.items()}
    changes = diff(plans, store.summaries(), to_ms(now))
    items: list[Item] = []
    for placed in [*changes.moves, *changes.rerenders]:
        job = placed.job
        stored = store.get(job.id)
        kind = "move" if placed in changes.moves else "rerender"
        reason = flagged.get(job.id) or ("moved_to_past" if job.due_utc < now else None)
        items.append(Item("hold" if reason else kind, job.id, job.account, job.platform,
                          job.language, job.text, stored.job.due_local if stored else "",
                          job.due_local, reason or ""))
    for job_id in changes.cancels:
        stored = store.get(job_id)
        if stored:
            items.append(Item("cancel", job_id, stored.job.account, stored.job.platform,
                              stored.job.language, stored.job.text, stored.job.due_local))
    reasons = {o.name: o.reason for o in extra if o.kind == "retract"}
    for job_id, new in [*((p.job.id, p.job) for p in changes.corrections),
                        *((j, None) for j in changes.orphans)]:
        stored = store.get(job_id)
        if stored is None:
            continue
        old = stored.job
        caps = planner.caps_for(old.account, old.platform)
        reason = reasons.get(old.entry) or ovr.retraction_reason(store, old.calendar, old.entry)
        steps = ceng.steps_for(old, new, caps, now=now, published=ceng.published_at(stored),
                               edits=ceng.edits_so_far(stored), meta=planner.meta(old.calendar),
                               policy=planner.policy_for(old.platform), reason=reason)
        url = stored.ref.url if stored.ref else ""
        if not steps:
            items.append(Item("accept", job_id, old.account, old.platform, old.language,
                              note="the published text does not change"))
        for step in steps:
            kind = step.action if step.text or step.action != "reply" else "alert"
            items.append(Item(kind, job_id, old.account, old.platform, step.language,
                              step.new_post_text or step.text, note=f"{step.reason}; {url}"))
    for job_id in changes.deferred:
        stored = store.get(job_id)
        if stored:
            items.append(Item("wait", job_id, stored.job.account, stored.job.platform,
                              stored.job.language, note=f"now {stored.state}"))
    items.sort(key=lambda i: (KINDS.index(i.kind), i.platform, i.account, i.job_id, i.language))
    return Preview(items, findings, True)


def render(preview: Preview) -> str:
    """The preview for people: grouped by what happens, then platform and language."""
    if not preview.ok:
        return "The calendar would not compile with this change:\n" + "\n".join(preview.findings)
    if preview.empty:
        return "Nothing to do: no pending or published post depends on this change."
    lines = []
    for kind in KINDS:
        group = [i for i in preview.items if i.kind == kind]
        if not group:
            continue
        lines.append(f"== {LABELS[kind]} ({len(group)})")
        for item in group:
            head = f"  [{item.platform} {item.language}] {item.job_id}"
            if item.old_due or item.new_due:
                head += f"  {item.old_due or '?'} -> {item.new_due or '?'}" \
                    if item.new_due else f"  {item.old_due}"
            if item.note:
                head += f"  ({item.note.strip('; ')})"
            lines.append(head)
            for text_line in (item.text or "").splitlines():
                lines.append(f"      | {text_line}")
    return "\n".join(lines)
