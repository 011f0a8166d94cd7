"""The views of the people around the service: agenda, rehearse, report, metrics.

``agenda`` and ``report`` read the store when there is one with jobs (``REDIS_URL``, or the
embedded Redis of ``$PREGONERO_HOME`` once ``pregonero run`` has created it) and fall back to
the compiled plan otherwise (``--from-plan`` forces it); ``rehearse`` never touches Redis.
Tables with ``rich`` on a terminal, plain lines otherwise, ``--json`` for machines.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from worker.cli.common import (config_option, default_schedules, home_dir, load_config_or_exit,
                               now_option, now_utc)

DATE = click.DateTime(formats=["%Y-%m-%d"])
schedules_argument = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


def _open_store_if_any():
    """(store, embedded) when a store can be reached without creating one, else (None, None)."""
    import redis

    from worker.engine.redis_server import connect
    from worker.engine.store import Store
    from worker.cli.engine_cmds import redis_url

    if not redis_url() and not (home_dir() / "redis").exists():
        return None, None
    try:
        client, embedded = connect(home_dir(), redis_url())
        client.ping()
    except (redis.RedisError, OSError, RuntimeError) as exc:
        click.echo(f"note: the store is not reachable ({str(exc)[:120]}): showing the plan",
                   err=True)
        return None, None
    return Store(client), embedded


def _stored_jobs(store) -> list[tuple[object, str, str]]:
    """(job, state, reason) of every stored job."""
    from worker.engine.store import job_from_json

    out = []
    for job_id, (state, reason, raw) in store.every_job_values("s", "r", "j"):
        if raw:
            out.append((job_from_json(job_id, raw), state, reason))
    return out


def _compile(paths, config_dir, now):
    from worker.ops.rehearse import compile_for_rehearsal

    config = load_config_or_exit(config_dir)
    compiled = compile_for_rehearsal(list(paths) or [default_schedules()], config, now)
    for path in compiled.failing:
        click.echo(f"{path}: not planned, it has errors (run pregonero lint {path})", err=True)
    return config, compiled


def _plan_states(compiled, config) -> dict[str, tuple[str, str]]:
    """What the engine would do about plan jobs it will not simply send: a reason each."""
    from worker.engine.quiet import covering

    periods = config.quiet_periods if config else ()
    out = {}
    for job in compiled.jobs:
        period = covering(periods, job.due_utc, job.department, job.category)
        if job.id in compiled.flagged:
            out[job.id] = ("", compiled.flagged[job.id])
        elif period is not None:
            out[job.id] = ("", f"quiet_period {period.id}")
    return out


def _is_terminal() -> bool:
    return sys.stdout.isatty()


@click.command()
@schedules_argument
@click.option("--day", "span", flag_value="day", default=True, help="one day [default]")
@click.option("--week", "span", flag_value="week", help="the Monday-to-Sunday week of --date")
@click.option("--date", "on", type=DATE, default=None, help="YYYY-MM-DD [default: today]")
@click.option("--department", metavar="D", help="only this department's posts")
@click.option("--from-plan", is_flag=True, help="read the compiled calendars, not the store")
@click.option("--json", "as_json", is_flag=True, help="print the agenda as JSON")
@config_option
@now_option
def agenda(paths, span, on, department, from_plan, as_json, config_dir, now):
    """What goes out when, where and in which language: the daily route.

    From the store when it has jobs (with their state: held, published...), else from the
    compiled calendars (PATHS, default ./schedules)."""
    from worker.ops.agenda import agenda as build, agenda_json, window

    now = now or now_utc()
    first, last = window(span, on.date() if on else dt.date.today())
    store, embedded = (None, None) if from_plan else _open_store_if_any()
    stored = []
    try:
        if store is not None:
            stored = _stored_jobs(store)
    finally:
        if embedded is not None:
            embedded.stop()
    if stored:
        source = "store"
        jobs = [job for job, _, _ in stored]
        states = {job.id: (state, reason) for job, state, reason in stored}
    else:
        source = "plan"
        config, compiled = _compile(paths, config_dir, now)
        jobs, states = list(compiled.jobs), _plan_states(compiled, config)
    rows = build(jobs, first, last, department=department, states=states)
    if as_json:
        click.echo(json.dumps(agenda_json(rows, first, last, source, department),
                              ensure_ascii=False, indent=2))
        return
    _print_agenda(rows, first, last, source, department)


def _print_agenda(rows, first, last, source, department) -> None:
    from worker.ops.agenda import by_day, one_line

    what = f"{first}" if first == last else f"{first} to {last}"
    head = f"agenda {what} ({source}{', department ' + department if department else ''}): {len(rows)} post(s)"
    if _is_terminal():
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"[bold]{head}[/bold]")
        for day, mine in by_day(rows).items():
            table = Table(title=day, title_justify="left", show_lines=False)
            for column in ("time", "account", "lang", "kind", "state", "entry", "text"):
                table.add_column(column, overflow="fold")
            for r in mine:
                state = " ".join(x for x in (r.state, r.reason) if x)
                table.add_row(f"{r.time} {r.timezone}", r.account, r.language, r.kind, state,
                              f"{r.calendar}/{r.entry}", one_line(r.text, 70))
            console.print(table)
        return
    click.echo(head)
    for day, mine in by_day(rows).items():
        click.echo(f"{day}:")
        for r in mine:
            state = " ".join(x for x in (r.state, r.reason) if x)
            click.echo(f"  {r.time} {r.timezone}  {r.account:<24} {r.language:<5} {r.kind:<6} "
                       f"{state + '  ' if state else ''}{r.calendar}/{r.entry}  {one_line(r.text, 70)}")


@click.command()
@schedules_argument
@click.option("--from", "first", type=DATE, required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "last", type=DATE, required=True, help="last day (inclusive), YYYY-MM-DD")
@click.option("--golive-offline", is_flag=True,
              help="assume official pages never go live (default: live at the go-live instant)")
@click.option("--outbox-dir", type=click.Path(path_type=Path), default=None,
              help="where the rehearsal's outbox.jsonl goes [default: $PREGONERO_HOME/rehearsal]")
@click.option("--json", "as_json", is_flag=True, help="print the rehearsal as JSON")
@config_option
@now_option
def rehearse(paths, first, last, golive_offline, outbox_dir, as_json, config_dir, now):
    """Run the period on a simulated clock, in seconds: every post as it will go out, and
    what will be held (quiet periods, go-live waits, moved deadlines) or fail, and why.

    Posts are written to a rehearsal outbox, never the real one. Exit 1 when a calendar
    does not load or a post would fail."""
    from worker.ops.rehearse import rehearsal_json, simulate, summary

    now = now or now_utc()
    first, last = first.date(), last.date()
    if last < first:
        raise click.UsageError("--to is before --from")
    home = (outbox_dir or home_dir() / "rehearsal").absolute()
    if home.resolve() == home_dir().resolve():
        raise click.UsageError("the rehearsal outbox must not be the real outbox: choose "
                               "another --outbox-dir")
    config, compiled = _compile(paths, config_dir, now)
    events = simulate(compiled, config, first, last, home, golive_offline=golive_offline)
    outbox = home / "outbox.jsonl"
    counts = summary(events)
    if as_json:
        click.echo(json.dumps(rehearsal_json(events, compiled, first, last, now, outbox),
                              ensure_ascii=False, indent=2))
    else:
        _print_rehearsal(events, first, last, outbox, counts)
    raise SystemExit(1 if compiled.failing or counts.get("failed") else 0)


def _print_rehearsal(events, first, last, outbox, counts) -> None:
    from worker.ops.agenda import one_line

    head = (f"rehearsal {first} to {last}: {counts['published']} published, {counts['held']} "
            f"held, {counts['failed']} failed (outbox: {outbox})")
    if _is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=head, title_justify="left")
        for column in ("when (local)", "outcome", "account", "lang", "job", "text / reason"):
            table.add_column(column, overflow="fold")
        style = {"published": "green", "held": "yellow", "failed": "bold red"}
        for e in events:
            table.add_row(e.local, f"[{style[e.outcome]}]{e.outcome}[/]", e.account, e.language,
                          e.job_id, _detail(e, one_line))
        Console().print(table)
        return
    click.echo(head)
    for e in events:
        detail = _detail(e, one_line)
        click.echo(f"{e.local}  {e.outcome:<9} {e.account:<24} {e.language:<5} {e.job_id}  {detail}")


def _detail(event, one_line) -> str:
    """The text of a published post (with any note), the reason of a hold or failure."""
    if event.outcome != "published":
        return event.reason
    return one_line(event.text, 60) + (f"  ({event.reason})" if event.reason else "")


@click.command()
@schedules_argument
@click.option("--html", "out_dir", type=click.Path(path_type=Path), required=True,
              help="directory to write the site to (created)")
@click.option("--from", "first", type=DATE, default=None, help="first day [default: all]")
@click.option("--to", "last", type=DATE, default=None, help="last day (inclusive) [default: all]")
@click.option("--from-plan", is_flag=True, help="the plan only, even if a store is reachable")
@config_option
@now_option
def report(paths, out_dir, first, last, from_plan, config_dir, now):
    """Write a static site: the editorial calendar month by month (per department and
    account) and, for the past, the plan against what was done. Opens offline."""
    from worker.ops.report import build_report_data, read_store, write_site

    now = now or now_utc()
    _config, compiled = _compile(paths, config_dir, now)
    sources = [f"the calendars ({', '.join(map(str, paths or [default_schedules()]))})"]
    notes = [f"{p}: not in the report, it has errors" for p in compiled.failing]
    stored = {}
    store, embedded = (None, None) if from_plan else _open_store_if_any()
    try:
        if store is not None:
            stored = read_store(store)
            sources.append("the store (what was done)")
    finally:
        if embedded is not None:
            embedded.stop()
    if not stored:
        notes.append("No store was read: the balance of past posts shows them as not synced.")
    data = build_report_data(compiled.jobs, stored, now, first.date() if first else None,
                             last.date() if last else None, sources, notes)
    try:
        written = write_site(data, out_dir)
    except OSError as exc:
        click.echo(f"error: cannot write the site to {out_dir}: {exc.strerror or exc}", err=True)
        raise SystemExit(1)
    click.echo(f"wrote {len(written)} page(s) to {Path(out_dir).absolute()}: open "
               f"{written[0].absolute().as_uri()}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=click.IntRange(0, 65535), default=9464, show_default=True,
              help="port (0: any free port)")
@click.option("--max-age", type=click.FloatRange(min=1), default=180.0, show_default=True,
              help="/healthz fails when the last sync or heartbeat is older (seconds)")
def metrics(host, port, max_age):
    """Serve Prometheus metrics (/metrics) and a health check (/healthz) read from the store,
    standalone (`pregonero run` can serve them too)."""
    import signal
    import threading

    from worker.engine.metrics import start_metrics_server
    from worker.cli.engine_cmds import open_store

    store, embedded = open_store()
    server = start_metrics_server(store, host, port, max_age_s=max_age)
    click.echo(f"serving {server.url}/metrics and {server.url}/healthz (Ctrl-C stops)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # process supervisors stop with TERM
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if embedded is not None:
            embedded.stop()


#: registered by worker/cli/main.py
