"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from worker.config import ConfigError, load_config
from worker.config_model import Config
from worker.settings import Settings


class IsoInstant(click.ParamType):
    """An ISO 8601 instant; a naive one is read as UTC."""

    name = "ISO-INSTANT"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"'{value}' is not an ISO 8601 instant, e.g. 2027-04-09T08:00:00Z", param, ctx)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


ISO = IsoInstant()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def settings() -> Settings:
    """This command's settings: built once, when the command starts (``worker.settings``)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is None:
        return Settings.from_environment()
    if not isinstance(root.obj, Settings):
        root.obj = Settings.from_environment()
    return root.obj


def default_schedules() -> Path:
    return settings().schedules


def calendar_files_or_exit(paths) -> list[Path]:
    """The calendar files under ``paths`` (files or folders, relative or absolute, ``..``
    included), or a usage error (exit 2) naming each path that does not exist or holds no
    calendar: CI must never pass by checking nothing."""
    from worker.analysis import calendar_files, paths_without_calendars

    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.UsageError(f"no such file or directory: {', '.join(missing)}")
    empty = paths_without_calendars(paths)
    if empty:
        raise click.UsageError(f"no calendar (.yaml or .yml file) in: {', '.join(empty)} "
                               "(hidden folders inside are skipped)")
    return calendar_files(paths)


def default_config_dir() -> Path:
    return settings().config


def home_dir() -> Path:
    """Where runtime data lives: ``$PREGONERO_HOME`` (default ``./.pregonero``)."""
    return settings().home


def load_config_or_exit(config_dir: Path | None) -> Config | None:
    """The config, None when there is no config directory, exit 1 with findings when broken."""
    config_dir = config_dir or default_config_dir()
    if not config_dir.exists():
        click.echo(f"note: no configuration at {config_dir}/: accounts and policies are not "
                   "checked (use --config DIR)", err=True)
        return None
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        for finding in exc.findings:
            click.echo(finding.format(), err=True)
        raise SystemExit(1)


config_option = click.option("--config", "config_dir", type=click.Path(path_type=Path),
                             default=None, help="configuration directory [default: ./config or "
                             "$PREGONERO_CONFIG]")
now_option = click.option("--now", type=ISO, default=None,
                          help="pin the clock, e.g. 2027-01-10T09:00:00Z (default: now)")


def confirm_or_stop(question: str, yes: bool, dry_run: bool) -> None:
    """After a preview: return to act, or stop (``--dry-run``, no answer, a "no").

    Without a terminal there is nobody to answer, so nothing is done unless ``--yes`` says so:
    a script must never act on a preview nobody read.
    """
    import sys

    if dry_run:
        click.echo("\n--dry-run: nothing was changed.")
        raise SystemExit(0)
    if yes:
        return
    if not sys.stdin.isatty() and not os.environ.get("PREGONERO_ASSUME_TTY"):
        click.echo("\nrefusing to act without confirmation: run it in a terminal, or add "
                   "--yes (scripts) / --dry-run (preview only)", err=True)
        raise SystemExit(2)
    if not click.confirm(f"\n{question}", default=False):
        click.echo("nothing was changed.")
        raise SystemExit(1)
