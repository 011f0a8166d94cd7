"""Prometheus metrics and ``/healthz``, read from Redis.

Everything is derived from the store, not from in-process counters, so the numbers are the
same whichever process serves them (``pregonero run`` in a thread, or a standalone
``pregonero metrics``) and however many workers share the Redis:

* ``pregonero_jobs{state}``: jobs by state, counted at each scrape;
* ``pregonero_publish_lateness_seconds``: histogram of how late posts went out (the job's
  ``lat`` field, recorded by the worker at the start of the attempt);
* ``pregonero_publish_outcomes_total{platform,outcome}``: published, failed, uncertain,
  retried, and the holds at the instant of sending: golive_waiting, golive_refused,
  quiet_period, quota_wait (Instagram's daily limit);
* ``pregonero_corrections_total{event}``: posts flagged (needs_correction, orphaned) and
  correction jobs published (applied);
* ``pregonero_sync_errors_total``: syncs that left a calendar failing or were refused, and
  ``pregonero_calendars_failing``; ``pregonero_last_sync_timestamp_seconds``.

Counters follow the audit stream incrementally (``XRANGE`` from the last entry seen): on the
first scrape they count the whole retained stream, so a restart of the metrics process is a
counter reset Prometheus already understands.

``/healthz`` answers 200 when Redis answers and something of the engine showed life recently
(the last sync, or a ``pregonero:heartbeat:*`` key written with ``record_heartbeat``), 503
otherwise, with a JSON body saying which.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
import time
from pathlib import Path
from typing import Iterable

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from worker.engine import keys
from worker.engine.store import Store

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
#: ``/healthz`` fails when the newest sign of life is older than this (3 sync intervals)
HEALTH_MAX_AGE_S = 180.0
HEARTBEAT_PREFIX = keys.HEARTBEAT_PREFIX
#: lateness buckets in seconds: the promise is "to the second"; 60 s is "late" in the report
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
#: audit transitions counted as publish outcomes: (from, to) -> outcome; None = any from
OUTCOMES = {"published": "published", "failed": "failed", "uncertain": "uncertain"}
AUDIT_BATCH = 5000
#: a hold at the instant of sending, told apart by the audit's "why" (see quiet.py, actors.py,
#: quota.py): (substring, outcome label)
HELD_WHY = (("golive_refused", "golive_refused"), ("quiet period", "quiet_period"),
            ("not live", "golive_waiting"), ("quota", "quota_wait"))


def record_heartbeat(store: Store, component: str) -> None:
    """Say "``component`` is alive now" (the dispatcher loop, a worker): read by /healthz."""
    store.beat(component, int(time.time() * 1000))


def _outcome(frm: str, to: str, why: str) -> str | None:
    """The publish outcome an audit transition stands for (None: not an outcome)."""
    if to in OUTCOMES and frm in ("publishing", "uncertain", "dispatched", "held", "scheduled"):
        return OUTCOMES[to]
    if to == "scheduled" and frm in ("publishing", "uncertain"):
        return "retried"
    if to == "held" and frm == "dispatched":
        lowered = why.lower()
        for needle, outcome in HELD_WHY:
            if needle in lowered:
                return outcome
        return "held"
    return None


class StoreCollector:
    """A prometheus collector over the store; state kept between scrapes for the counters."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._last_audit = "-"
        self._outcomes: dict[tuple[str, str], int] = {}
        self._corrections: dict[str, int] = {}
        self._buckets = [0] * (len(LATENESS_BUCKETS) + 1)
        self._lat_sum = 0.0
        self._sync_errors = 0
        self._last_sync_at: str | None = None

    # --- following the audit stream ---------------------------------------------------------

    def _follow_audit(self) -> None:
        while True:
            rows = self.store.audit_after(self._last_audit, AUDIT_BATCH)
            if not rows:
                return
            published: list[str] = []
            for entry_id, row in rows:
                self._last_audit = entry_id
                job_id, frm, to = row.get("job", ""), row.get("from", ""), row.get("to", "")
                if not to:
                    continue  # a note, not a transition
                if to in ("needs_correction", "orphaned"):
                    self._corrections[to] = self._corrections.get(to, 0) + 1
                outcome = _outcome(frm, to, row.get("why", ""))
                if outcome:
                    key = (_platform(job_id), outcome)
                    self._outcomes[key] = self._outcomes.get(key, 0) + 1
                if outcome == "published":
                    published.append(job_id)
            self._observe_published(published)
            if len(rows) < AUDIT_BATCH:
                return

    def _observe_published(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        for lat, of in self.store.many_job_fields(job_ids, "lat", "o"):
            if of:  # a correction job reached the platform
                self._corrections["applied"] = self._corrections.get("applied", 0) + 1
            if not lat:
                continue
            seconds = max(0.0, int(lat) / 1000)
            self._lat_sum += seconds
            for i, bound in enumerate(LATENESS_BUCKETS):
                if seconds <= bound:
                    self._buckets[i] += 1
                    break
            else:
                self._buckets[-1] += 1

    def _follow_sync(self) -> dict | None:
        status = self.store.sync_status()
        if status and status.get("at") != self._last_sync_at:
            self._last_sync_at = status.get("at")
            if status.get("load_errors") or status.get("refused"):
                self._sync_errors += 1
        return status

    # --- the collector protocol ---------------------------------------------------------------

    def collect(self) -> Iterable:
        with self._lock:
            counts = self.store.count_by_state()
            self._follow_audit()
            status = self._follow_sync()
            jobs = GaugeMetricFamily("pregonero_jobs", "Jobs in the store, by state",
                                     labels=["state"])
            for state, count in sorted(counts.items()):
                jobs.add_metric([state], count)
            yield jobs
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, LATENESS_BUCKETS), "+Inf"), self._buckets):
                cumulative += count
                buckets.append((bound, cumulative))
            yield HistogramMetricFamily("pregonero_publish_lateness_seconds",
                                        "How late posts went out (start of the attempt)",
                                        buckets=buckets, sum_value=self._lat_sum)
            outcomes = CounterMetricFamily("pregonero_publish_outcomes",
                                           "Publish attempt outcomes per platform",
                                           labels=["platform", "outcome"])
            for (platform, outcome), count in sorted(self._outcomes.items()):
                outcomes.add_metric([platform, outcome], count)
            yield outcomes
            corrections = CounterMetricFamily("pregonero_corrections",
                                              "Published posts flagged for correction or "
                                              "orphaned, and correction jobs published",
                                              labels=["event"])
            for event, count in sorted(self._corrections.items()):
                corrections.add_metric([event], count)
            yield corrections
            yield CounterMetricFamily("pregonero_sync_errors",
                                      "Syncs that left a calendar failing or were refused",
                                      value=self._sync_errors)
            yield GaugeMetricFamily("pregonero_calendars_failing",
                                    "Calendar files failing to load at the last sync",
                                    value=len((status or {}).get("load_errors") or {}))
            last = _epoch_s((status or {}).get("at"))
            if last is not None:
                yield GaugeMetricFamily("pregonero_last_sync_timestamp_seconds",
                                        "When the last sync ran (Unix time)", value=last)


