"""``pregonero demo``: the real service on a throwaway calendar, in well under a minute.

It writes a calendar whose instants are relative to now (first post ~5 s away, the last
~21 s), two languages (es + ca), five networks plus the iCalendar feed, and a go-live entry
whose official page is a local ``http.server`` that only goes live two seconds after the
entry's instant, answering 200 "En construcción" until then (so the demo shows the go-live
hold on the calendar's check_contains). Then it runs ``worker.engine.service.run`` --
embedded Redis under a fresh demo home, the outbox transport, sync, dispatcher, worker -- and
walks through ``steps``; when they are done it stops the service, prints every post (due, at,
lateness, account, language, text), then what a citizen sees on each network (the outbox
replayed: posts, edits, replies; the agenda), and exits 0 if every planned post went out
exactly once and never early.

Extending the demo: add a ``Step`` (a title and a function of the ``DemoContext``, which holds
the running service). ``correction_steps`` is where the correction path shows "a date changes
and every post is corrected"; ``DemoContext.write_calendar`` rewrites the calendar with
changed facts (marking entries already due as ``archived``, so the lint's ``in-the-past``
does not reject the file).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import click

from worker.jobs import Job

TZ = "Europe/Madrid"
ACCOUNT = "ayto-demo"
SOCIAL = [f"{p}:{ACCOUNT}" for p in ("x", "facebook", "mastodon", "bluesky", "telegram")]
#: the whole demo must end on its own well under a minute
DEADLINE_S = 50.0
#: seconds after the go-live entry's instant when the official page goes live
GOLIVE_DELAY_S = 2.0


#: what the official page shows once the procedure is open (the go-live entry's check_contains)
OPEN_TEXT = "solicitudes abiertas"


class OfficialPage:
    """The go-live entry's official page. Like many real ones, it answers 200 with a
    placeholder long before the form is open: only the expected text releases the post."""

    def __init__(self):
        page = self
        self.live = False

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (f"Ayudas de demostración: {OPEN_TEXT}" if page.live
                        else "En construcción. Próximamente.").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # the demo prints its own story
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tramite"
        threading.Thread(target=self.server.serve_forever, name="demo-page", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


#: entries of the demo calendar: id -> (seconds after start, accounts, kind, category)
ENTRIES = {
    "anuncio": (5, SOCIAL, "post", "procedure"),
    "sesion": (9, [f"ics:{ACCOUNT}", f"x:{ACCOUNT}"], "event", "event"),
    "ya-abierto": (13, [f"x:{ACCOUNT}", f"mastodon:{ACCOUNT}"], "golive", "procedure"),
    "recordatorio": (17, SOCIAL, "post", "procedure"),
    "ultimo-aviso": (21, [f"telegram:{ACCOUNT}", f"bluesky:{ACCOUNT}"], "post", "procedure"),
}
TEXTS = {
    "anuncio": ("Ayudas de demostración: solicitudes hasta el {{ plazo_fin }}.",
                "Ajudes de demostració: sol·licituds fins al {{ plazo_fin }}."),
    "sesion": ("Sesión informativa el {{ sesion | weekday }} {{ sesion | day_month }} a las "
               "{{ sesion | time }} h, Casa de Cultura.",
               "Sessió informativa el {{ sesion | weekday }} {{ sesion | day_month }} a les "
               "{{ sesion | time }} h, Casa de Cultura."),
    "ya-abierto": ("Ya puedes presentar tu solicitud en la sede electrónica. Tienes hasta el "
                   "{{ plazo_fin | long }}.",
                   "Ja pots presentar la teua sol·licitud en la seu electrònica. Tens fins al "
                   "{{ plazo_fin | long }}."),
    "recordatorio": ("Recuerda: el plazo de las ayudas de demostración termina el "
                     "{{ plazo_fin | weekday }} {{ plazo_fin | day_month }}.",
                     "Recorda: el termini de les ajudes de demostració acaba el "
                     "{{ plazo_fin | weekday }} {{ plazo_fin | day_month }}."),
    "ultimo-aviso": ("Quedan pocos días: solicitudes hasta el {{ plazo_fin | day_month }}.",
                     "Queden pocs dies: sol·licituds fins al {{ plazo_fin | day_month }}."),
}

CONFIG = {
    "departments.yaml": "departments:\n  demo:\n    name: \"Ajuntament de Demo\"\n",
    "accounts.yaml": "accounts:\n" + "".join(
        f"  {ref}: {{handle: {ACCOUNT}, department: demo, languages: [es, ca]"
        + (", options: {instance: \"https://mastodon.example\", text_limit: 500}"
           if ref.startswith("mastodon") else "") + ", transport: outbox}\n"
        for ref in [*SOCIAL, f"ics:{ACCOUNT}"]),
    # the demo's official page is a server on this machine: allow-listed, as an operator
    # allow-lists an intranet page (the go-live check refuses loopback otherwise)
    "policies.yaml": "golive:\n  recheck_s: 5\n  window_s: 120\n  timeout_s: 2\n"
                     "network:\n  allow_hosts: [127.0.0.1]\n",
}


@dataclasses.dataclass
class DemoContext:
    """Everything a step needs: paths, the start instant, the page, the running service."""

    root: Path
    t0: dt.datetime
    page: OfficialPage
    say: Callable[[str], None]
    facts: dict = dataclasses.field(default_factory=dict)
    running: object | None = None          # worker.engine.service.Running, once started
    planned: list[Job] = dataclasses.field(default_factory=list)

    @property
    def schedules_dir(self) -> Path:
        return self.root / "schedules"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def calendar_path(self) -> Path:
        return self.schedules_dir / "demo.yaml"

    @property
    def outbox_path(self) -> Path:
        return self.home / "outbox.jsonl"

    def at(self, offset_s: float) -> dt.datetime:
        return self.t0 + dt.timedelta(seconds=offset_s)

    def stopped(self) -> bool:
        return self.running is not None and self.running.stop.is_set()

    def wait_until(self, instant: dt.datetime) -> bool:
        """Sleep until ``instant``; False if the service was stopped meanwhile."""
        remaining = (instant - dt.datetime.now(dt.timezone.utc)).total_seconds()
        return not self.running.stop.wait(max(0.0, remaining))

    def wait_for(self, condition: Callable[[], object], timeout_s: float, every_s: float = 0.1):
        """Poll ``condition`` until truthy (returned); None on timeout or stop."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stopped():
            value = condition()
            if value:
                return value
            time.sleep(every_s)
        return None

    def write_calendar(self, **fact_changes) -> None:
        """(Re)write the calendar; facts changed by keyword (``plazo_fin="2027-01-31"``).
        Entries already due are marked ``archived`` so the file still lints."""
        self.facts.update(fact_changes)
        now = dt.datetime.now(dt.timezone.utc)
        tmp = self.calendar_path.with_suffix(".tmp")
        tmp.write_text(calendar_yaml(self, archived={e for e, (s, *_ ) in ENTRIES.items()
                                                     if self.at(s) <= now + dt.timedelta(seconds=1)}),
                       encoding="utf-8")
        os.replace(tmp, self.calendar_path)  # the watcher never sees half a file


