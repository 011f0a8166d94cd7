"""The job store: every job's state in Redis, changed only through guarded atomic transitions.

The states and how a job moves between them are in ``worker.engine.states``; the fields each
leaves on ``pregonero:job:{id}`` in ``worker.engine.fields``.

``dispatched`` means "a dramatiq message carries this job with token ``t``": the actor may
only begin if the token still matches, so moving, pausing or cancelling a dispatched job voids
the message already in flight. Every transition checks the current state (and attempt id or
token) and appends to the audit stream in the same Lua call (see ``worker.engine.scripts``).

Per-job memory is kept small: short field names, the job JSON without its id and without
empty fields, and no per-job index besides the zsets the dispatcher needs.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable, Iterator, Mapping

import redis

from adapters.base import PostRef
from worker.engine import keys
from worker.jobs import Job
from worker.engine import scripts
from worker.engine.clock import now_ms, to_ms
from worker.engine.states import (CANCELLED, CHANGE_HOLDS, DECISION_HOLDS, DISPATCHED, FAILED,
                                  GOLIVE_REFUSED, HELD,
                                  GOLIVE_WAITING, POSTED, PUBLISHED, PUBLISHING, RECHECKED_HOLDS,
                                  SCHEDULED, UNCERTAIN, StoredJobSummary)

AUDIT_MAXLEN = 1_000_000
KEEP, REMOVE = "", "-"


def compact_job_json(job: Job) -> str:
    """The job JSON as stored: no id (it is the key), no empty fields (defaults come back)."""
    data = {k: v for k, v in job.as_dict().items() if k != "id" and v not in (None, "", [], {}, ())}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def job_from_json(job_id: str, raw: str) -> Job:
    data = json.loads(raw)
    data["id"] = job_id
    return Job.from_dict(data)


@dataclasses.dataclass(frozen=True)
class StoredJob:
    """A job as the store holds it: the planned Job and its engine fields."""

    id: str
    state: str
    job: Job
    fields: Mapping[str, str]

    @property
    def reason(self) -> str:
        return self.fields.get("r", "")

    @property
    def corrects(self) -> str:
        """The id of the published post this job corrects (edits, answers or retracts); ""
        for a post of the plan."""
        return self.fields.get("o", "")

    @property
    def token(self) -> str:
        return self.fields.get("t", "")

    @property
    def attempt_id(self) -> str:
        return self.fields.get("at", "")

    @property
    def tries(self) -> int:
        return int(self.fields.get("n", 0))

    @property
    def attempt_errored(self) -> bool:
        """The current attempt ended in an unexpected error (rather than its worker dying)."""
        return bool(self.attempt_id) and self.fields.get("ue") == self.attempt_id

    @property
    def worker_deaths(self) -> int:
        return int(self.fields.get("kd", 0))

    @property
    def ref(self) -> PostRef | None:
        raw = self.fields.get("ref")
        return PostRef.from_dict(json.loads(raw)) if raw else None

    @property
    def lateness_ms(self) -> int | None:
        raw = self.fields.get("lat")
        return int(raw) if raw is not None else None


#: a pending job none of whose thread is out yet (``tp`` absent): a thread stopped half-way
#: (waiting for its retry, paused) is neither re-rendered nor cancelled, it finishes as it
#: began, and the change then corrects or retracts it as any published post
#: (``worker.engine.thread_posts``)
NOT_PARTLY_OUT = ("tp", "~")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A job the dispatcher has claimed: send it with this token, to start at ``send_at_ms``."""

    job_id: str
    token: str
    send_at_ms: int


