"""One attempt at a job, from the message that hands it over to its recorded outcome.

``Publisher`` holds the logic (testable without dramatiq; ``worker.engine.broker`` binds it to
the actors, which only unwrap messages). Retries are scheduled through the store, so a job
waiting for its retry survives restarts and is visible in ``status``.

Outcome of one attempt (exactly one structlog line each):
  published                   -> ``post_published`` (job_id, account, lateness_ms)
  RateLimited                 -> scheduled again at the platform's reset (+ jitter)
  Unavailable                 -> scheduled again after a backoff step; ``failed`` after the last
  OutcomeUnknown / unexpected -> ``uncertain``; the reaper asks ``lookup`` after a delay
                                 (a lookup the platform cannot answer: ``failed`` + alert)
  AuthError, Rejected, ...    -> ``failed`` with ``alert=True``
  an image outside the calendar repository, not a file, not an image (read again before any
  adapter sees the job: ``worker.image_files``) -> ``failed`` with ``alert=True``, unsent
  a gate that does not proceed (``worker.engine.gates``) -> ``held`` with its reason (re-checked
                                 or waiting for a person) or ``failed`` with an alert, unsent
  a kind that cannot build its request (a correction whose original is not waiting for it:
                                 ``worker.corrections.send``) -> ``failed`` with an alert, unsent
  a dead worker (the reaper finds its lease expired), lookup "not posted" -> sent again at
                                 once, its retry budget untouched; ``failed`` + alert after
                                 ``max_worker_deaths``
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
import time
import uuid
from typing import Callable, Mapping, Protocol

import redis
import structlog

from adapters.base import (Adapter, AuthError, Image, NotSupported, PostRef, PostRequest,
                           RateLimited, Rejected, Unavailable, Unknowable)
from worker.corrections.send import CorrectionSend
from worker.engine import gates, link_cards, thread_posts
from worker.image_files import ImageRefused, with_images
from worker.jobs import Job
from worker.net.guard import NetPolicy
from worker.engine.store import Store, StoredJob
from worker.engine.clock import now_ms, to_ms
from worker.engine.states import DISPATCHED, PUBLISHING, UNCERTAIN

log = structlog.get_logger("pregonero.publish")


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """Timing knobs. Defaults are production values; tests shrink them."""

    lead_ms: int = 200                 # dispatcher hands over this early; actor waits the rest
    worker_threads: int = 8
    worker_timeout_ms: int = 100       # dramatiq consumer poll: bounds the queue latency
    lease_ms: int = 60_000             # a publishing attempt without heartbeat is presumed dead
    heartbeat_s: float = 15.0
    dispatch_lease_ms: int = 30_000    # a claimed job whose message never started comes back
    lookup_delay_ms: int = 5_000       # after OutcomeUnknown, give the platform time to index
    uncertain_recheck_ms: int = 60_000 # lookup failing -> ask again this much later
    reap_every_s: float = 1.0
    backoff_s: tuple[float, ...] = (5, 30, 120, 600)
    #: a post whose sending took the worker down this many times (each found dead by the
    #: reaper, each "not posted" by lookup) fails with an alert: a poison post, not a loop
    max_worker_deaths: int = 8
    rate_limit_default_s: float = 60.0
    rate_limit_jitter_s: float = 2.0
    golive_interval_s: float = 60.0
    golive_window_s: float = 6 * 3600.0
    golive_timeout_s: float = 5.0
    #: what the go-live check may reach (``config/policies.yaml`` ``network``); the service
    #: reads it live from config/ (``service.live_network_policy``), this is the fallback
    network: NetPolicy = NetPolicy()
    #: expected text on the official page, by official_url (optional)
    golive_expect_text: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: a job held for its account's publishing quota (Instagram) is asked about again after
    quota_recheck_s: float = 15 * 60.0
    #: reading a link's page for its card (Bluesky: ``worker.engine.link_cards``), at most
    link_card_timeout_s: float = 3.0


def idempotency_key(job: Job) -> str:
    """Same job, same content -> same key: lookup finds the post of any earlier attempt."""
    return f"{job.id}#{job.content_hash}"


def build_request(job: Job) -> PostRequest:
    return PostRequest(job_id=job.id, account=job.account, action="publish", text=job.text,
                       language=job.language, idempotency_key=idempotency_key(job),
                       due=job.due_utc, link=job.link,
                       images=tuple(Image(i.path, i.alt) for i in job.images),
                       event=dict(dataclasses.asdict(job.event), calendar=job.calendar, uid=job.id)
                       if job.event else None)


class JobKind(Protocol):
    """What the publisher asks a job's kind; everything else runs the same for every job."""

    #: the kind's request must be asked at the job's instant, not in the dispatcher's lead
    #: time (what it depends on can change in the last moments)
    at_instant: bool

    def applies(self, stored: StoredJob) -> bool:
        """Whether the job is of this kind."""

    def request(self, stored: StoredJob) -> PostRequest | gates.Fail:
        """What to ask the platform, or why the job cannot go out (it fails, unsent)."""

    def lookup_request(self, stored: StoredJob) -> PostRequest:
        """What to look up after an uncertain attempt (the request that was sent)."""

    def published(self, stored: StoredJob, ref: PostRef | None) -> None:
        """The platform took it (its state is already recorded)."""

    def refused(self, stored: StoredJob, exc: Exception) -> None:
        """The platform refused it for good (its failure is already recorded)."""