def calendar_yaml(ctx: DemoContext, archived: set[str] = frozenset()) -> str:
    zone = ZoneInfo(TZ)
    local = lambda offset: ctx.at(offset).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    f = ctx.facts
    lines = [
        "# pregonero demo: a throwaway calendar, instants relative to when the demo started",
        "calendar:",
        "  id: demo-ayudas",
        '  title: {es: "Ayudas de demostración", ca: "Ajudes de demostració"}',
        "  department: demo",
        f"  timezone: {TZ}",
        "  languages: [es, ca]",
        "  holidays: {region: ES-VC}",
        f'  sources: ["{ctx.page.url}"]',
        "facts:",
        f'  plazo_fin: {{date: {f["plazo_fin"]}, label: {{es: "el último día", ca: "l\'últim dia"}}}}',
        f'  sesion: {{datetime: "{f["sesion"]}", label: {{es: "la sesión informativa", '
        'ca: "la sessió informativa"}}',
        f'  sesion_fin: {{datetime: "{f["sesion_fin"]}"}}',
        "entries:",
    ]
    for entry, (offset, accounts, kind, category) in ENTRIES.items():
        es, ca = TEXTS[entry]
        lines += [f"  - id: {entry}", f"    kind: {kind}", f"    category: {category}",
                  f'    at: "{local(offset)}"', f"    accounts: [{', '.join(accounts)}]",
                  "    text:", f"      es: {json.dumps(es, ensure_ascii=False)}",
                  f"      ca: {json.dumps(ca, ensure_ascii=False)}"]
        if kind == "golive":
            lines += [f'    check_url: "{ctx.page.url}"', f'    check_contains: "{OPEN_TEXT}"']
        if kind == "event":
            lines += ["    event:", "      start: sesion", "      end: sesion_fin",
                      '      title: {es: "Sesión informativa", ca: "Sessió informativa"}',
                      '      place: {es: "Casa de Cultura", ca: "Casa de Cultura"}']
        if entry in archived:
            lines.append("    archived: true")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing the demo does (or waits for) while the service runs."""

    title: str
    run: Callable[[DemoContext], bool]   # False: the demo failed


def _synced(ctx: DemoContext) -> bool:
    status = ctx.wait_for(ctx.running.store.sync_status, 10)
    if not status:
        return False
    if status.get("load_errors"):
        ctx.say(f"  the demo calendar failed to load: {status['load_errors']}")
        return False
    ctx.say(f"  {status['counts'].get('adds', 0)} posts scheduled from {ctx.calendar_path}")
    return True


def _page_goes_live(ctx: DemoContext) -> bool:
    if not ctx.wait_until(ctx.at(ENTRIES["ya-abierto"][0] + GOLIVE_DELAY_S)):
        return False
    ctx.page.live = True
    ctx.say(f"  {ctx.page.url} now shows «{OPEN_TEXT}» (it answered 200 \"En construcción\" "
            "until now): the held go-live posts may go out")
    return True


def _all_published(ctx: DemoContext) -> bool:
    from worker.engine.states import POSTED

    store = ctx.running.store
    remaining = max(1.0, DEADLINE_S - (dt.datetime.now(dt.timezone.utc) - ctx.t0).total_seconds())
    return bool(ctx.wait_for(lambda: all(store.state(j.id) in POSTED for j in ctx.planned),
                             remaining))


def _date_changes(ctx: DemoContext) -> bool:
    """The deadline moves a week: every published post that quoted it is corrected on its
    platform (edited with a note where it can be, answered where it cannot), once."""
    from worker.engine.states import CORRECTING, NEEDS_CORRECTION

    store = ctx.running.store
    old = ctx.facts["plazo_fin"]
    new = (dt.date.fromisoformat(old) + dt.timedelta(days=7)).isoformat()
    ctx.say(f"  plazo_fin {old} -> {new}: the calendar file changes (as a commit would)")
    # keep the calendar as first written (with its time), for whoever checks the run
    first = ctx.root / "first"
    first.mkdir(exist_ok=True)
    shutil.copy2(ctx.calendar_path, first / ctx.calendar_path.name)
    ctx.write_calendar(plazo_fin=new)

    def corrected():
        summaries = store.summaries().values()
        fixes = [s for s in summaries if s.of]
        busy = [s for s in summaries if s.state in (NEEDS_CORRECTION, CORRECTING)]
        return fixes if fixes and not busy and all(s.state == "published" for s in fixes) else None

    remaining = max(3.0, DEADLINE_S + 8 - (dt.datetime.now(dt.timezone.utc) - ctx.t0).total_seconds())
    fixes = ctx.wait_for(corrected, remaining)
    if not fixes:
        ctx.say("  the corrections did not all go out in time")
        return False
    records = {}
    if ctx.outbox_path.exists():
        for raw in ctx.outbox_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if "#c" in record.get("job_id", ""):
                records[record["job_id"]] = record
    for job_id in sorted(records):
        record = records[job_id]
        text = " ".join(record["text"].split())
        ctx.say(f"  {record['action']:<8} {record['account']:<20} {record['language']:<6} "
                f"{text[:90] + ('…' if len(text) > 90 else '')}")
    ctx.say(f"  {len(fixes)} corrections sent, each once; `pregonero history demo-ayudas` "
            "shows every version")
    return len(records) == len(fixes)


def correction_steps(ctx: DemoContext) -> list[Step]:
    """The correction path: "a date changes and every post is corrected"."""
    return [Step("a date changes and every post is corrected", _date_changes)]


def steps(ctx: DemoContext) -> list[Step]:
    """The demo's story, in order. Append here to show more."""
    return [Step("the service syncs the demo calendar", _synced),
            Step(f"the official page goes live {GOLIVE_DELAY_S:g} s after the go-live instant",
                 _page_goes_live),
            Step("every planned post is published", _all_published),
            *correction_steps(ctx)]


