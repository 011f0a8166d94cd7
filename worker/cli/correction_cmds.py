"""On-call commands: ``correct``, ``retract`` and ``history``.

``correct`` and ``retract`` print a preview of everything that will happen (pending posts that
move, published posts edited, answered or withdrawn, per platform and language, with the
exact text) and act only after confirmation (``--yes`` for scripts, ``--dry-run`` to preview
only). Acting means: an override in Redis (so that no stale checkout can bring the old value
back), the change written into the calendar file (unless ``--no-write``), a sync, and the
correction jobs planned; the running engine sends them. See docs/runbook-guardia.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import click

from worker.cli.common import (ISO, config_option, confirm_or_stop, default_config_dir,
                               default_schedules, now_utc)

schedules_option = click.option("--schedules", "schedules_dir", type=click.Path(path_type=Path),
                                default=None, help="calendars directory [default: ./schedules "
                                "or $PREGONERO_SCHEDULES]")
reason_option = click.option("--reason", required=True,
                             help="why (kept in the audit trail; shown in retraction notices)")
by_option = click.option("--by", "by", required=True, help="who decides (name or id)")
yes_option = click.option("--yes", is_flag=True, help="do not ask for confirmation (scripts)")
dry_run_option = click.option("--dry-run", is_flag=True, help="print the preview and stop")


def _store():
    """The store; exit 1 with a clear message when Redis cannot be reached (an embedded
    server started here stops when the command ends)."""
    from worker.cli.engine_cmds import open_store

    return open_store()[0]


@dataclasses.dataclass(frozen=True)
class Target:
    """The calendar a command acts on: its file, id, path as the engine names it, and the text
    to read values from: the file's own, or, when the file does not load, its last good
    version (``broken`` says why the file itself cannot be used)."""

    file: Path | None
    calendar_id: str
    shown: str
    text: str
    broken: str | None = None


def _resolve(calendar: str, schedules_dir: Path, store) -> Target:
    """CALENDAR (an id or a file) as a Target. A file an editor left broken is no reason to
    refuse a correction: on-call works from the version the engine last loaded."""
    from worker.calendar.source import YamlProblem, parse_yaml
    from worker.corrections.overrides import find_calendar_file, last_good_source

    file = find_calendar_file(schedules_dir, calendar)
    shown = None
    problem = None
    if file is not None:
        try:
            shown = str(file.resolve().relative_to(schedules_dir.resolve()))
        except ValueError:
            shown = str(file)
        try:
            text = file.read_text(encoding="utf-8")
            data = parse_yaml(text, shown).data
            return Target(file, str(data["calendar"]["id"]), shown, text)
        except YamlProblem as exc:
            problem = exc.finding.format()
        except (OSError, UnicodeDecodeError, KeyError, TypeError) as exc:
            problem = f"{shown}: cannot be read as a calendar ({type(exc).__name__})"
    last = last_good_source(store, shown or calendar)
    if last is None:
        if problem:
            raise click.UsageError(f"{problem}\n{shown} does not load and the engine has no "
                                   "good version of it: fix the file first")
        raise click.UsageError(f"no calendar '{calendar}' under {schedules_dir}/ (give its id "
                               "or its file)")
    if file is None:
        file = schedules_dir / last.path
        problem = f"{last.path}: the file does not load (pregonero lint {last.path} says why)"
    return Target(file if file.exists() else None, last.calendar_id, last.path, last.text,
                  problem or "")


def _say_broken(target: Target) -> None:
    click.echo(f"WARNING: {target.broken}\n  The file is left as it is. This change is made on "
               f"its last good version and kept in Redis; when the file is fixed, the change "
               f"still applies on top of it (write it into the file too).\n")


def _check_value(kind_key: str, value: str) -> str:
    """The value in the calendar's own syntax; UsageError when it is not one."""
    try:
        if kind_key == "date":
            return dt.date.fromisoformat(value).isoformat()
        if kind_key == "datetime":
            return dt.datetime.strptime(value, "%Y-%m-%d %H:%M").strftime("%Y-%m-%d %H:%M")
        if kind_key == "time":
            return dt.datetime.strptime(value, "%H:%M").strftime("%H:%M")
    except ValueError:
        example = {"date": "2027-08-27", "datetime": "'2027-08-27 18:00'", "time": "18:00"}[kind_key]
        raise click.UsageError(f"'{value}' is not a {kind_key}: write it like {example}")
    return value


def apply_change(store, schedules_dir: Path, config_dir: Path, override, file: Path | None,
                 write: bool, now: dt.datetime | None = None) -> dict:
    """Record the override, write the file, sync, plan the corrections. Returns a summary."""
    from worker.corrections import writeback
    from worker.corrections.overrides import set_override
    from worker.engine.sync import sync_once

    set_override(store, override)
    file_diff = ""
    if write and file is not None:
        if override.kind == "fact":
            _old, file_diff = writeback.write_fact(file, override.name, override.value,
                                                   reason=override.reason, by=override.by)
        else:
            file_diff = writeback.write_removal(file, override.name, reason=override.reason,
                                                by=override.by)
    report = sync_once(store, schedules_dir, config_dir, now, by=f"cli:{override.by}")
    store.wake()
    return {"sync": report.counts, "held": report.held, "diff": file_diff,
            "conflicts": report.conflicts}


