"""The engine's commands: run, sync, worker, dispatcher, pause, resume, demo.

Exit codes everywhere: 0 done, 1 something failed (a calendar did not load, Redis is not
reachable, the configuration is broken), 2 usage error (click's own).

Redis: ``$REDIS_URL`` when set; otherwise the embedded server of ``$PREGONERO_HOME`` (started
if no process of this home runs it, so ``pregonero sync`` or ``pause`` in another shell reach
the same data as ``pregonero run``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click
import redis

from worker.cli.common import (calendar_files_or_exit, config_option, default_config_dir,
                               default_schedules, home_dir, settings)

schedules_option = click.option("--schedules", "schedules_dir", type=click.Path(path_type=Path),
                                default=None, help="calendars directory [default: ./schedules "
                                "or $PREGONERO_SCHEDULES]")
by_option = click.option("--by", required=True, metavar="NAME",
                         help="who decides (recorded in the audit trail)")


def shown_url(url: str) -> str:
    """A Redis URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def redis_url() -> str | None:
    return settings().redis_url


def open_store():
    """(Store, embedded server or None); exit 1 with a clear message if Redis is unreachable."""
    from worker.engine.redis_server import connect
    from worker.engine.store import Store

    try:
        client, embedded = connect(home_dir(), redis_url())
        client.ping()
    except (redis.RedisError, OSError, RuntimeError) as exc:
        where = shown_url(redis_url()) if redis_url() else f"embedded Redis under {home_dir()}"
        click.echo(f"error: cannot reach {where}: {exc}", err=True)
        raise SystemExit(1)
    return Store(client), embedded


def _check_dirs(schedules_dir: Path | None, config_dir: Path | None) -> tuple[Path | None, Path]:
    config_dir = config_dir or default_config_dir()
    if schedules_dir is not None and not schedules_dir.is_dir():
        raise click.UsageError(f"no calendars directory at {schedules_dir}/ (use --schedules DIR)")
    if schedules_dir is not None:
        calendar_files_or_exit([schedules_dir])  # watching a folder with none is a wrong path
    from worker.config import ConfigError, load_config

    try:
        load_config(config_dir)
    except ConfigError as exc:
        for finding in exc.findings:
            click.echo(finding.format(), err=True)
        raise SystemExit(1)
    return schedules_dir, config_dir


@click.command()
@schedules_option
@config_option
@click.option("--git-pull-interval", type=click.FloatRange(min=1), default=None, metavar="S",
              help="git pull the calendars directory every S seconds (it must be a checkout)")
