"""``pregonero retry``: send again what failed, once the cause is fixed (see ``worker.engine.retry``)."""

from __future__ import annotations

import json

import click

from worker.cli.common import (config_option, confirm_or_stop, default_config_dir, default_schedules,
                               now_utc)
from worker.cli.correction_cmds import by_option, dry_run_option, schedules_option, yes_option
from worker.cli.engine_cmds import open_store


@click.command()
@click.argument("job_ids", nargs=-1)
@click.option("--calendar", metavar="ID", help="the failed posts of one calendar")
@click.option("--account", metavar="A", help="the failed posts of one account, e.g. x:ayto-calp")
@click.option("--all", "everything", is_flag=True, help="every failed post")
@click.option("--reason", required=True, help="what was fixed (kept in the audit trail)")
@by_option
@yes_option
@dry_run_option
@click.option("--json", "as_json", is_flag=True,
              help="print the preview as JSON (with --yes: and what was scheduled)")
@schedules_option
@config_option
def retry(job_ids, calendar, account, everything, reason, by, yes, dry_run, as_json,
          schedules_dir, config_dir):
    """Send again posts and corrections that FAILED, once the cause is fixed (a renewed
    token, a text the editor shortened, the official page back up).

    A failed post never reached its platform, so sending it again cannot post twice. Prints
    what will go out, when (at once if its instant has passed) and with which text, then
    asks. Posts go out with what their calendar says now; a post whose entry is gone, or
    whose period has closed, is not sent. `pregonero status` lists the failed posts.

    Example: pregonero retry --account x:ayto-calp --reason "token renovado" --by guardia-ana
    """
    from worker.corrections.overrides import engine_compile
    from worker.engine.retry import CurrentPlan, Selection, apply_retries, plan_retries, render
    from worker.engine.clock import now_ms

    if not (job_ids or calendar or account or everything):
        raise click.UsageError("say which failed posts: JOB_ID..., --calendar ID, --account A "
                               "or --all")
    if job_ids and (calendar or account or everything):
        raise click.UsageError("give job ids, or --calendar/--account/--all, not both")
    selection = Selection(tuple(job_ids), calendar, account, everything)
    store, embedded = open_store()
    try:
        # clear=False: a preview must not change the overrides a sync would clear
        plans = engine_compile(store, schedules_dir or default_schedules(),
                               config_dir or default_config_dir(), now_utc(), clear=False)
        retries = plan_retries(store, selection, CurrentPlan(plans), now_ms())
        if as_json and (dry_run or not retries):
            click.echo(json.dumps({"retries": [r.as_dict() for r in retries]},
                                  ensure_ascii=False, indent=2))
            return
        if not as_json:
            click.echo(render(retries))
        sendable = [r for r in retries if not r.refused]
        named_refused = bool(job_ids) and any(r.refused for r in retries)
        if not sendable:
            raise SystemExit(1 if retries else 0)  # asked for, and nothing can go: look
        if not as_json:
            confirm_or_stop(f"Send {len(sendable)} post(s) again?", yes, dry_run)
        elif not yes:
            raise click.UsageError("--json acts only with --yes (or previews with --dry-run)")
        done = apply_retries(store, retries, f"cli:{by}", reason)
    finally:
        if embedded is not None:
            embedded.stop()
    if as_json:
        click.echo(json.dumps({"retries": [r.as_dict() for r in retries], "scheduled": done},
                              ensure_ascii=False, indent=2))
    else:
        changed = len(sendable) - len(done)
        click.echo(f"\nscheduled again: {len(done)} (the running service sends them)"
                   + (f"; {changed} changed meanwhile and were left alone" if changed else ""))
    raise SystemExit(1 if named_refused else 0)
