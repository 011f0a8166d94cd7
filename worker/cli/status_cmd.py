"""``pregonero status``: what on-call staff need at a glance.

Redis reachable, jobs by state, the last sync and the calendars failing to load (with their
findings), active pauses, held jobs with their reasons, uncertain and failed jobs. Exit 1 only
when Redis cannot be reached: the other problems are reported, not failed on, so that a
monitoring check can tell "pregonero is down" from "pregonero needs a look" (``attention``).

``collect`` builds the report as a plain dict (the JSON form); other issues extend it there.
"""

from __future__ import annotations

import json

import click
import redis

from worker.cli.common import default_config_dir, home_dir

#: at most this many jobs are listed per section (the counts are always complete)
LIST_LIMIT = 100


def _job_row(store, job_id: str) -> dict:
    stored = store.get(job_id)
    if stored is None:
        return {"job_id": job_id}
    row = {"job_id": job_id, "account": stored.job.account, "language": stored.job.language,
           "due": stored.job.due_utc.isoformat(), "state": stored.state}
    if stored.reason:
        row["reason"] = stored.reason
    if stored.state == "held":
        from worker.engine.holds import release_hint

        row["release"] = release_hint(stored.reason, stored.job.account, stored.job.department)
        if stored.fields.get("gr"):
            row["refused"] = stored.fields["gr"]  # why the go-live check may not reach its page
        if stored.fields.get("o"):
            row["correction_of"] = stored.fields["o"]
    if stored.fields.get("qp"):
        row["quiet_period"] = stored.fields["qp"]
    return row


def collect(store) -> dict:
    """The status report (raises redis errors if Redis goes away meanwhile)."""
    from worker.corrections.overrides import pending_overrides
    from worker.engine.holds import pauses

    summaries = store.summaries()
    by_state: dict[str, int] = {}
    for summary in summaries.values():
        by_state[summary.state] = by_state.get(summary.state, 0) + 1
    sync = store.sync_status()
    failing = dict(sorted((sync or {}).get("load_errors", {}).items()))

    def listed(state: str) -> list[dict]:
        ids = sorted(s.id for s in summaries.values() if s.state == state)[:LIST_LIMIT]
        return [_job_row(store, job_id) for job_id in ids]

    held = listed("held")
    uncertain = listed("uncertain")
    failed = listed("failed")
    report = {
        "redis": {"reachable": True},
        "jobs": {"total": len(summaries), "by_state": dict(sorted(by_state.items()))},
        "last_sync": None if sync is None else {
            "at": sync.get("at"), "counts": sync.get("counts", {}),
            "duration_ms": sync.get("duration_ms"), "refused": sync.get("refused"),
            "conflicts": len(sync.get("conflicts") or [])},
        "calendars_failing": failing,
        "calendars": dict(sorted(store.last_good().items())),
        "pauses": pauses(store),
        "held": held,
        "uncertain": uncertain,
        "failed": failed,
        # CLI corrections kept in Redis on top of the files (see corrections.overrides.decide)
        "overrides_not_in_git": [dict(o.as_dict(), summary=o.describe())
                                 for o in pending_overrides(store)],
    }
    report["attention"] = bool(failing or uncertain or failed or (sync or {}).get("refused"))
    return report


def api_versions_needing_attention(config_dir, today=None) -> list[dict]:
    """The accounts whose pinned API version is retired, unknown or near its sunset
    (``adapters.api_versions``); nothing when config/ does not load (``lint`` says why)."""
    import datetime as dt

    from adapters.api_versions import account_version_status
    from worker.config import ConfigError, load_config

    try:
        config = load_config(config_dir)
    except (ConfigError, OSError):
        return []
    today = today or dt.datetime.now(dt.timezone.utc).date()
    rows = []
    for account in config.accounts.values():
        status = account_version_status(account.platform, dict(account.options), today)
        if status is not None and status.needs_attention:
            rows.append({"account": account.ref, **status.as_dict()})
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def status(as_json):
    """Redis, jobs by state, last sync and failing calendars, pauses, held, uncertain and
    failed jobs. Exit 0 when Redis answers (see "attention"), 1 when it does not."""
    from worker.engine.redis_server import connect
    from worker.engine.store import Store
    from worker.cli.engine_cmds import redis_url, shown_url

    where = shown_url(redis_url()) if redis_url() else f"embedded:{home_dir() / 'redis'}"
    embedded = None
    try:
        client, embedded = connect(home_dir(), redis_url())
        report = collect(Store(client))
    except (redis.RedisError, OSError, RuntimeError) as exc:
        report = {"redis": {"reachable": False, "url": where, "error": str(exc)[:300]}}
    finally:
        if embedded is not None:
            embedded.stop()
    report["redis"]["url"] = where
    report["api_versions"] = api_versions_needing_attention(default_config_dir())
    if any(row["level"] in ("alert", "retired") for row in report["api_versions"]):
        report["attention"] = True
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report)
    raise SystemExit(0 if report["redis"]["reachable"] else 1)


def _print(report: dict) -> None:
    r = report["redis"]
    for row in report.get("api_versions", ()):
        click.echo(f"API version {row['level']}: {row['account']}: {row['detail']}")
    if not r["reachable"]:
        click.echo(f"redis: NOT reachable at {r['url']}: {r.get('error')}")
        return
    click.echo(f"redis: reachable ({r['url']})")
    jobs = report["jobs"]
    states = ", ".join(f"{k} {v}" for k, v in jobs["by_state"].items()) or "none"
    click.echo(f"jobs: {jobs['total']} ({states})")
    sync = report["last_sync"]
    if sync is None:
        click.echo("last sync: never")
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(sync["counts"].items()) if v) or "no changes"
        click.echo(f"last sync: {sync['at']} ({counts})")
        if sync.get("refused"):
            click.echo(f"  refused: {sync['refused']}")
    for path, findings in report["calendars_failing"].items():
        click.echo(f"failing to load (last good version kept): {path}")
        for finding in findings:
            click.echo(f"  {finding}")
    for field, info in report["pauses"].items():
        click.echo(f"paused {field}: {info.get('reason')} (by {info.get('by')})")
    for title, rows in (("held", report["held"]), ("uncertain", report["uncertain"]),
                        ("failed", report["failed"])):
        if rows:
            click.echo(f"{title}:")
        for row in rows:
            why = row.get("reason", "") + (f" {row['quiet_period']}" if row.get("quiet_period") else "")
            click.echo(f"  {row['job_id']}  due {row.get('due', '?')}  {why}"
                       + ("  (a correction)" if row.get("correction_of") else ""))
            if row.get("refused"):
                click.echo(f"      {row['refused']}")
            if row.get("release"):
                click.echo(f"      -> {row['release']}")
    if report["failed"]:
        click.echo("  (the platform did not take them: once the cause is fixed, send them again "
                   "with pregonero retry --all|--calendar ID|--account A --reason ... --by ...)")
    if report["overrides_not_in_git"]:
        click.echo("overrides kept in Redis on top of the calendar files (in git: cleared once "
                   "a commit carries them; in a plain folder: until a newer value replaces "
                   "them):")
    for override in report["overrides_not_in_git"]:
        click.echo(f"  {override['summary']}")