def _platform(job_id: str) -> str:
    """``cal/entry/x:ayto/es`` -> ``x`` (the account is the third part of a job id)."""
    parts = job_id.split("/")
    return parts[2].split(":", 1)[0] if len(parts) >= 4 and ":" in parts[2] else "unknown"


def _epoch_s(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def health(store: Store, max_age_s: float = HEALTH_MAX_AGE_S, now_s: float | None = None) -> tuple[bool, dict]:
    """(healthy, details): Redis answers and the newest sign of life is recent."""
    now_s = time.time() if now_s is None else now_s
    try:
        store.ping()
        status = store.sync_status() or {}
        beats = {component: at_ms / 1000 for component, at_ms in store.beats().items()}
    except (redis.RedisError, OSError) as exc:
        return False, {"redis": False, "error": str(exc)[:200]}
    signs = dict(beats)
    last_sync = _epoch_s(status.get("at"))
    if last_sync is not None:
        signs["sync"] = last_sync
    newest = max(signs.values(), default=None)
    age = None if newest is None else round(now_s - newest, 3)
    healthy = age is not None and age <= max_age_s
    return healthy, {"redis": True, "healthy": healthy, "newest_sign_of_life_age_s": age,
                     "max_age_s": max_age_s,
                     "signs": {k: round(now_s - v, 3) for k, v in sorted(signs.items())}}


def make_registry(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry


class MetricsServer(http.server.ThreadingHTTPServer):
    """The HTTP server of ``/metrics`` and ``/healthz``; ``close()`` stops it."""

    daemon_threads = True

    def __init__(self, store: Store, host: str, port: int, max_age_s: float,
                 feeds_dir: Path | None = None):
        self.store = store
        #: the iCalendar feeds served at /ics/<calendar>.ics (None: not served)
        self.feeds_dir = feeds_dir
        self.registry = make_registry(store)
        self.max_age_s = max_age_s
        self.thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


_FEED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.ics")


class _Handler(http.server.BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body, code = generate_latest(self.server.registry), 200
            except (redis.RedisError, OSError) as exc:
                body, code = f"redis unavailable: {exc}\n".encode(), 503
            self._send(code, body, "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            healthy, details = health(self.server.store, self.server.max_age_s)
            self._send(200 if healthy else 503, json.dumps(details).encode() + b"\n",
                       "application/json")
        elif path.startswith("/ics/") and self.server.feeds_dir is not None:
            self._send_feed(path[len("/ics/"):])
        else:
            self._send(404, b"not found: try /metrics, /healthz or /ics/all.ics\n", "text/plain")

    def _send_feed(self, name: str) -> None:
        """A calendar feed, for subscription (put a reverse proxy in front to publish it)."""
        # only plain file names: no path can leave the feeds directory
        if not _FEED_NAME.fullmatch(name):
            self._send(404, b"no such feed\n", "text/plain")
            return
        try:
            body = (self.server.feeds_dir / name).read_bytes()
        except OSError:
            self._send(404, b"no such feed\n", "text/plain")
            return
        self._send(200, body, "text/calendar; charset=utf-8")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # scrapes every 15 s would flood the logs
        pass


def start_metrics_server(store: Store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                         max_age_s: float = HEALTH_MAX_AGE_S,
                         feeds_dir: Path | None = None) -> MetricsServer:
    """Serve /metrics, /healthz (and /ics/<calendar>.ics from ``feeds_dir``) in a daemon
    thread; ``server.close()`` stops it. ``port=0`` picks a free port (``server.url``)."""
    server = MetricsServer(store, host, port, max_age_s, feeds_dir)
    server.thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    server.thread.start()
    return server