class Store:
    """Every read and write of pregonero's state: jobs, their indexes and audit trail,
    pauses, sync status, heartbeats, correction versions, on-call overrides and the calendars'
    last good sources. (The broker shares this client: ``worker.engine.build``.)"""

    def __init__(self, client: redis.Redis, audit_maxlen: int = AUDIT_MAXLEN):
        self.r = client
        self.audit_maxlen = audit_maxlen
        self._scripts = {name: client.register_script(scripts.source(name))
                         for name in scripts.NAMES}
        self._transition = self._scripts["transition"]
        self._claim = self._scripts["claim_due"]
        self._reap = self._scripts["reap"]
        self._heartbeat = self._scripts["heartbeat"]

    def script(self, name: str):
        """The registered Lua script ``name`` (``worker.engine.scripts``), for the modules
        whose atomic steps span several jobs (a correction's start and finish)."""
        return self._scripts[name]

    # --- the generic guarded transition -------------------------------------------------------

    def transition(self, job_id: str, expect: str, to: str, by: str, why: str, *,
                   check: tuple[str, str] | tuple[tuple[str, str], ...] | None = None, due=KEEP, lease=KEEP, held=KEEP,
                   fields: Mapping[str, object] | None = None, delete: Iterable[str] = (),
                   client=None) -> bool:
        """Move ``job_id`` from one of ``expect`` ('a|b') to ``to`` atomically, with audit.

        Returns False (and changes nothing) if the state or the ``check`` field differs
        (``check``: a field and its accepted values, 'a|b', '~' for absent; or several such
        pairs, all of which must hold).
        With ``client`` (a pipeline) the call is only queued and True is returned: read the
        outcome (``[1, from]`` or ``[0, current]``) from ``pipeline.execute()``.
        """
        at = now_ms()
        pairs: list[str] = ["u", str(at)]
        for name, value in (fields or {}).items():
            pairs += [name, str(value)]
        if check and isinstance(check[0], tuple):
            check_field, check_values = (",".join(part) for part in zip(*check))
        else:
            check_field, check_values = check or ("", "")
        args = [job_id, expect, to, by, why, at, check_field, check_values,
                _zop(due), _zop(lease), _zop(held), self.audit_maxlen, len(pairs) // 2,
                *pairs, *delete]
        result = self._transition(keys=[keys.job(job_id), keys.AUDIT, keys.DUE, keys.LEASES,
                                        keys.HELD], args=args, client=client)
        return result is not None and bool(result[0]) if client is None else True

    # --- plan side (sync) -----------------------------------------------------------------------

    def add_job(self, job: Job, path: str, by: str, why: str = "added", client=None) -> bool:
        """Store a new job as ``scheduled`` (also revives a cancelled or failed one)."""
        return self.transition(job.id, "-|cancelled|failed", SCHEDULED, by, why,
                               check=NOT_PARTLY_OUT, due=to_ms(job.due_utc), lease=REMOVE,
                               held=REMOVE, fields=planned_fields(job, path), client=client,
                               delete=("t", "at", "r", "ref", "lat", "gs", "n", "pj", "ue", "kd"))

    def update_job(self, job: Job, path: str, by: str, why: str) -> bool:
        """Replace a pending job's content and instant. A dispatched one loses its token (the
        message in flight becomes void) and is scheduled again; a paused one stays held."""
        due_ms = to_ms(job.due_utc)
        fields = planned_fields(job, path)
        if self.transition(job.id, "scheduled|dispatched|held", SCHEDULED, by, why,
                           check=(("r", "|".join(("~", *RECHECKED_HOLDS, GOLIVE_REFUSED,
                                                        CHANGE_HOLDS))), NOT_PARTLY_OUT),
                           due=due_ms, lease=REMOVE,
                           held=REMOVE, fields=fields, delete=("t", "r", "gs", "gr")):
            return True
        return self.transition(job.id, HELD, HELD, by, why,
                               check=(("r", "|".join(DECISION_HOLDS)), NOT_PARTLY_OUT),
                               held=due_ms, fields=fields)

    def refresh_hold(self, job: Job, path: str, by: str, why: str) -> bool:
        """A held job's new content (a correction re-rendered or moved it) under the hold it
        already has: a go-live waiting for its page keeps waiting (and its re-checks), a
        go-live whose URL was refused is checked again, a paused, quiet or missed post stays
        held for the decision it was waiting for, at its new instant. False when the job is
        not held for one of those reasons."""
        fields = planned_fields(job, path)
        if self.transition(job.id, HELD, HELD, by, why,
                           check=(("r", "|".join(RECHECKED_HOLDS)), NOT_PARTLY_OUT), fields=fields):
            return True
        # a go-live between two checks of its page (its re-check claimed and on its way): the
        # message in flight carries the old text, so it is voided and the check comes again
        if self.transition(job.id, "scheduled|dispatched", HELD, by, why,
                           check=(("r", GOLIVE_WAITING), NOT_PARTLY_OUT), due=now_ms(), lease=REMOVE,
                           fields=fields, delete=("t",)):
            self.wake()
            return True
        # a go-live whose official URL was refused: its new version (check_url fixed, most
        # likely) is checked at once; refused again, it is held again with a new alert
        if self.transition(job.id, HELD, SCHEDULED, by, f"{why}: go-live checked again",
                           check=(("r", GOLIVE_REFUSED), NOT_PARTLY_OUT), due=now_ms(), held=REMOVE,
                           fields=fields, delete=("r", "gr")):
            self.wake()
            return True
        return self.transition(job.id, HELD, HELD, by, why,
                               check=(("r", "|".join(DECISION_HOLDS)), NOT_PARTLY_OUT),
                               held=to_ms(job.due_utc), fields=fields)

    def cancel_job(self, job_id: str, by: str, why: str) -> bool:
        return self.transition(job_id, "scheduled|dispatched|held", CANCELLED, by, why,
                               check=NOT_PARTLY_OUT, due=REMOVE, lease=REMOVE, held=REMOVE,
                               delete=("t",))

    def flag_posted(self, job_id: str, to: str, by: str, why: str,
                    planned: Job | None = None, client=None) -> bool:
        """Mark a published job ``orphaned`` or ``needs_correction`` (with the new plan);
        with ``client`` (a pipeline) only queued, as ``transition`` says."""
        fields = {"pj": compact_job_json(planned), "ph": planned.content_hash} if planned else {}
        return self.transition(job_id, "|".join(POSTED), to, by, why, fields=fields,
                               client=client)

    def summaries(self) -> dict[str, StoredJobSummary]:
        """A summary of every stored job, for the diff."""
        out: dict[str, StoredJobSummary] = {}
        for job_id, (s, h, d, p, e, r, ph, o) in self.every_job_values(
                "s", "h", "d", "p", "e", "r", "ph", "o"):
            if s:
                out[job_id] = StoredJobSummary(job_id, s, h, int(d or 0), p, e, r, ph, o)
        return out

    # --- dispatch side ------------------------------------------------------------------------

    def next_due_ms(self) -> int | None:
        row = self.r.zrange(keys.DUE, 0, 0, withscores=True)
        return int(row[0][1]) if row else None

    def claim_due(self, upto_ms: int, limit: int = 100, dispatch_lease_ms: int = 30_000,
                  by: str = "dispatcher") -> list[Claim]:
        """Atomically claim jobs due at or before ``upto_ms``: two dispatchers never get the
        same job. Paused ones are held instead."""
        now = now_ms()
        flat = self._claim(keys=[keys.DUE, keys.LEASES, keys.HELD, keys.PAUSES, keys.AUDIT,
                                 keys.TOKEN_SEQ],
                           args=[upto_ms, limit, keys.JOB_PREFIX, now + dispatch_lease_ms, by, now,
                                 self.audit_maxlen, "|".join(RECHECKED_HOLDS)])
        return [Claim(flat[i].decode(), flat[i + 1].decode(), int(float(flat[i + 2])))
                for i in range(0, len(flat), 3)]

    def begin_publish(self, job_id: str, token: str, attempt_id: str, lease_ms: int,
                      by: str = "worker") -> bool:
        """dispatched (with this token) -> publishing with ``attempt_id``. False if the job was
        moved, paused, cancelled or taken by someone else since the message was sent."""
        at = now_ms()
        return self.transition(job_id, DISPATCHED, PUBLISHING, by, f"attempt {attempt_id}",
                               check=("t", token), due=REMOVE, lease=at + lease_ms,
                               fields={"at": attempt_id, "as": at}, delete=("t",))

    def heartbeat(self, job_id: str, attempt_id: str, lease_ms: int) -> bool:
        return bool(self._heartbeat(keys=[keys.job(job_id), keys.LEASES],
                                    args=[job_id, attempt_id, now_ms() + lease_ms]))

    def mark_published(self, job_id: str, attempt_id: str, ref: PostRef, lateness_ms: int,
                       by: str = "worker", why: str = "published") -> bool:
        fields = {"ref": json.dumps(ref.as_dict(), separators=(",", ":")), "lat": lateness_ms,
                  "pa": now_ms()}
        if self.transition(job_id, "publishing|uncertain", PUBLISHED, by, why,
                           check=("at", attempt_id), lease=REMOVE, fields=fields):
            return True
        # Our attempt lost its lease and the job moved on: the post exists nonetheless, so
        # record it to stop any further attempt from posting it again.
        return self.transition(job_id, "scheduled|dispatched|held|uncertain", PUBLISHED, by,
                               f"late success of attempt {attempt_id}", due=REMOVE,
                               lease=REMOVE, held=REMOVE, fields=fields, delete=("t",))

    def record_thread_part(self, job_id: str, attempt_id: str, state: str, progress: str,
                           why: str) -> bool:
        """A post of a thread is out (``worker.engine.thread_posts``): its reference joins
        the job's progress, if the attempt is still the job's, with an audit line."""
        return self.transition(job_id, state, state, "worker", why, check=("at", attempt_id),
                               fields={"tp": progress})

    def mark_uncertain(self, job_id: str, attempt_id: str, why: str, recheck_ms: int,
                       by: str = "worker", errored: bool = False) -> bool:
        """``errored``: the call ended in an unexpected error (``ue`` names the attempt), as
        opposed to the reaper finding its worker dead; the two are retried differently."""
        return self.transition(job_id, PUBLISHING, UNCERTAIN, by, why,
                               check=("at", attempt_id), lease=recheck_ms,
                               fields={"ue": attempt_id} if errored else None)

    def mark_failed(self, job_id: str, why: str, *, attempt_id: str | None = None,
                    token: str | None = None, by: str = "worker") -> bool:
        check = ("at", attempt_id) if attempt_id else ("t", token) if token else None
        return self.transition(job_id, "publishing|uncertain|dispatched|held", FAILED, by, why,
                               check=check, due=REMOVE, lease=REMOVE, held=REMOVE,
                               fields={"r": why[:200]}, delete=("t",))

    def reschedule(self, job_id: str, attempt_id: str, due_ms: int, why: str, tries: int,
                   by: str = "worker", worker_deaths: int | None = None) -> bool:
        """An attempt that did not post (rate limit, outage, lookup said no) -> scheduled."""
        fields: dict[str, object] = {"n": tries}
        if worker_deaths is not None:
            fields["kd"] = worker_deaths
        return self.transition(job_id, "publishing|uncertain", SCHEDULED, by, why,
                               check=("at", attempt_id), due=due_ms, lease=REMOVE,
                               fields=fields)

    def hold_dispatched(self, job_id: str, token: str, reason: str, why: str,
                        recheck_ms: int | None, fields: Mapping[str, object] | None = None,
                        drop: Iterable[str] = (), by: str = "worker") -> bool:
        """A gate holds the claimed job (the publisher's, ``worker.engine.gates``, or the
        dispatcher's quiet periods): with ``recheck_ms`` the dispatcher claims it again then
        and the gate is asked once more (go-live waiting, quota); without, it waits for a
        person in the held index at its planned instant (a refused official page, a quiet
        period: waiting alone would not release it)."""
        if recheck_ms is None:
            planned_ms = int(self.job_fields(job_id, "d")[0] or now_ms())
            due, held = REMOVE, planned_ms
        else:
            due, held = recheck_ms, KEEP
        return self.transition(job_id, DISPATCHED, HELD, by, why[:500], check=("t", token),
                               due=due, lease=REMOVE, held=held,
                               fields={"r": reason, **(fields or {})}, delete=("t", *drop))

    def reap(self, limit: int = 100, recheck_ms: int = 60_000, by: str = "reaper") -> list[tuple[str, str]]:
        """Expired leases (see ``REAP``): the (job_id, attempt_id) pairs lookup must resolve."""
        now = now_ms()
        flat = self._reap(keys=[keys.LEASES, keys.DUE, keys.AUDIT],
                          args=[now, limit, keys.JOB_PREFIX, now + recheck_ms, by, self.audit_maxlen])
        return [(flat[i].decode(), flat[i + 1].decode()) for i in range(0, len(flat), 2)]

    def wake(self) -> None:
        """Wake a sleeping dispatcher (an earlier job may have arrived)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.lpush(keys.WAKE, 1)
        pipe.ltrim(keys.WAKE, 0, 9)
        pipe.execute()

    # --- reads ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> StoredJob | None:
        raw = self.r.hgetall(keys.job(job_id))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        job = job_from_json(job_id, fields["j"])
        if fields.get("h"):
            # the hash stored with the job is the one the diff compares: reuse it rather than
            # re-encoding the job on every attempt
            object.__setattr__(job, "_content_hash", fields["h"])
        return StoredJob(job_id, fields["s"], job, fields)

    def state(self, job_id: str) -> str | None:
        raw = self.r.hget(keys.job(job_id), "s")
        return raw.decode() if raw else None

    def job_fields(self, job_id: str, *names: str) -> list[str]:
        """Some fields of a job (``worker.engine.fields``), "" for each one it lacks: the
        cheap read for a decision that needs no decoded Job."""
        return [v.decode() if v is not None else "" for v in self.r.hmget(keys.job(job_id), names)]

    def many_job_fields(self, job_ids: Iterable[str], *names: str) -> list[list[str]]:
        """``job_fields`` of many jobs in one round trip."""
        pipe = self.pipeline()
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), names)
        return [[v.decode() if v is not None else "" for v in row] for row in pipe.execute()]

    def set_job_fields(self, job_id: str, fields: Mapping[str, object]) -> None:
        """Bookkeeping fields that are no transition (the last alert raised about a job)."""
        self.r.hset(keys.job(job_id), mapping={k: str(v) for k, v in fields.items()})

    def drop_job_fields(self, job_id: str, *names: str) -> None:
        self.r.hdel(keys.job(job_id), *names)

    def _every_job(self, read, batch: int) -> Iterator[tuple[str, object]]:
        """(id, what ``read(pipeline, key)`` queued) for every job, a batch per round trip
        as the scan goes: a scan, for sync, reports and status, not for the hot path."""
        prefix = len(keys.JOB_PREFIX)
        for chunk in _batched(self.r.scan_iter(match=keys.JOB_PREFIX + "*", count=1000), batch):
            pipe = self.pipeline()
            for key in chunk:
                read(pipe, key)
            for key, result in zip(chunk, pipe.execute()):
                yield key.decode()[prefix:], result

    def every_job_values(self, *names: str, batch: int = 1000) -> Iterator[tuple[str, list[str]]]:
        """(id, those fields) of every job, "" for each one it lacks."""
        for job_id, row in self._every_job(lambda pipe, key: pipe.hmget(key, names), batch):
            yield job_id, [v.decode() if v is not None else "" for v in row]

    def every_job_fields(self, batch: int = 1000) -> Iterator[tuple[str, dict[str, str]]]:
        """(id, all fields) of every job (a job deleted meanwhile is skipped)."""
        for job_id, raw in self._every_job(lambda pipe, key: pipe.hgetall(key), batch):
            if raw:
                yield job_id, {k.decode(): v.decode() for k, v in raw.items()}

    def pipeline(self):
        """A non-transactional pipeline on the store's client: the pipelined variants of
        the store's calls take it as ``client=`` and its ``execute()`` gives their results."""
        return self.r.pipeline(transaction=False)

    # --- the indexes the dispatcher works from ------------------------------------------------

    def due_entries(self) -> dict[str, float]:
        """Jobs waiting for the dispatcher, with their instant (ms)."""
        return {m.decode(): s for m, s in self.r.zrange(keys.DUE, 0, -1, withscores=True)}

    def lease_entries(self) -> dict[str, float]:
        """Jobs with a lease (dispatched, publishing, uncertain), with its expiry (ms)."""
        return {m.decode(): s for m, s in self.r.zrange(keys.LEASES, 0, -1, withscores=True)}

    def held_entries(self) -> dict[str, float]:
        """Held jobs, with the instant they were (or are) due (ms)."""
        return {m.decode(): s for m, s in self.r.zrange(keys.HELD, 0, -1, withscores=True)}

    def held_since(self, job_id: str) -> float | None:
        """The instant a held job was due (ms), None if it is not held."""
        return self.r.zscore(keys.HELD, job_id)

    def due_at(self, instant_ms: int) -> list[str]:
        """The jobs due exactly at ``instant_ms``."""
        return [m.decode() for m in self.r.zrangebyscore(keys.DUE, instant_ms, instant_ms)]

    def wait_for_wake(self, timeout_s: float) -> None:
        """Sleep until ``wake()`` is called or ``timeout_s`` passes (the dispatcher's sleep)."""
        self.r.blpop([keys.WAKE], timeout=timeout_s)

    # --- pauses -----------------------------------------------------------------------------------

    def set_pause(self, field: str, info: Mapping) -> None:
        self.r.hset(keys.PAUSES, field, json.dumps(info))

    def clear_pause(self, field: str) -> None:
        self.r.hdel(keys.PAUSES, field)

    def pauses(self) -> dict[str, dict]:
        """Active pauses by scope field (``all``, ``account:x``, ``department:y``)."""
        return {k.decode(): json.loads(v) for k, v in self.r.hgetall(keys.PAUSES).items()}

    def count_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for summary in self.summaries().values():
            counts[summary.state] = counts.get(summary.state, 0) + 1
        return counts

    def audit(self, job_id: str | None = None, count: int = 10_000) -> list[dict]:
        """Audit entries, oldest first; all of them or those of one job."""
        out = []
        for entry_id, data in self.r.xrange(keys.AUDIT, count=None if job_id else count):
            row = {k.decode(): v.decode() for k, v in data.items()}
            if job_id is None or row.get("job") == job_id:
                row["id"] = entry_id.decode()
                out.append(row)
        return out[-count:]

    def audit_after(self, after: str, count: int) -> list[tuple[str, dict]]:
        """Up to ``count`` audit entries after the entry id ``after`` ("-": from the first),
        each as (entry id, decoded row): how followers page through the stream."""
        start = "-" if after == "-" else f"({after}"
        return [(entry_id.decode(), {k.decode(): v.decode() for k, v in data.items()})
                for entry_id, data in self.r.xrange(keys.AUDIT, min=start, max="+", count=count)]

    def follow_audit(self, after: str, block_ms: int, count: int = 200) -> list[tuple[str, dict]]:
        """Audit entries recorded after the entry id ``after`` ("<ms>-0" for an instant),
        waiting up to ``block_ms`` for the first; each as (entry id, decoded row)."""
        rows = self.r.xread({keys.AUDIT: after}, block=block_ms, count=count)
        return [(entry_id.decode(), {k.decode(): v.decode() for k, v in data.items()})
                for _stream, entries in rows or () for entry_id, data in entries]

    def audit_note(self, job_id: str, by: str, why: str) -> None:
        """An audit line that is not a transition (decisions, alerts)."""
        self.r.xadd(keys.AUDIT, {"job": job_id, "from": "", "to": "", "by": by, "why": why,
                                 "at": now_ms()}, maxlen=self.audit_maxlen, approximate=True)

    # --- calendars and sync status ------------------------------------------------------------

    def set_last_good(self, path: str, summary: Mapping) -> None:
        self.r.set(keys.calendar(path), json.dumps(summary, separators=(",", ":")))

    def last_good(self) -> dict[str, dict]:
        out = {}
        for key in self.r.scan_iter(match=keys.CALENDAR_PREFIX + "*", count=1000):
            raw = self.r.get(key)
            if raw:
                out[key.decode()[len(keys.CALENDAR_PREFIX):]] = json.loads(raw)
        return out

    def set_sync_status(self, status: Mapping) -> None:
        self.r.hset(keys.SYNC_STATUS, mapping={"json": json.dumps(status, default=str)})

    def sync_status(self) -> dict | None:
        raw = self.r.hget(keys.SYNC_STATUS, "json")
        return json.loads(raw) if raw else None

    def load_alerts(self) -> dict[str, str]:
        """Calendar files whose load failure was alerted, with the digest of its findings."""
        return {k.decode(): v.decode() for k, v in self.r.hgetall(keys.LOAD_ALERTS).items()}

    def set_load_alert(self, path: str, digest: str) -> None:
        self.r.hset(keys.LOAD_ALERTS, path, digest)

    def clear_load_alerts(self, *paths: str) -> None:
        if paths:
            self.r.hdel(keys.LOAD_ALERTS, *paths)

    # --- liveness -------------------------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self.r.ping())

    def beat(self, component: str, at_ms: int, ttl_s: int = 24 * 3600) -> None:
        """``component`` is alive at ``at_ms`` (``/healthz`` reads these)."""
        self.r.set(keys.HEARTBEAT_PREFIX + component, at_ms, ex=ttl_s)

    def beats(self) -> dict[str, int]:
        """The last heartbeat (ms) of every component that sent one within its ttl."""
        prefix = len(keys.HEARTBEAT_PREFIX)
        out = {}
        for key in self.r.scan_iter(match=keys.HEARTBEAT_PREFIX + "*", count=100):
            value = self.r.get(key)
            if value is not None:
                out[key.decode()[prefix:]] = int(value)
        return out

    # --- on-call overrides and calendars' last good sources (worker.corrections.overrides) ------

    def put_override(self, field: str, calendar: str, record: str) -> None:
        """An override (JSON ``record``) in force, and its line in the calendar's change log
        (which outlives it: corrections and history cite who and why; the last 1,000 kept)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(keys.OVERRIDES, field, record)
        pipe.lpush(keys.CHANGES_PREFIX + calendar, record)
        pipe.ltrim(keys.CHANGES_PREFIX + calendar, 0, 999)
        pipe.execute()

    def drop_override(self, field: str) -> bool:
        return bool(self.r.hdel(keys.OVERRIDES, field))

    def override_records(self) -> list[str]:
        """Every override in force (JSON), in field order."""
        return [raw.decode() for _field, raw in sorted(self.r.hgetall(keys.OVERRIDES).items())]

    def override_record(self, field: str) -> str | None:
        raw = self.r.hget(keys.OVERRIDES, field)
        return raw.decode() if raw else None

    def change_log(self, calendar: str) -> list[str]:
        """A calendar's on-call changes (JSON), newest first."""
        return [raw.decode() for raw in self.r.lrange(keys.CHANGES_PREFIX + calendar, 0, -1)]

    def first_time(self, note: str) -> bool:
        """True only the first time ``note`` is seen (an alert raised once per stale value)."""
        return bool(self.r.hsetnx(keys.OVERRIDES_STALE, note, now_ms()))

    def set_calendar_meta(self, calendar_id: str, record: str) -> None:
        self.r.set(keys.CALMETA_PREFIX + calendar_id, record)

    def calendar_meta(self, calendar_id: str) -> str | None:
        raw = self.r.get(keys.CALMETA_PREFIX + calendar_id)
        return raw.decode() if raw else None

    def source_digest(self, path: str) -> str | None:
        raw = self.r.hget(keys.SOURCE_PREFIX + path, "sha")
        return raw.decode() if raw else None

    def put_source(self, path: str, fields: Mapping[str, str]) -> None:
        self.r.hset(keys.SOURCE_PREFIX + path, mapping=dict(fields))

    def sources(self, first: str | None = None) -> Iterator[tuple[str, dict[str, str]]]:
        """(path, fields) of the calendars' last good sources, ``first``'s path first (a
        lookup by path ends there, before any scan)."""
        prefix = len(keys.SOURCE_PREFIX)

        def read(path: str) -> dict[str, str]:
            return {k.decode(): v.decode()
                    for k, v in self.r.hgetall(keys.SOURCE_PREFIX + path).items()}

        if first and (fields := read(first)):
            yield first, fields
        for key in self.r.scan_iter(match=keys.SOURCE_PREFIX + "*", count=1000):
            path = key.decode()[prefix:]
            if path != first and (fields := read(path)):
                yield path, fields

    # --- correction versions ----------------------------------------------------------------------

    def versions(self, job_id: str) -> list[dict]:
        """Every published version of a post, oldest first (``pregonero history``)."""
        return [json.loads(raw) for raw in self.r.lrange(keys.versions(job_id), 0, -1)]


def _zop(op) -> str:
    return op if isinstance(op, str) else str(int(op))


def planned_fields(job: Job, path: str) -> dict[str, object]:
    """The fields a planned job is stored with (``fields.PLANNED``): what sync, a retry and a
    correction's steps write when they (re)place a job."""
    return {"j": compact_job_json(job), "h": job.content_hash, "d": to_ms(job.due_utc),
            "p": path, "e": job.entry, "a": job.account, "dp": job.department}


def _batched(items: Iterator, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