def _drive(ctx: DemoContext, outcome: dict) -> None:
    try:
        for step in steps(ctx):
            ctx.say(f"▸ {step.title}")
            if not step.run(ctx):
                outcome["failed"] = step.title
                return
    except Exception as exc:  # the demo must end and say why, not hang
        outcome["failed"] = f"{type(exc).__name__}: {exc}"
    finally:
        ctx.running.stop.set()


def demo_root() -> Path:
    """``$PREGONERO_HOME/demo/<time>`` when PREGONERO_HOME is set, else a fresh temp dir."""
    if os.environ.get("PREGONERO_HOME"):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        root = Path(os.environ["PREGONERO_HOME"]).absolute() / "demo" / stamp
        root.mkdir(parents=True)
        return root
    return Path(tempfile.mkdtemp(prefix="pregonero-demo-"))


def prepare(root: Path, page: OfficialPage, say: Callable[[str], None]) -> DemoContext:
    """Write config and calendar under ``root``; return the context with the planned jobs."""
    from worker.plan import all_jobs, compile_directory

    ctx = DemoContext(root, dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
                      + dt.timedelta(seconds=1), page, say)
    today = dt.datetime.now(ZoneInfo(TZ)).date()
    session = today + dt.timedelta(days=3)
    ctx.facts = {"plazo_fin": (today + dt.timedelta(days=20)).isoformat(),
                 "sesion": f"{session} 18:00", "sesion_fin": f"{session} 19:30"}
    ctx.config_dir.mkdir(parents=True, exist_ok=True)
    ctx.schedules_dir.mkdir(parents=True, exist_ok=True)
    for name, text in CONFIG.items():
        (ctx.config_dir / name).write_text(text, encoding="utf-8")
    ctx.write_calendar()
    plans = compile_directory(ctx.schedules_dir, ctx.config_dir, dt.datetime.now(dt.timezone.utc))
    broken = [f.format() for p in plans for f in p.findings if f.severity == "error"]
    if broken:
        raise RuntimeError("the demo calendar does not compile:\n" + "\n".join(broken))
    ctx.planned = all_jobs(plans)
    # what the demo set out to publish, for whoever checks the outbox afterwards (tests too):
    # the calendar itself changes during the demo (archived entries, corrected facts)
    (root / "planned.json").write_text(json.dumps(
        [{"job_id": j.id, "due_utc": j.due_utc.isoformat(), "account": j.account,
          "platform": j.platform, "language": j.language, "kind": j.kind} for j in ctx.planned],
        ensure_ascii=False, indent=1), encoding="utf-8")
    return ctx


