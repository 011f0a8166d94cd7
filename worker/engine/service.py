"""Running the engine: one process with everything, or separate workers and dispatchers.

``run`` = embedded Redis (when no REDIS_URL) + sync loop + dispatcher thread(s) + in-process
dramatiq worker. ``run_worker`` and ``run_dispatcher`` are the halves, for scaling out against
a shared ``REDIS_URL``. SIGTERM/SIGINT: stop claiming, let in-flight attempts finish (their
state is recorded), exit 0. A job claimed but not yet begun simply comes back through its
dispatch lease.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from pathlib import Path
from typing import Callable

import structlog

from worker.engine.broker import namespace_for
from worker.engine.build import build_engine
from worker.engine.publisher import EngineSettings
from worker.engine.quiet import QuietGate
from worker.engine.holds import pause, pauses, resume  # noqa: F401  (the service's pause/resume API)
from worker.jobs import Job
from worker.net.guard import NetPolicy
from worker.engine.redis_server import connect
from worker.engine.store import Store
from worker.engine.sync import run_sync_loop

log = structlog.get_logger("pregonero.service")


def adapter_factory(home: Path, config_dir: Path, transport: str | None = None,
                    default_transport: str | None = None) -> Callable[[Job], object]:
    """Adapters per account from ``config/accounts.yaml``, rebuilt when the account's entry
    or its secret files change (see ``worker.engine.adapter_pool``).

    Transport precedence: ``transport`` given here (the demo forces ``outbox``) > the account's
    own ``transport:`` > ``default_transport`` (``$PREGONERO_TRANSPORT``, read by the CLI) >
    the config default (``outbox``)."""
    from worker.engine.adapter_pool import AdapterPool

    return AdapterPool(home, config_dir, transport, default_transport=default_transport)


def settings_from_config(config_dir: Path, base: EngineSettings = EngineSettings()) -> EngineSettings:
    """The go-live knobs live in config/policies.yaml; the rest are engine defaults."""
    try:
        from worker.config import load_config

        config = load_config(config_dir)
    except Exception:  # a broken config must not stop publishing what is already scheduled
        log.exception("config_unreadable_using_defaults")
        return base
    return dataclasses.replace(base, golive_interval_s=config.golive_recheck_s,
                               golive_window_s=config.golive_window_s,
                               golive_timeout_s=config.golive_timeout_s, network=config.network)


def live_network_policy(config_dir: Path, fallback: NetPolicy) -> Callable[[], NetPolicy]:
    """The network policy as ``config/`` says it now (``fallback`` while it never loaded).

    Read live, unlike the timings: allow-listing a host is how on-call staff release a
    go-live whose check was refused, and the resume that follows must not need a restart."""
    from worker.config_watch import ConfigWatch

    watch = ConfigWatch(config_dir)

    def current() -> NetPolicy:
        config = watch.current()
        return config.network if config is not None else fallback

    return current


@dataclasses.dataclass(frozen=True)
class Running:
    """A started service, as ``on_start`` hooks see it."""

    home: Path
    store: Store
    #: set it to shut the service down cleanly
    stop: threading.Event
    embedded: object | None


def _install_signals(stop: threading.Event) -> None:
    def handler(signum, _frame):
        log.info("shutdown_requested", signal=signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _serve(home: Path, schedules_dir: Path | None, config_dir: Path, *, redis_url: str | None,
           settings: EngineSettings | None, with_worker: bool, dispatchers: int,
           transport: str | None, git_pull_every_s: float | None,
           stop: threading.Event | None, on_start: "Callable[[Running], None] | None" = None,
           images_from: Path | None = None, default_transport: str | None = None) -> int:
    home = Path(home)
    stop = stop or threading.Event()
    _install_signals(stop)
    settings = settings or settings_from_config(config_dir)
    client, embedded = connect(home, redis_url)
    store = Store(client)
    adapter_for = (adapter_factory(home, config_dir, transport, default_transport)
                   if with_worker else _no_adapter)
    engine = build_engine(
        store, adapter_for, settings, namespace=namespace_for(home), with_worker=with_worker,
        dispatchers=[f"dispatcher-{os.getpid()}-{i}" for i in range(dispatchers)],
        network_policy=live_network_policy(config_dir, settings.network),
        images_root=_images_root(schedules_dir or images_from),
        quiet_gate_for=lambda name: QuietGate(store, config_dir, by=name))
    engine.start(stop)
    sync = None
    if schedules_dir is not None:
        sync = threading.Thread(
            target=run_sync_loop, args=(store, Path(schedules_dir), Path(config_dir), stop),
            kwargs={"git_pull_every_s": git_pull_every_s}, name="sync", daemon=True)
        sync.start()
    log.info("service_started", home=str(home), worker=with_worker, dispatchers=dispatchers,
             embedded_redis=embedded is not None)
    if on_start is not None:  # the CLI's post printer, the demo's steps: must not block
        on_start(Running(home, store, stop, embedded))
    stop.wait()
    if sync is not None:
        sync.join(timeout=10)
    engine.close()  # dispatchers end, in-flight attempts finish and record
    if embedded is not None:
        embedded.stop()
    log.info("service_stopped")
    return 0


def _no_adapter(job: Job):
    raise RuntimeError("this process only dispatches")


def _images_root(schedules_dir: Path | None) -> str | None:
    """The calendar repository the worker sends local images from: the git checkout holding
    ``schedules_dir``, else that folder (``worker.calendar_root``); None without one, and then
    no local image is sent."""
    from worker.calendar_root import repository_root

    return str(repository_root(schedules_dir, schedules_dir)) if schedules_dir is not None else None


def run(home: Path, schedules_dir: Path, config_dir: Path, *, redis_url: str | None = None,
        settings: EngineSettings | None = None, dispatchers: int = 1, transport: str | None = None,
        git_pull_every_s: float | None = None, stop: threading.Event | None = None,
        on_start: "Callable[[Running], None] | None" = None,
        default_transport: str | None = None) -> int:
    """Everything in one process. Returns the exit code (0 after a clean shutdown).
    ``on_start`` is called once everything runs (set ``running.stop`` to end the service).
    ``redis_url``: None runs the embedded server of ``home``; ``transport`` forces one on
    every account, ``default_transport`` is the deployment's default (``worker.settings``)."""
    return _serve(home, schedules_dir, config_dir, redis_url=redis_url, settings=settings,
                  with_worker=True, dispatchers=dispatchers, transport=transport,
                  git_pull_every_s=git_pull_every_s, stop=stop, on_start=on_start,
                  default_transport=default_transport)


def run_worker(home: Path, config_dir: Path, *, redis_url: str | None = None,
               settings: EngineSettings | None = None, transport: str | None = None,
               stop: threading.Event | None = None, schedules_dir: Path | None = None,
               default_transport: str | None = None) -> int:
    """Only the dramatiq worker (publish and lookup actors). ``schedules_dir``: where the
    calendars live (not synced here): local images are sent only from inside its repository."""
    return _serve(home, None, config_dir, redis_url=redis_url, settings=settings, with_worker=True,
                  dispatchers=0, transport=transport, git_pull_every_s=None, stop=stop,
                  images_from=schedules_dir, default_transport=default_transport)


def run_dispatcher(home: Path, config_dir: Path, schedules_dir: Path | None = None, *,
                   redis_url: str | None = None, settings: EngineSettings | None = None,
                   dispatchers: int = 1, git_pull_every_s: float | None = None,
                   stop: threading.Event | None = None) -> int:
    """Only dispatcher(s) and reaper, plus the sync loop when ``schedules_dir`` is given."""
    return _serve(home, schedules_dir, config_dir, redis_url=redis_url, settings=settings,
                  with_worker=False, dispatchers=dispatchers, transport=None,
                  git_pull_every_s=git_pull_every_s, stop=stop)