class PlainPost:
    """A post, go-live announcement or event of the plan: nothing follows its outcome."""

    at_instant = False

    def applies(self, stored: StoredJob) -> bool:
        return True

    def request(self, stored: StoredJob) -> PostRequest:
        return build_request(stored.job)

    def lookup_request(self, stored: StoredJob) -> PostRequest:
        whole = build_request(stored.job)
        if stored.job.thread:  # the part in doubt: the first one not recorded as out
            return thread_posts.next_request(stored.job, whole, stored.fields)
        return whole

    def published(self, stored: StoredJob, ref: PostRef | None) -> None:
        pass

    def refused(self, stored: StoredJob, exc: Exception) -> None:
        pass


def default_gates(store: Store, settings: EngineSettings,
                  network_policy: Callable[[], NetPolicy]) -> tuple[gates.Gate, ...]:
    """The chain every job passes before the platform call (``worker.engine.gates``)."""
    return (gates.GoLive(settings.golive_timeout_s, settings.golive_interval_s,
                         settings.golive_window_s, network_policy, settings.golive_expect_text),
            gates.Quota(settings.quota_recheck_s))


def wait_until(instant_ms: int) -> None:
    """Sleep until the instant, never returning before it."""
    while True:
        remaining_s = (instant_ms - time.time() * 1000) / 1000
        if remaining_s <= 0:
            return
        time.sleep(remaining_s if remaining_s < 0.01 else remaining_s - 0.002)


class Heartbeats:
    """Extends the leases of the attempts in progress, from one thread per publisher.

    A thread per attempt would cost a thread start and join for every post (a third of the
    CPU of a burst); one ticking thread extends every active lease instead. An attempt may get
    its first extension sooner than ``every_s`` after it starts, never later.
    """

    def __init__(self, store: Store, lease_ms: int, every_s: float):
        self.store, self.lease_ms, self.every_s = store, lease_ms, every_s
        self._active: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def beating(self, job_id: str, attempt_id: str):
        """Keep ``attempt_id``'s lease alive while the block runs."""
        with self._lock:
            self._active[job_id] = attempt_id
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                if self._active.get(job_id) == attempt_id:
                    del self._active[job_id]

    def _run(self) -> None:
        while True:
            time.sleep(self.every_s)
            with self._lock:
                active = list(self._active.items())
            for job_id, attempt_id in active:
                try:
                    self.store.heartbeat(job_id, attempt_id, self.lease_ms)
                except redis.RedisError:
                    log.warning("heartbeat_failed", job_id=job_id)