@click.option("--dispatchers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="dispatcher threads")
@click.option("--metrics-port", type=int, default=lambda: int(os.environ.get(
              "PREGONERO_METRICS_PORT", "9464")), show_default="9464 or $PREGONERO_METRICS_PORT",
              help="serve /metrics and /healthz on 127.0.0.1:PORT (-1: do not serve)")
def run(schedules_dir, config_dir, git_pull_interval, dispatchers, metrics_port):
    """The service: embedded Redis (unless REDIS_URL), sync, dispatcher and worker in one
    process. Prints a line per published post; Ctrl-C or SIGTERM finishes in-flight posts
    and exits 0.

    Environment: PREGONERO_HOME (state, outbox), REDIS_URL, PREGONERO_TRANSPORT (outbox|live).
    """
    from worker.engine import service
    from worker.ops.feed import follow, utc_now_ms

    schedules_dir, config_dir = _check_dirs(schedules_dir or default_schedules(), config_dir)
    home = home_dir()
    since = utc_now_ms()
    _banner(home, schedules_dir, config_dir)

    def started(running) -> None:
        where = shown_url(redis_url()) if redis_url() else f"embedded, data in {home / 'redis'}"
        click.echo(f"redis:     {where}")
        _serve_metrics(running.store, metrics_port, home / "ics")
        threading.Thread(target=_say_whats_next, args=(running.store, running.stop),
                         name="next-post", daemon=True).start()
        click.echo("running: one line per post below; Ctrl-C or SIGTERM stops after in-flight posts")
        follow(running.store, running.stop, since)

    code = service.run(home, schedules_dir, config_dir, redis_url=redis_url(),
                       dispatchers=dispatchers, git_pull_every_s=git_pull_interval,
                       default_transport=settings().transport, on_start=started)
    click.echo("stopped cleanly")
    raise SystemExit(code)


def _say_whats_next(store, stop) -> None:
    """After the first sync, one line saying how much is scheduled and what goes out next, so
    that a service waiting for 2027 does not look like a service doing nothing."""
    from worker.ops.feed import excerpt, local_time

    while not stop.wait(0.5):
        if store.sync_status() is None:
            continue
        counts = store.count_by_state()
        next_ms = store.next_due_ms()
        line = f"scheduled: {counts.get('scheduled', 0)} post(s)"
        if next_ms is not None:
            due = store.due_at(next_ms)
            stored = store.get(due[0]) if due else None
            if stored is not None:
                line += (f"; next at {local_time(stored.job)} on {stored.job.account}: "
                         f"{excerpt(stored.job.text, 50)}")
        click.echo(line)
        return


def _serve_metrics(store, port: int, feeds_dir: Path) -> None:
    """Prometheus /metrics and /healthz on 127.0.0.1; a busy port is a note, not a failure:
    publishing matters more than being scraped."""
    if port < 0:
        return
    from worker.engine.metrics import start_metrics_server

    try:
        server = start_metrics_server(store, port=port, feeds_dir=feeds_dir)
    except OSError as exc:
        click.echo(f"metrics:   not served ({exc.strerror}: port {port}); use --metrics-port")
        return
    click.echo(f"metrics:   {server.url}/metrics and {server.url}/healthz; "
               f"calendar feeds: {server.url}/ics/all.ics")


def _banner(home: Path, schedules_dir: Path | None, config_dir: Path) -> None:
    transport = settings().transport or "outbox"
    click.echo(f"pregonero: home {home}")
    if schedules_dir is not None:
        click.echo(f"calendars: {schedules_dir.absolute()}   config: {config_dir.absolute()}")
    click.echo(f"transport: {transport} (accounts may set their own)   "
               f"outbox: {home / 'outbox.jsonl'}")


@click.command()
@schedules_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="print the sync report as JSON")
def sync(schedules_dir, config_dir, as_json):
    """Sync once: compile the calendars, diff against the store, apply, print what changed.

    A calendar that fails to load keeps its last good version scheduled; it is listed with its
    findings and the exit code is 1.
    """
    import json

    from worker.engine.sync import sync_once

    schedules_dir, config_dir = _check_dirs(schedules_dir or default_schedules(), config_dir)
    store, embedded = open_store()
    try:
        report = sync_once(store, schedules_dir, config_dir, by=f"sync-cli:{os.getenv('USER', '?')}")
    finally:
        if embedded is not None:
            embedded.stop()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()) if v) or "no changes"
        click.echo(f"synced {schedules_dir}: {counts} ({report.duration_ms} ms)")
        if report.conflicts:
            click.echo(f"{len(report.conflicts)} change(s) raced with a worker: the next sync "
                       "retries them")
        for path, findings in sorted(report.load_errors.items()):
            click.echo(f"{path}: failed to load; its last good version stays scheduled")
            for finding in findings:
                click.echo(f"  {finding}")
        if report.refused:
            click.echo(f"refused: {report.refused}")
    raise SystemExit(1 if report.load_errors or report.refused else 0)


@click.command()
@schedules_option
@config_option
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="worker threads [default: 8]")
def worker(schedules_dir, config_dir, threads):
    """Only the publish worker (dramatiq), to scale out against a shared REDIS_URL.

    Every process of one deployment must use the same PREGONERO_HOME path: it names the queue.
    The worker syncs nothing, but sends local images only from inside the calendars'
    repository (--schedules, as the dispatcher's).
    """
    import dataclasses

    from worker.engine import service

    _, config_dir = _check_dirs(None, config_dir)
    schedules_dir = schedules_dir or default_schedules()
    if not schedules_dir.is_dir():
        click.echo(f"note: no calendars directory at {schedules_dir}/: no local image can be "
                   "sent (use --schedules DIR)", err=True)
    _warn_without_redis_url("worker")
    engine_settings = service.settings_from_config(config_dir)
    if threads:
        engine_settings = dataclasses.replace(engine_settings, worker_threads=threads)
    raise SystemExit(service.run_worker(home_dir(), config_dir, redis_url=redis_url(),
                                        settings=engine_settings, schedules_dir=schedules_dir,
                                        default_transport=settings().transport))


@click.command()
@schedules_option
@config_option
@click.option("--no-sync", is_flag=True, help="only dispatch; another process syncs")
@click.option("--git-pull-interval", type=click.FloatRange(min=1), default=None, metavar="S",
              help="git pull the calendars directory every S seconds")
