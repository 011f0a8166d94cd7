"""Turn published posts whose plan changed into correction jobs, and close them when sent.

The road is the same as for every post: a correction job is a job in ``pregonero:job:{id}``
(``scheduled`` at once, claimed by the dispatcher, sent by the actor through the adapter with
``PostRequest(action=correct|reply|retract, target=<the original's PostRef>)``, with retries,
uncertain outcomes, lookups, pauses and rate limits, every transition audited). What is
special is only *what* it sends and what happens to the original afterwards:

* ``needs_correction`` (sync found a published post whose compiled text changed; the new plan
  is attached as ``pj``) and ``orphaned`` (its entry was removed or retracted) originals are
  planned here: ``worker.corrections.policy`` decides per platform (edit in place with a note,
  a reply, a deletion, a withdrawal notice; the iCalendar feed updates the event with a
  higher SEQUENCE or cancels it). One Lua call creates the correction jobs AND moves the
  original to ``correcting`` -- guarded by the original's state and planned hash, so two
  planners, or a sync racing a planner, never create two sets.
* Correction ids are deterministic: ``{original}#c{version}`` (``.{i}`` when a version needs
  several steps), ``version`` being the original's next version number. The same correction
  requested twice is the same id: it is sent once.
* A correction is never planned before its original is published: only ``published`` (hence
  ``needs_correction``/``orphaned``) originals are planned. A change that arrives while the
  original is scheduled re-renders it (the diff); while it is publishing/uncertain the diff
  defers it until the outcome is known; while a correction is on its way (``correcting``) it
  waits for it, and the next change is compared with the text that correction brought.
* When every step of a version is published, the version is closed
  (``worker.corrections.versions``); what a correction job asks the platform, and what follows
  its answer, is the send side (``worker.corrections.send``).
* An edit refused by the platform (X's 30-minute window passed between planning and sending:
  ``NotSupported``) is planned again as a reply; a deletion refused (Telegram after 48 h) as
  a withdrawal notice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Callable, Mapping

import structlog

from adapters.base import Capabilities, EditSupport
from worker.engine import keys
from worker.jobs import Job
from worker.engine.store import Store, StoredJob, planned_fields, compact_job_json, job_from_json
from worker.engine.clock import now_ms
from worker.engine.states import CORRECTING, FAILED, NEEDS_CORRECTION, ORPHANED, PUBLISHED

from worker.corrections import overrides as ovr
from worker.corrections.policy import Step, correction_steps, retraction_steps
from worker.corrections.versions import finish_stranded

log = structlog.get_logger("pregonero.corrections")

#: why a correction job failed in a way a different step can fix
REPLAN_ON = ("NotSupported",)
# a version starts (``lua/correction_start.lua``: its correction jobs created, the original
# moved to correcting) and closes (``lua/correction_finish.lua``) in one atomic step each


# --- helpers --------------------------------------------------------------------------------


def correction_id(original_id: str, version: int, index: int = 0, total: int = 1) -> str:
    return f"{original_id}#c{version}" if total == 1 else f"{original_id}#c{version}.{index + 1}"


def published_at(stored: StoredJob) -> dt.datetime | None:
    ref = stored.ref
    raw = ref.extra.get("published_at") if ref else None
    if raw:
        moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if stored.fields.get("pa"):
        return dt.datetime.fromtimestamp(int(stored.fields["pa"]) / 1000, dt.timezone.utc)
    return None


def edits_so_far(stored: StoredJob) -> int:
    ref = stored.ref
    from_ref = int(ref.extra.get("edit_count", 0) or 0) if ref else 0
    return max(from_ref, int(stored.fields.get("ec", 0) or 0))


def planned_job(stored: StoredJob) -> Job | None:
    raw = stored.fields.get("pj")
    return job_from_json(stored.id, raw) if raw else None


def _no_edit(caps: Capabilities) -> Capabilities:
    return dataclasses.replace(caps, edit=EditSupport(False))


def _why_by(changes: list, job: Job, new: Job | None) -> tuple[str, str]:
    """Who changed what and why: the CLI change behind it (newest first), else the calendar."""
    for override in changes:
        if override.kind == "retract" and new is None and override.name == job.entry:
            return override.reason, override.by
        if override.kind == "fact" and new is not None \
                and new.depends_on.get(override.name) == override.value \
                and job.depends_on.get(override.name) != override.value:
            return f"{override.name}: {job.depends_on.get(override.name)} -> {override.value}: " \
                   f"{override.reason}", override.by
    if new is None:
        return "entry removed from its calendar", "sync"
    changed = [f"{k}: {v} -> {new.depends_on.get(k)}" for k, v in sorted(job.depends_on.items())
               if new.depends_on.get(k) not in (None, v)]
    return ("calendar changed" + (f" ({'; '.join(changed)})" if changed else "")), "sync"


# --- deciding the steps ---------------------------------------------------------------------


def steps_for(old: Job, new: Job | None, caps: Capabilities, *, now: dt.datetime,
              published: dt.datetime | None, edits: int, meta: Mapping, policy: str = "delete",
              reason: str | None = None) -> list[Step]:
    """The steps that put one published post right (``new`` None: a retraction)."""
    notices = meta.get("notices") or {}
    if caps.platform == "ics" or caps.native_events:
        # the feed: the event is updated in place (SEQUENCE+1) or cancelled (STATUS:CANCELLED)
        if new is None:
            return [Step("retract", old.language, old.text, reason="cancel the event")]
        if new.text == old.text and new.event == old.event:
            return []
        return [Step("correct", old.language, new.text, new_post_text=new.text,
                     reason="update the event (SEQUENCE+1)")]
    if new is None:
        return retraction_steps(old, caps, policy, now=now, published_at=published,
                                reason=reason, overrides=notices)
    return correction_steps(old, new, caps, now=now, published_at=published, edits_so_far=edits,
                            labels=meta.get("labels") or {}, overrides=notices)


@dataclasses.dataclass
class PlanReport:
    planned: list[str] = dataclasses.field(default_factory=list)      # correction job ids
    accepted: list[str] = dataclasses.field(default_factory=list)     # no visible change
    alerts: list[str] = dataclasses.field(default_factory=list)       # a person must act
    conflicts: list[str] = dataclasses.field(default_factory=list)    # raced; next pass
    closed: list[str] = dataclasses.field(default_factory=list)       # stranded, now closed
    duration_ms: int = 0


class CorrectionPlanner:
    """Plans correction jobs. ``caps_for(account, platform)`` and ``policy_for(platform)`` come
    from the config (accounts' capabilities, the retraction policy)."""

    def __init__(self, store: Store, caps_for: Callable[[str, str], Capabilities],
                 policy_for: Callable[[str], str], *, by: str = "corrections"):
        self.store = store
        self.caps_for = caps_for
        self.policy_for = policy_for
        self.by = by
        self._start = store.script("correction_start")
        self._meta: dict[str, dict] = {}
        self._changes: dict[str, list] = {}

    def meta(self, calendar: str) -> dict:
        if calendar not in self._meta:
            self._meta[calendar] = ovr.calendar_meta(self.store, calendar)
        return self._meta[calendar]

    def run(self, now: dt.datetime | None = None, summaries: dict | None = None) -> PlanReport:
        """One pass over every post waiting for a correction. ``summaries``: the store's, as
        the caller holds them up to date (a sync, after its apply); scanned when None. Each
        post is read again before it is planned, and planned in a guarded transition."""
        import time

        started = time.monotonic()
        now = now or dt.datetime.now(dt.timezone.utc)
        report = PlanReport()
        summaries = self.store.summaries() if summaries is None else summaries
        todo = sorted(j for j, s in summaries.items() if s.state in (NEEDS_CORRECTION, ORPHANED))
        self.plan_many(todo, now, report)
        # originals whose correction failed (a correction job knows its original: ``of``)
        stuck = sorted({s.of for s in summaries.values() if s.of and s.state == FAILED})
        for job_id in stuck:
            if summaries.get(job_id) and summaries[job_id].state == CORRECTING:
                self.replan_failed(job_id, now, report)
        report.closed = finish_stranded(self.store, summaries, by=self.by)
        report.duration_ms = int((time.monotonic() - started) * 1000)
        if report.planned or report.alerts:
            log.info("corrections_planned", planned=len(report.planned),
                     accepted=len(report.accepted), alerts=len(report.alerts),
                     duration_ms=report.duration_ms)
        return report

    def plan_one(self, job_id: str, now: dt.datetime, report: PlanReport, *,
                 caps: Capabilities | None = None, policy: str | None = None) -> None:
        stored = self.store.get(job_id)
        if stored is None:
            return
        self._execute([self._prepare(stored, now, report, caps=caps, policy=policy)], report)

    def plan_many(self, job_ids: list[str], now: dt.datetime, report: PlanReport,
                  batch: int = 500) -> None:
        """Plan many originals with a few round trips: read in one pipeline, decide in
        Python, write in one pipeline (each write still one guarded Lua call)."""
        for start in range(0, len(job_ids), batch):
            ids = job_ids[start:start + batch]
            pipe = self.store.pipeline()
            for job_id in ids:
                pipe.hgetall(keys.job(job_id))
            prepared = []
            for job_id, raw in zip(ids, pipe.execute()):
                if not raw:
                    continue
                fields = {k.decode(): v.decode() for k, v in raw.items()}
                stored = StoredJob(job_id, fields["s"], job_from_json(job_id, fields["j"]), fields)
                prepared.append(self._prepare(stored, now, report))
            self._execute(prepared, report)

    def _prepare(self, stored: StoredJob, now: dt.datetime, report: PlanReport, *,
                 caps: Capabilities | None = None, policy: str | None = None):
        """What to write for one original: ("accept"|"start", job_id, keys, args, info) or None."""
        job_id = stored.id
        if stored.state not in (NEEDS_CORRECTION, ORPHANED):
            return None
        old, new = stored.job, planned_job(stored)
        if stored.state == ORPHANED:
            new = None
        caps = caps or self.caps_for(old.account, old.platform)
        if old.thread:
            # one post of a thread cannot be edited into the whole corrected text: the
            # correction answers the first post, where the thread starts (the retraction
            # deletes every post: ``worker.engine.thread_posts``)
            caps = _no_edit(caps)
        reason = ovr.retraction_reason(self.store, old.calendar, old.entry) if new is None else None
        steps = steps_for(old, new, caps, now=now, published=published_at(stored),
                          edits=edits_so_far(stored), meta=self.meta(old.calendar),
                          policy=policy or self.policy_for(old.platform), reason=reason)
        if not steps and new is not None:
            # what citizens read did not change (an instant moved, a link...): take the plan
            return ("accept", job_id, stored, new, None)
        chosen_policy = policy or self.policy_for(old.platform)
        if new is None and chosen_policy == "delete" and steps and \
                not any(s.action == "retract" for s in steps):
            # Instagram, or Telegram past 48 h: the notice goes out, and a person removes the post
            link = stored.ref.url if stored.ref is not None and stored.ref.url else job_id
            self._alert(stored, report, f"{caps.platform} cannot delete this post: a "
                        f"cancellation notice goes out instead; delete or archive it by hand: {link}")
        if not steps or any(s.action == "reply" and not s.text for s in steps):
            self._alert(stored, report, f"{caps.platform} can neither edit nor reply: correct "
                        "it by hand")
            return None
        why, by = self._why_by(old, new)
        version = int(stored.fields.get("v") or 1) + 1
        corrections = []
        for i, step in enumerate(steps):
            cid = correction_id(job_id, version, i, len(steps))
            cjob = Job(id=cid, calendar=old.calendar, entry=old.entry, kind=old.kind,
                       account=old.account, platform=old.platform, department=old.department,
                       language=step.language, due_utc=now, due_local=now.isoformat(),
                       timezone=old.timezone, text=step.text,
                       depends_on=dict((new or old).depends_on),
                       event=(new.event if new is not None and step.action == "correct" else None),
                       category=old.category)
            fields = {k: str(v) for k, v in planned_fields(cjob, stored.fields.get("p", "")).items()}
            fields.update({"o": job_id, "ca": step.action, "cv": str(version),
                           "cr": step.reason, "n": "0"})
            corrections.append((cid, fields))
        after = new
        if new is not None and steps[0].action == "correct" and steps[0].new_post_text:
            after = dataclasses.replace(new, text=steps[0].new_post_text)
        orig_fields = {"cj": ",".join(c for c, _ in corrections), "cv": str(version),
                       "ck": "retract" if new is None else "correct", "cw": why[:300], "cb": by}
        if after is not None:
            orig_fields["nj"] = compact_job_json(after)
        due = str(int(now.timestamp() * 1000))
        argv = [job_id, stored.state, stored.fields.get("ph", "*") if new is not None else "*",
                self.by, f"correction v{version}: {why}"[:300], now_ms(), self.store.audit_maxlen,
                json.dumps(orig_fields, ensure_ascii=False), len(corrections)]
        for cid, fields in corrections:
            argv += [cid, due, json.dumps(fields, ensure_ascii=False)]
        script_keys = [keys.job(job_id), keys.AUDIT, keys.DUE, *(keys.job(c) for c, _ in corrections)]
        return ("start", job_id, (script_keys, argv), [c for c, _ in corrections],
                (version, [s.action for s in steps], old.account))

    def _execute(self, prepared: list, report: PlanReport) -> None:
        prepared = [p for p in prepared if p is not None]
        if not prepared:
            return
        pipe = self.store.pipeline()
        for kind, job_id, payload, extra, _info in prepared:
            if kind == "accept":
                stored, new = payload, extra
                self.store.transition(job_id, NEEDS_CORRECTION, PUBLISHED, self.by,
                                      "plan changed, published text unchanged: nothing to correct",
                                      check=("ph", stored.fields.get("ph", "")),
                                      fields={"j": compact_job_json(new), "h": new.content_hash},
                                      delete=("pj", "ph"), client=pipe)
            else:
                script_keys, argv = payload
                self._start(keys=script_keys, args=argv, client=pipe)
        for (kind, job_id, _payload, extra, info), result in zip(prepared, pipe.execute()):
            ok = bool(result) and int(result[0]) == 1
            if kind == "accept":
                if ok:
                    report.accepted.append(job_id)
            elif ok:
                report.planned.extend(extra)
                log.info("correction_planned", job_id=job_id, version=info[0], steps=info[1],
                         account=info[2])
            else:
                report.conflicts.append(job_id)

    def _why_by(self, job: Job, new: Job | None) -> tuple[str, str]:
        if job.calendar not in self._changes:
            self._changes[job.calendar] = ovr.changes(self.store, job.calendar)
        return _why_by(self._changes[job.calendar], job, new)

    def replan_failed(self, job_id: str, now: dt.datetime, report: PlanReport) -> None:
        """A correction step refused as not supported (edit window passed...): plan again
        without that possibility, under the same version and ids."""
        stored = self.store.get(job_id)
        if stored is None or stored.state != CORRECTING:
            return
        cids = [c for c in stored.fields.get("cj", "").split(",") if c]
        failed = [self.store.get(c) for c in cids if self.store.state(c) == FAILED]
        if not failed:
            return
        if not all(f.reason.startswith(REPLAN_ON) for f in failed):
            self._alert(stored, report, "correction failed: " + failed[0].reason)
            return
        old = stored.job
        caps = _no_edit(self.caps_for(old.account, old.platform))
        retract = stored.fields.get("ck") == "retract"
        policy = "reply" if retract else None
        # back to the planning state, then plan with edits (and deletions) ruled out
        back = ORPHANED if retract else NEEDS_CORRECTION
        pj = stored.fields.get("pj")
        if not self.store.transition(job_id, CORRECTING, back, self.by,
                                     f"replan: {failed[0].reason}"[:300],
                                     check=("cv", stored.fields.get("cv", "")),
                                     delete=("cj", "cv", "ck", "nj", "cw", "cb")):
            report.conflicts.append(job_id)
            return
        if pj is None and not retract:
            return
        caps = dataclasses.replace(caps, delete=False) if retract else caps
        self.plan_one(job_id, now, report, caps=caps, policy=policy)

    def _alert(self, stored: StoredJob, report: PlanReport, why: str) -> None:
        if stored.fields.get("al") == why[:200]:
            return  # already alerted
        self.store.set_job_fields(stored.id, {"al": why[:200]})
        self.store.audit_note(stored.id, self.by, f"ALERT: {why}")
        log.error("correction_needs_a_person", job_id=stored.id, reason=why, alert=True)
        report.alerts.append(stored.id)


def planner_from_config(store: Store, config_dir: Path, config=None) -> CorrectionPlanner:
    """A planner with the accounts' capabilities and the retraction policy of ``config``
    (config/ as the caller read it; read from ``config_dir`` when None)."""
    from adapters import account_capabilities, capabilities_for
    from worker.config import load_config

    config = config if config is not None else load_config(config_dir)

    def caps_for(account: str, platform: str) -> Capabilities:
        if account in config.accounts:
            return account_capabilities(config.accounts[account])
        return capabilities_for(platform)

    return CorrectionPlanner(store, caps_for, config.retraction_policy)


def plan_corrections_from_config(store: Store, config_dir: Path,
                                 now: dt.datetime | None = None, config=None,
                                 summaries: dict | None = None) -> PlanReport:
    report = planner_from_config(store, config_dir, config).run(now, summaries)
    if report.planned:
        store.wake()
    return report


def default_planner(store: Store, policy: str = "reply") -> CorrectionPlanner:
    """Platform capabilities without account overrides (tests, benchmarks)."""
    from adapters import capabilities_for

    return CorrectionPlanner(store, lambda account, platform: capabilities_for(platform),
                             lambda platform: policy)