class Publisher:
    """Runs attempts. ``adapter_for(job)`` returns the adapter of the job's account."""

    def __init__(self, store: Store, adapter_for: Callable[[Job], Adapter],
                 settings: EngineSettings = EngineSettings(),
                 network_policy: Callable[[], NetPolicy] | None = None,
                 images_root: str | None = None):
        self.store = store
        self.adapter_for = adapter_for
        self.settings = settings
        #: the network policy now (None: ``settings.network``)
        self.network_policy = network_policy or (lambda: settings.network)
        #: the calendar repository every local image must lie in (``worker.calendar_root``);
        #: None: no local image is sent at all
        self.images_root = images_root
        self.heartbeats = Heartbeats(store, settings.lease_ms, settings.heartbeat_s)
        #: what differs between a plain post and a correction (``JobKind``), asked in order
        self.kinds: tuple[JobKind, ...] = (
            CorrectionSend(store, lambda stored: self.adapter_for(stored.job).capabilities),
            PlainPost())
        #: what a job must pass at its instant, in order (``worker.engine.gates``); the go-live
        #: gate asks for the policy at each check, as it may be replaced while running
        self.gates = default_gates(store, settings, lambda: self.network_policy())

    def publish_job(self, job_id: str, token: str, send_at_ms: int) -> None:
        """One claimed job at its instant: its adapter, the gates in order, its images read
        again, the attempt begun, the platform called. Each step that stops the job records
        why (failed, or held by a gate) and nothing reaches the platform."""
        stored = self.store.get(job_id)
        if stored is None or stored.state != DISPATCHED or stored.token != token:
            log.info("publish_message_stale", job_id=job_id,
                     state=stored.state if stored else None)
            return
        # A job no gate must ask at its instant (a plain post) has everything but the platform
        # call done in the dispatcher's lead time, the attempt begun included, so that at the
        # instant only the call is left (a pause or move that lands in those last ~200 ms
        # finds the job already publishing, as it would a few ms later).
        kind = self.kind_of(stored)
        at_instant = kind.at_instant or any(gate.at_instant and gate.applies(stored)
                                            for gate in self.gates)
        if at_instant:
            wait_until(send_at_ms)
        adapter = self._adapter(stored, token)
        if adapter is None or not self._through_gates(stored, token, adapter):
            return
        request = kind.request(stored)
        if isinstance(request, gates.Fail):
            self._refuse_unsent(stored, token, request)
            return
        request = self._checked(stored, token, request)
        if request is None:
            return
        request = link_cards.with_card(request, adapter.capabilities,
                                       policy=self.network_policy(),
                                       timeout_s=self.settings.link_card_timeout_s)
        attempt_id = self._begin(stored, token)
        if attempt_id is None:
            return
        if not at_instant:
            wait_until(send_at_ms)
        self._attempt(stored, attempt_id, adapter, request)

    def _adapter(self, stored: StoredJob, token: str) -> Adapter | None:
        """The job's adapter; None (the job failed, with an alert) when there is none."""
        try:
            return self.adapter_for(stored.job)
        except Exception as exc:  # unknown account, missing credentials: nothing was sent
            why = f"no adapter: {type(exc).__name__}: {exc}"[:300]
            if self.store.mark_failed(stored.id, why, token=token):
                log.error("publish_failed", job_id=stored.id, account=stored.job.account,
                          reason=why, alert=True)
            return None

    def _through_gates(self, stored: StoredJob, token: str, adapter: Adapter) -> bool:
        """True if every gate proceeds; otherwise the first other answer is applied (the job
        held or failed, only if it is still this claim's) and False returned."""
        gate, verdict = gates.first_stop(self.gates, stored, adapter)
        if isinstance(verdict, gates.Proceed):
            return True
        common = {"job_id": stored.id, "account": stored.job.account, "gate": gate}
        if isinstance(verdict, gates.Fail):
            self._refuse_unsent(stored, token, verdict, gate=gate)
        elif self.store.hold_dispatched(stored.id, token, verdict.reason, verdict.why,
                                        verdict.recheck_ms, verdict.fields, verdict.drop):
            if verdict.recheck_ms is not None:
                self.store.wake()  # the dispatcher may be asleep past the re-check
            if verdict.alert:
                log.error(verdict.event, reason=verdict.why, alert=True, **common)
            else:
                log.info(verdict.event, reason=verdict.why, **common)
        return False

    def _refuse_unsent(self, stored: StoredJob, token: str, verdict: gates.Fail,
                       **context: str) -> None:
        """The job fails before any platform call, with an alert (if still this claim's)."""
        if self.store.mark_failed(stored.id, verdict.why, token=token):
            log.error(verdict.event, job_id=stored.id, account=stored.job.account,
                      reason=verdict.why, alert=True, **context)

    def _checked(self, stored: StoredJob, token: str, request: PostRequest) -> PostRequest | None:
        """``request`` with the bytes of its local images, read again from inside the calendar
        repository (a compiled path is never trusted: ``worker.image_files``); None when one
        is refused: the job fails for good, with an alert, before any adapter sees it."""
        job = stored.job
        try:
            return with_images(request, self.images_root,
                               f"entry '{job.entry}' of calendar '{job.calendar}'")
        except ImageRefused as exc:
            why = f"{type(exc).__name__}: {exc}"[:500]
            if self.store.mark_failed(job.id, why, token=token):
                log.error("publish_failed", job_id=job.id, account=job.account,
                          calendar=job.calendar, entry=job.entry, reason=why, alert=True)
            return None

    def _begin(self, stored: StoredJob, token: str) -> str | None:
        """A new attempt, the job moved to ``publishing``; None when the claim was lost (the
        job moved, paused or cancelled meanwhile)."""
        attempt_id = uuid.uuid4().hex[:16]
        if not self.store.begin_publish(stored.id, token, attempt_id, self.settings.lease_ms):
            log.info("publish_claim_lost", job_id=stored.id)
            return None
        return attempt_id

    def _attempt(self, stored: StoredJob, attempt_id: str, adapter: Adapter,
                 request: PostRequest) -> None:
        job, s = stored.job, self.settings
        started_ms = now_ms()
        lateness_ms = started_ms - to_ms(job.due_utc)
        common = {"job_id": job.id, "account": job.account, "attempt_id": attempt_id}
        try:
            with self.heartbeats.beating(job.id, attempt_id):
                if job.thread and not stored.corrects:
                    ref = self._send_thread(stored, attempt_id, request, adapter)
                else:
                    ref = self._send(request, adapter)
        except RateLimited as exc:
            delay_s = (exc.retry_after_s if exc.retry_after_s is not None else s.rate_limit_default_s)
            delay_s += random.uniform(0, s.rate_limit_jitter_s)
            self._retry(stored, attempt_id, delay_s, f"rate limited: {exc}", stored.tries, common)
        except Unavailable as exc:
            if stored.tries >= len(s.backoff_s):
                self._fail(job.id, attempt_id, f"unavailable after {stored.tries + 1} attempts: {exc}", common)
            else:
                self._retry(stored, attempt_id, s.backoff_s[stored.tries], f"unavailable: {exc}",
                            stored.tries + 1, common)
        except (AuthError, Rejected, NotSupported) as exc:
            self._fail(job.id, attempt_id, f"{type(exc).__name__}: {exc}", common)
            self.kind_of(stored).refused(stored, exc)
        except Exception as exc:  # OutcomeUnknown, or anything unexpected mid-call: maybe posted
            why = f"{type(exc).__name__}: {exc}"[:300]
            self.store.mark_uncertain(job.id, attempt_id, why, now_ms() + s.lookup_delay_ms,
                                      errored=True)
            log.warning("publish_uncertain", reason=why, **common)
        else:
            self._published(stored, attempt_id, ref, lateness_ms)
            log.info("post_published", lateness_ms=lateness_ms, post_id=ref.post_id, **common)

    def kind_of(self, stored: StoredJob) -> JobKind:
        """The first of ``self.kinds`` that takes the job (a plain post takes any)."""
        return next(kind for kind in self.kinds if kind.applies(stored))

    @staticmethod
    def _send(request: PostRequest, adapter: Adapter):
        """One call to the platform: publish, or (correction jobs) correct / reply / retract;
        a retraction of a thread deletes each of its posts, the last first."""
        if request.action == "correct":
            return adapter.correct(request)
        if request.action == "reply":
            return adapter.reply(request)
        if request.action == "retract":
            for deletion in thread_posts.retractions(request):
                adapter.retract(deletion)
            return request.target
        return adapter.publish(request)

    def _send_thread(self, stored: StoredJob, attempt_id: str, whole: PostRequest,
                     adapter: Adapter) -> PostRef:
        """The posts of a thread not out yet, each answering the one before, each recorded
        on the job before the next is sent (``worker.engine.thread_posts``). An error stops
        the thread where it is: its handling (retry, lookup, failure) resumes it there."""
        job = stored.job
        refs = thread_posts.progress(stored.fields)
        for index in range(len(refs), len(job.thread)):
            part = thread_posts.part_request(job, whole, index, refs[-1] if refs else None)
            try:
                refs.append(self._send(part, adapter))
            except Exception:
                log.warning("thread_interrupted", job_id=job.id, part=index + 1,
                            parts=len(job.thread), account=job.account)
                raise
            if len(refs) < len(job.thread):
                self.store.record_thread_part(job.id, attempt_id, PUBLISHING,
                                              thread_posts.progress_value(refs),
                                              f"thread: post {len(refs)} of {len(job.thread)} "
                                              f"out ({refs[-1].post_id})")
        return thread_posts.head_ref(refs)

    def _published(self, stored: StoredJob, attempt_id: str, ref, lateness_ms: int,
                   why: str = "published") -> None:
        if self.store.mark_published(stored.id, attempt_id, ref, lateness_ms, why=why):
            self.kind_of(stored).published(stored, ref)

    def _retry(self, stored: StoredJob, attempt_id: str, delay_s: float, why: str, tries: int,
               common: dict, worker_deaths: int | None = None) -> None:
        due_ms = now_ms() + int(delay_s * 1000)
        if self.store.reschedule(stored.id, attempt_id, due_ms, why, tries,
                                 worker_deaths=worker_deaths):
            self.store.wake()
        log.info("publish_retry_scheduled", reason=why, delay_s=round(delay_s, 3), tries=tries, **common)

    def _fail(self, job_id: str, attempt_id: str, why: str, common: dict) -> None:
        self.store.mark_failed(job_id, why, attempt_id=attempt_id)
        log.error("publish_failed", reason=why, alert=True, **common)

    def resolve_job(self, job_id: str, attempt_id: str) -> None:
        """An uncertain attempt: ask the platform whether the post exists. Never repost blindly."""
        stored = self.store.get(job_id)
        if stored is None or stored.state != UNCERTAIN or stored.attempt_id != attempt_id:
            return
        common = {"job_id": job_id, "account": stored.job.account, "attempt_id": attempt_id}
        try:
            ref = self.adapter_for(stored.job).lookup(self.kind_of(stored).lookup_request(stored))
        except Unknowable as exc:
            # the platform cannot say whether it went out: posting again could show it twice,
            # assuming it went out could lose it; a person looks (and retries if it is not there)
            self._fail(job_id, attempt_id, f"outcome unknown, and the platform cannot be asked: "
                       f"{exc}"[:300], common)
            return
        except Exception as exc:  # stays uncertain; the reaper asks again after the recheck delay
            log.warning("publish_uncertain", reason=f"lookup failed: {type(exc).__name__}: {exc}",
                        **common)
            return
        if ref is not None and stored.job.thread and not stored.corrects:
            refs = thread_posts.progress(stored.fields) + [ref]
            if len(refs) < len(stored.job.thread):
                # the post in doubt is out, the thread is not: record it, send the rest now
                self.store.record_thread_part(job_id, attempt_id, UNCERTAIN,
                                              thread_posts.progress_value(refs),
                                              f"thread: lookup found post {len(refs)} of "
                                              f"{len(stored.job.thread)} ({ref.post_id})")
                self._retry(stored, attempt_id, 0, "lookup found a post of the thread: the "
                            "rest goes now", stored.tries, common)
                return
            ref = thread_posts.head_ref(refs)
        if ref is not None:
            started_ms = int(stored.fields.get("as") or now_ms())
            lateness_ms = started_ms - to_ms(stored.job.due_utc)
            self._published(stored, attempt_id, ref, lateness_ms, why="lookup found the post")
            log.info("post_published", lateness_ms=lateness_ms, post_id=ref.post_id,
                     via="lookup", **common)
        elif not stored.attempt_errored:
            self._after_worker_death(stored, attempt_id, common)
        elif stored.tries >= len(self.settings.backoff_s):
            # the same unexpected failure every time: a person must look, not a retry loop
            self._fail(job_id, attempt_id, f"not posted after {stored.tries + 1} attempts that "
                       "ended in an unexpected error (pregonero history shows each)", common)
        else:
            self._retry(stored, attempt_id, self.settings.backoff_s[stored.tries],
                        "lookup: not posted", stored.tries + 1, common)

    def _after_worker_death(self, stored: StoredJob, attempt_id: str, common: dict) -> None:
        """The attempt's worker died mid-call (the reaper found its lease expired) and lookup
        says the post is not there. Nothing failed: the post goes again at once, its retry
        budget untouched (a worker killed again and again must not cost a post), unless its
        sending has killed workers ``max_worker_deaths`` times."""
        deaths = stored.worker_deaths + 1
        if deaths >= self.settings.max_worker_deaths:
            self._fail(stored.id, attempt_id, f"not posted: the worker sending it died {deaths} "
                       "times (a person must look: pregonero history shows each)", common)
        else:
            self._retry(stored, attempt_id, 0, "lookup: not posted", stored.tries, common,
                        worker_deaths=deaths)