def run_demo(say: Callable[[str], None] = click.echo) -> int:
    """Run the whole demo; returns the exit code."""
    from worker.engine import service
    from worker.engine.publisher import EngineSettings
    from worker.ops.feed import follow
    from worker.logging_setup import configure_logging

    configure_logging(level=os.environ.get("PREGONERO_LOG_LEVEL", "WARNING"))
    page = OfficialPage()
    try:
        ctx = prepare(demo_root(), page, say)
        say(f"pregonero demo: {len(ctx.planned)} posts between {_hms(ctx.at(5))} and "
            f"{_hms(ctx.at(max(e[0] for e in ENTRIES.values())))} ({TZ})")
        say(f"calendar: {ctx.calendar_path}")
        outcome: dict = {}

        def started(running) -> None:
            ctx.running = running
            follow(running.store, running.stop, 0, echo=lambda line: say(f"  {line}"))
            threading.Thread(target=_drive, args=(ctx, outcome), name="demo", daemon=True).start()

        settings = EngineSettings(golive_interval_s=1.0, golive_window_s=60.0, golive_timeout_s=2.0)
        # the demo never touches a real deployment: its own embedded Redis (no redis_url,
        # whatever $REDIS_URL says), the outbox only
        service.run(ctx.home, ctx.schedules_dir, ctx.config_dir, settings=settings,
                    redis_url=None, transport="outbox", on_start=started)
    finally:
        page.close()
    return report(ctx, outcome, say)