def dispatcher(schedules_dir, config_dir, no_sync, git_pull_interval):
    """Only the dispatcher and reaper (plus the sync loop unless --no-sync), to scale out
    against a shared REDIS_URL. Several may run at once: each job is claimed once."""
    from worker.engine import service

    schedules_dir, config_dir = _check_dirs(None if no_sync else (schedules_dir or default_schedules()),
                                            config_dir)
    _warn_without_redis_url("dispatcher")
    raise SystemExit(service.run_dispatcher(home_dir(), config_dir, schedules_dir,
                                            redis_url=redis_url(),
                                            git_pull_every_s=git_pull_interval))


def _warn_without_redis_url(what: str) -> None:
    if not redis_url():
        click.echo(f"note: REDIS_URL is not set: this {what} uses the embedded Redis of "
                   f"{home_dir()} (scaling out needs a shared REDIS_URL)", err=True)


def _scope(all_, department, account) -> tuple[str, str | None]:
    given = [(s, v) for s, v in (("all", all_), ("department", department), ("account", account)) if v]
    if len(given) != 1:
        raise click.UsageError("say exactly one of --all, --department D or --account A")
    scope, value = given[0]
    return scope, None if scope == "all" else value


def scope_options(func):
    func = click.option("--account", metavar="A", help="one account, e.g. x:ayto-calp")(func)
    func = click.option("--department", metavar="D", help="every account of a department")(func)
    return click.option("--all", "all_", is_flag=True, help="everything")(func)


@click.command()
@scope_options
@click.option("--reason", required=True, help="why (shown in status and the audit trail)")
@by_option
def pause(all_, department, account, reason, by):
    """Stop posts from going out: pending posts in the scope are held until `resume`.

    A post already publishing (a plain post is claimed in the last ~200 ms before its
    instant) still goes out; correct or retract it afterwards if need be.
    """
    from worker.engine.holds import pause as do_pause

    scope, value = _scope(all_, department, account)
    store, embedded = open_store()
    try:
        held = do_pause(store, scope, value, reason, by)
    finally:
        if embedded is not None:
            embedded.stop()
    click.echo(f"paused {scope}{':' + value if value else ''} ({reason}): {held} pending post(s) held")


@click.command()
@scope_options
@click.option("--send-missed", "missed", flag_value="send", default=None,
              help="send now the posts whose instant passed while held")
@click.option("--skip-missed", "missed", flag_value="skip",
              help="cancel the posts whose instant passed while held")
@by_option
def resume(all_, department, account, missed, by):
    """Lift a pause, and decide about held posts. Posts still ahead go out at their instant;
    posts whose instant passed (while paused, in a quiet period that has ended, or because a
    calendar change moved it) wait for --send-missed or --skip-missed. Corrections of
    published posts always go out now: they are never skipped."""
    from worker.engine.holds import resume as do_resume

    scope, value = _scope(all_, department, account)
    store, embedded = open_store()
    try:
        report = do_resume(store, scope, value, by, missed=missed)
    finally:
        if embedded is not None:
            embedded.stop()
    click.echo(f"resumed {scope}{':' + value if value else ''}: {len(report.released)} released, "
               f"{len(report.sent_late)} sent late, {len(report.skipped)} skipped")
    if report.corrections:
        click.echo(f"{len(report.corrections)} correction(s) of published posts go out now (a "
                   "correction is never skipped: it puts right what citizens already read):")
        for job_id in report.corrections:
            click.echo(f"  {job_id}")
    if report.awaiting_decision:
        click.echo(f"{len(report.awaiting_decision)} post(s) missed their instant and wait for a "
                   "decision: resume again with --send-missed or --skip-missed")
        for job_id in report.awaiting_decision:
            click.echo(f"  {job_id}")
    if report.still_quiet:
        click.echo(f"{len(report.still_quiet)} post(s) stay held: their quiet period has not ended")


@click.command()
def demo():
    """Publish a throwaway calendar in under a minute: posts a few seconds from now, two
    languages, five networks and an iCalendar feed (all to the local outbox), a go-live
    post that waits for a local official page. Files go to $PREGONERO_HOME/demo/ (or a
    temporary directory); REDIS_URL is ignored: the demo runs its own embedded Redis."""
    from worker.ops.demo import run_demo

    raise SystemExit(run_demo())