def _run(store, schedules_dir, config_dir, override, file, write, yes, dry_run, now) -> None:
    from worker.corrections import preview as pv

    shown = pv.compute(store, schedules_dir, config_dir, now or now_utc(), extra=[override],
                       calendar=override.calendar)
    click.echo(pv.render(shown))
    if not shown.ok:
        raise SystemExit(1)
    confirm_or_stop("Apply this change now?", yes, dry_run)
    summary = apply_change(store, schedules_dir, config_dir, override, file, write, now)
    if summary["diff"]:
        click.echo("\ncalendar file changed (commit it to git):\n" + summary["diff"])
    counts = {k: v for k, v in summary["sync"].items() if v}
    click.echo(f"done: {json.dumps(counts)}; held for a decision: {len(summary['held'])}")
    from worker.corrections import writeback

    in_git = file is not None and writeback.committed_version(file)[1]
    if in_git:
        click.echo("the override is kept in Redis until git carries the same value: commit "
                   "the calendar file (pregonero status lists it).")
    else:
        click.echo(f"{schedules_dir} is not a git checkout: the override stays in Redis "
                   "(pregonero status lists it), so that an older copy of the file cannot "
                   "bring the old value back; a new value of this fact in the file, or "
                   "another pregonero correct, replaces it.")


@click.command()
@click.argument("calendar")
@click.argument("fact")
@click.argument("new_value")
@reason_option
@by_option
@yes_option
@dry_run_option
@click.option("--no-write", is_flag=True, help="keep the change as an override only; do not "
              "edit the calendar file")
@schedules_option
@config_option
@click.option("--now", type=ISO, default=None, hidden=True)
def correct(calendar, fact, new_value, reason, by, yes, dry_run, no_write, schedules_dir,
            config_dir, now):
    """Change FACT of CALENDAR to NEW_VALUE and correct every post that says the old value.

    Example: pregonero correct calp-ayudas-comercio-2027 publicacion_bop 2027-03-16
    --reason "el BOP se publica el 16" --by guardia-ana
    """
    from worker.corrections import writeback
    from worker.corrections.overrides import new_override

    schedules_dir = schedules_dir or default_schedules()
    config_dir = config_dir or default_config_dir()
    store = _store()
    target = _resolve(calendar, schedules_dir, store)
    calendar_id, shown = target.calendar_id, target.shown
    if target.broken:
        _say_broken(target)
    try:
        node = writeback.fact_node(writeback._load(target.text), fact)
        key = writeback.fact_value_key(node, fact)
    except writeback.WritebackError as exc:
        raise click.UsageError(str(exc))
    value = _check_value(key, new_value)
    old = str(node[key])
    if old == value:
        click.echo(f"{fact} is already {value} in {shown}: nothing to correct.")
        return
    override = new_override(calendar_id, "fact", fact, value=value, path=shown, reason=reason,
                            by=by, old=old)
    click.echo(f"{calendar_id}: {fact} {old} -> {value} ({reason}; {by})\n")
    _run(store, schedules_dir, config_dir, override, target.file,
         not no_write and not target.broken, yes, dry_run, now)


@click.command()
@click.argument("calendar")
@click.argument("entry")
@reason_option
@by_option
@yes_option
@dry_run_option
@click.option("--no-write", is_flag=True, help="keep the retraction as an override only")
@schedules_option
@config_option
@click.option("--now", type=ISO, default=None, hidden=True)
def retract(calendar, entry, reason, by, yes, dry_run, no_write, schedules_dir, config_dir, now):
    """Withdraw ENTRY of CALENDAR: pending posts are cancelled; published ones are deleted,
    hidden or answered with a cancellation notice as the retraction policy says."""
    from worker.corrections import writeback
    from worker.corrections.overrides import new_override

    schedules_dir = schedules_dir or default_schedules()
    config_dir = config_dir or default_config_dir()
    store = _store()
    target = _resolve(calendar, schedules_dir, store)
    if target.broken:
        _say_broken(target)
    if not writeback.has_entry(target.text, entry):
        raise click.UsageError(f"{target.shown} has no entry '{entry}'")
    override = new_override(target.calendar_id, "retract", entry, path=target.shown,
                            reason=reason, by=by)
    click.echo(f"{target.calendar_id}: withdraw entry '{entry}' ({reason}; {by})\n")
    _run(store, schedules_dir, config_dir, override, target.file,
         not no_write and not target.broken, yes, dry_run, now)


@click.command()
@click.argument("calendar")
@click.argument("entry", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def history(calendar, entry, as_json):
    """Every version of every post of CALENDAR (or of one ENTRY): text, when, who changed
    what and why, and the links on each platform."""
    from worker.corrections import history as hist

    store = _store()
    records = hist.history(store, calendar, entry)
    trail = hist.overrides_trail(store, calendar)
    if as_json:
        click.echo(json.dumps({"calendar": calendar, "entry": entry, "overrides": trail,
                               "posts": records}, ensure_ascii=False, indent=2))
    else:
        click.echo(hist.render(records, trail), nl=False)


