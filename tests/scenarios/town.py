"""A town hall's deployment under test: its calendars, its config, its accounts on every
network (the platform twins), and the real engine running over them.

``Town`` runs ``worker.engine.service.run`` (sync loop watching the files, dispatcher, dramatiq
worker, the adapter pool building the live adapters from ``config/``) against a redis-server
the test started, with every platform's HTTP answered by its twin. Editors change calendar
files (and commit them, in a git checkout); on-call staff run the real CLI (``pregonero
correct``, ``retract``, ``pause``, ``resume``) through click. What the story asserts is
``view()``: what a citizen sees on each account now, and the events in a subscriber's agenda.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

import yaml
from click.testing import CliRunner

from tests.enginekit import wait_for
from tests.twins.base import Http, SeenPost, TwinClock
from tests.twins.ics import FeedSubscriber
from worker.engine.publisher import EngineSettings
from worker.engine.store import Store

TZ = ZoneInfo("Europe/Madrid")
ROOT = Path(__file__).resolve().parents[2]
TOWN = "villa"
DEPARTMENT = "comunicacion"
#: the host of the town's official pages (tests.twins.official_page answers for it)
OFFICIAL_HOST = f"sede.{TOWN}.example"

#: engine timings for stories: the service's own code, with seconds instead of minutes
STORY_SETTINGS = dict(lead_ms=200, worker_threads=4, worker_timeout_ms=50, lease_ms=3000,
                      heartbeat_s=0.5, dispatch_lease_ms=5000, lookup_delay_ms=300,
                      uncertain_recheck_ms=500, reap_every_s=0.1, backoff_s=(0.3, 0.3),
                      rate_limit_jitter_s=0.05, golive_interval_s=0.3, golive_window_s=60.0,
                      golive_timeout_s=2.0)

#: states in which something is still on its way to a platform
BUSY = {"needs_correction", "orphaned", "correcting", "dispatched", "publishing", "uncertain"}


#: platform -> the twin class that stands in for it (module of tests.twins, class name)
TWINS = {"x": ("x", "XTwin"), "facebook": ("facebook", "FacebookTwin"),
         "instagram": ("instagram", "InstagramTwin"), "linkedin": ("linkedin", "LinkedInTwin"),
         "mastodon": ("mastodon", "MastodonTwin"), "bluesky": ("bluesky", "BlueskyTwin"),
         "telegram": ("telegram", "TelegramTwin")}


def twin_class(platform: str):
    import importlib

    module, name = TWINS[platform]
    return getattr(importlib.import_module(f"tests.twins.{module}"), name)


def account_of(platform: str) -> str:
    return f"{platform}:ayto-{TOWN}" if platform != "ics" else f"ics:agenda-{TOWN}"


def local(moment: dt.datetime) -> str:
    """An instant as an editor writes it in the calendar (Madrid time, to the second)."""
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


def in_seconds(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


@dataclasses.dataclass
class Town:
    root: Path
    redis_url: str
    http: Http
    platforms: tuple[str, ...]
    git: bool = True
    twin_options: Mapping[str, Mapping] = dataclasses.field(default_factory=dict)
    clock: TwinClock = dataclasses.field(default_factory=TwinClock)
    retraction: str = "delete"
    #: how credentials reach the adapters: the test's monkeypatch.setenv
    setenv: Callable[[str, str], None] = os.environ.__setitem__

    def __post_init__(self) -> None:
        self.schedules = self.root / "schedules"
        self.config = self.root / "config"
        self.home = self.root / "home"
        for folder in (self.schedules, self.config, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        self.twins = {p: twin_class(p)(self.clock, **dict(self.twin_options.get(p, {})))
                      for p in self.platforms if p != "ics"}
        for twin in self.twins.values():
            twin.install(self.http)
        self._write_config()
        if self.git:
            self._git("init", "-q")
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.subscriber = FeedSubscriber(self.home / "ics" / "all.ics")

    # --- deployment ---------------------------------------------------------------------------

    @property
    def accounts(self) -> list[str]:
        return [account_of(p) for p in self.platforms]

    def _write_config(self) -> None:
        accounts = {}
        for platform in self.platforms:
            ref = account_of(platform)
            if platform == "ics":
                entry = {"handle": f"agenda-{TOWN}", "department": DEPARTMENT}
            else:
                self.twins[platform].add_account(ref)  # idempotent
                entry = dict(self.twins[platform].account_entry(ref, DEPARTMENT))
            accounts[ref] = {**entry, "transport": "live"}
        (self.config / "accounts.yaml").write_text(
            yaml.safe_dump({"accounts": accounts}, allow_unicode=True, sort_keys=True))
        (self.config / "departments.yaml").write_text(yaml.safe_dump(
            {"departments": {DEPARTMENT: {"name": "Gabinete de Comunicación"}}}))
        # the town's electronic office, as its operator allow-lists it: the twins answer
        # for it without DNS, and an allow-listed host is not resolved
        (self.config / "policies.yaml").write_text(yaml.safe_dump(
            {"retraction": {"default": self.retraction},
             "network": {"allow_hosts": [OFFICIAL_HOST]}}))
        for twin in self.twins.values():
            for name, value in twin.env().items():
                self.setenv(name, value)

    def _git(self, *args: str) -> None:
        subprocess.run(["git", "-C", str(self.schedules), "-c", "user.email=editor@villa.example",
                        "-c", "user.name=Editora", *args], check=True, capture_output=True)

    # --- editors ------------------------------------------------------------------------------

    def write(self, name: str, text: str, *, commit: str | None = None) -> Path:
        """An editor saves a calendar (and commits it, in a git checkout)."""
        path = self.schedules / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if self.git and commit:
            self._git("add", "-A")
            self._git("commit", "-qm", commit)
        return path

    def read(self, name: str) -> str:
        return (self.schedules / name).read_text(encoding="utf-8")

    def wait_synced(self, since: dt.datetime, timeout_s: float = 20) -> dict:
        """The first sync that started after ``since`` (an editor's save), once applied."""
        def synced():
            status = self.store.sync_status()
            return status if status and dt.datetime.fromisoformat(status["at"]) > since else None

        return wait_for(synced, timeout_s, what="a sync after the change")

    # --- the engine ---------------------------------------------------------------------------

    def start(self) -> "Town":
        from worker.engine import service

        self._stop = threading.Event()
        settings = EngineSettings(**STORY_SETTINGS)
        self._thread = threading.Thread(
            target=service.run, args=(self.home, self.schedules, self.config),
            kwargs={"redis_url": self.redis_url, "settings": settings, "stop": self._stop},
            name="town-engine", daemon=True)
        self._thread.start()
        import redis

        self.store = Store(redis.Redis.from_url(self.redis_url))
        wait_for(self.store.sync_status, 20, what="the engine's first sync")
        return self

    # --- the engine in a process of its own (stories that kill it) ---------------------------

    def start_process(self, freeze: tuple[str, str] | None = None) -> "Town":
        """Run the engine in a child process (``tests.scenarios.node``) with the twins inside
        it, persisted after every request. ``freeze``: (method, URL regex) of the request
        after which the child stops dead, so that ``kill()`` lands mid-call."""
        import json
        import sys

        from tests.scenarios.node import save_twins

        self.state_dir = self.root / "node"
        self.state_dir.mkdir(exist_ok=True)
        (self.state_dir / "frozen").unlink(missing_ok=True)
        save_twins(self.state_dir, self.twins)
        env = {name: value for twin in self.twins.values() for name, value in twin.env().items()}
        (self.state_dir / "spec.json").write_text(json.dumps({
            "home": str(self.home), "schedules": str(self.schedules), "config": str(self.config),
            "redis_url": self.redis_url, "settings": STORY_SETTINGS, "env": env,
            "freeze": list(freeze) if freeze else None}))
        child_env = {k: v for k, v in os.environ.items()
                     if k not in ("REDIS_URL", "PREGONERO_TRANSPORT")}
        self._log = open(self.root / f"node-{len(list(self.root.glob('node-*.log')))}.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.scenarios.node",
                                         str(self.state_dir)], env=child_env, cwd=ROOT,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        if not hasattr(self, "store"):
            import redis

            self.store = Store(redis.Redis.from_url(self.redis_url))
        wait_for(lambda: self.store.sync_status() or self.process.poll() is not None, 30,
                 what="the engine process's first sync")
        assert self.process.poll() is None, (self.root / "node-0.log").read_text()[-3000:]
        return self

    def wait_frozen(self, timeout_s: float = 40) -> str:
        """The URL of the request the platform answered just before the process froze."""
        marker = self.state_dir / "frozen"
        wait_for(marker.exists, timeout_s, what="the engine frozen mid-call")
        return marker.read_text()

    def kill(self) -> None:
        """SIGKILL the engine process: no goodbye, no outcome recorded."""
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()
        self._reload_twins()

    def stop_process(self) -> None:
        if getattr(self, "process", None) is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._log.close()

    def _reload_twins(self) -> None:
        from tests.scenarios.node import load_twins

        self.twins = load_twins(self.state_dir)

    def stop(self) -> None:
        self.stop_process()
        if self._stop is not None:
            self._stop.set()
            self.store.wake()
            self._thread.join(timeout=30)
            self._stop = None

    def settle(self, timeout_s: float = 40) -> None:
        """Everything due has gone out, every correction is done: what citizens see now is
        what they will keep seeing."""
        def unsettled() -> list[str]:
            now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
            return [f"{job_id} {summary.state} {summary.reason or ''}".strip()
                    for job_id, summary in self.store.summaries().items()
                    # a go-live waiting for its page (re-checked by turns) is a steady state
                    if summary.reason != "golive_waiting"
                    and (summary.state in BUSY
                         or (summary.state == "scheduled" and summary.due_ms <= now_ms + 500))]

        for turn in ("", " (twice)"):
            try:
                wait_for(lambda: not unsettled(), timeout_s, every_s=0.1,
                         what=f"the town settled{turn}")
            except AssertionError as timeout:
                raise AssertionError(f"{timeout}; still on their way: {unsettled()}"
                                     f"{self._story_of_unsettled()}{self._engine_log_tail()}"
                                     ) from None
        # networks whose public view trails their writes (Bluesky's AppView): a citizen sees
        # the last writes once that lag has passed
        lag_s = max((getattr(t, "appview_lag_s", 0.0) for t in self.twins.values()), default=0)
        if lag_s:
            time.sleep(lag_s + 0.1)

    def _story_of_unsettled(self) -> str:
        """What the store says about each job still on its way and its corrections: the
        audit lines a person would read to see where it stopped."""
        lines = []
        for job_id, summary in sorted(self.store.summaries().items()):
            if summary.state not in BUSY:
                continue
            stored = self.store.get(job_id)
            children = [c for c in (stored.fields.get("cj", "") if stored else "").split(",") if c]
            for one in (job_id, *children):
                lines.append(f"{one}: {self.store.state(one)}")
                lines += [f"    {a['from']} -> {a['to']} by {a['by']}: {a['why']}"
                          for a in self.store.audit(one)]
        return "\n" + "\n".join(lines) if lines else ""

    def _engine_log_tail(self, chars: int = 4000) -> str:
        """The end of the engine process's latest log, for a story that failed."""
        logs = sorted(self.root.glob("node-*.log"))
        return f"\nengine log ({logs[-1].name}):\n{logs[-1].read_text()[-chars:]}" if logs else ""

    # --- on-call ------------------------------------------------------------------------------

    def cli(self, *args: str, input: str | None = None):
        from worker.cli.main import cli

        env = {"REDIS_URL": self.redis_url, "PREGONERO_HOME": str(self.home),
               "PREGONERO_SCHEDULES": str(self.schedules), "PREGONERO_CONFIG": str(self.config)}
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    def correct(self, calendar: str, fact: str, value: str, *extra: str):
        result = self.cli("correct", calendar, fact, value, "--reason", "el BOP rectifica",
                          "--by", "guardia-marta", "--yes", *extra)
        assert result.exit_code == 0, result.output
        return result

    def retract(self, calendar: str, entry: str):
        result = self.cli("retract", calendar, entry, "--reason", "convocatoria anulada",
                          "--by", "guardia-marta", "--yes")
        assert result.exit_code == 0, result.output
        return result

    # --- what citizens see --------------------------------------------------------------------

    def view(self) -> dict[str, list[SeenPost]]:
        """Account -> the posts a citizen sees on it now, with the replies under them."""
        if getattr(self, "process", None) is not None:
            self._reload_twins()  # the platforms live in the engine's process
        return {account_of(p): twin.visible(account_of(p)) for p, twin in self.twins.items()}

    def events(self):
        return self.subscriber.visible()

    def published_refs(self) -> dict[str, set[str]]:
        """Account -> the post ids the engine believes are up (published originals)."""
        out: dict[str, set[str]] = {}
        for summary in self.store.summaries().values():
            if summary.state != "published" or summary.of:
                continue
            stored = self.store.get(summary.id)
            if stored.ref is not None:
                out.setdefault(stored.job.account, set()).add(stored.ref.post_id)
        return out


def languages_of(accounts: Iterable[str], languages: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {account: languages for account in accounts}


def render_view(view: Mapping[str, list[SeenPost]], events=()) -> str:
    """The citizen's view as text: each account's posts with the replies under them (for
    failure messages and for a person reading a story's log)."""
    lines = []
    for account, posts in sorted(view.items()):
        lines.append(f"== {account}")
        for post in posts:
            _render_post(post, lines, 1)
    if events:
        lines.append("== agenda (iCalendar feed)")
        for event in events:
            lines.append(f"  {event.start}  {event.summary} @ {event.location} (SEQUENCE "
                         f"{event.sequence})")
            lines.append(f"      {' '.join(event.description.split())}")
    return "\n".join(lines)


def _render_post(post: SeenPost, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    marks = "".join((" [edited]" if post.edited else "",
                     f" [{len(post.media)} image(s)]" if post.media else "",
                     f" [CW: {post.content_warning}]" if post.content_warning else ""))
    lines.append(f"{pad}- {' '.join(post.text.split())}{marks}")
    for reply in post.replies:
        _render_post(reply, lines, depth + 1)