def _hms(moment: dt.datetime) -> str:
    return moment.astimezone(ZoneInfo(TZ)).strftime("%H:%M:%S")


def report(ctx: DemoContext, outcome: dict, say: Callable[[str], None]) -> int:
    """Print every post from the outbox and check: each planned post once, none early."""
    records = []
    if ctx.outbox_path.exists():
        for raw in ctx.outbox_path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(raw))
            except ValueError:
                continue
    posts = [r for r in records if r.get("action") == "publish"]
    say("")
    say(f"{'due':<12} {'at':<12} {'late ms':>7}  {'account':<20} {'lang':<5} text")
    early = []
    for post in sorted(posts, key=lambda r: (r["at"], r["job_id"])):
        due, at = dt.datetime.fromisoformat(post["due"]), dt.datetime.fromisoformat(post["at"])
        late_ms = int((at - due).total_seconds() * 1000)
        if late_ms < 0:
            early.append(post["job_id"])
        text = " ".join(post["text"].split())
        say(f"{_hms(due) + '.000':<12} {at.astimezone(ZoneInfo(TZ)).strftime('%H:%M:%S.%f')[:12]:<12} "
            f"{late_ms:>7}  {post['account']:<20} {post['language']:<5} "
            f"{text[:60] + ('…' if len(text) > 60 else '')}")
    counts: dict[str, int] = {}
    for post in posts:
        counts[post["job_id"]] = counts.get(post["job_id"], 0) + 1
    planned = {j.id for j in ctx.planned}
    missing = sorted(planned - set(counts))
    duplicates = sorted(job_id for job_id, n in counts.items() if n > 1)
    say("")
    say(f"{len(planned)} planned, {len(set(counts) & planned)} published, "
        f"{len(duplicates)} duplicated, {len(missing)} missing, {len(early)} early")
    say("")
    say("What citizens see now, network by network (the outbox replayed; the agenda as a "
        "subscriber's app reads it):")
    from worker.ops.citizen_view import fold, outbox_events, render

    for line in render(fold(records), outbox_events(records)):
        say(f"  {line}")
    say("")
    say(f"outbox: {ctx.outbox_path}")
    say(f"demo files (calendar, config, state): {ctx.root}")
    ok = not (outcome.get("failed") or missing or duplicates or early)
    if outcome.get("failed"):
        say(f"the demo did not finish: {outcome['failed']}")
    return 0 if ok else 1
