"""Editors' commands: lint, plan and schema. None of them needs Redis or the network."""

from __future__ import annotations

import json
from pathlib import Path

import click

from worker.calendar.schema import json_schema_text
from worker.lint_run import lint_files
from worker.plan import all_jobs, compile_paths, plan_json
from worker.cli.common import (calendar_files_or_exit, config_option, default_schedules,
                               load_config_or_exit, now_option, now_utc)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@now_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
@click.option("--jobs", "-j", "workers", type=click.IntRange(min=1), default=None,
              help="processes to lint with (default: every core, when there are many files)")
def lint(paths, config_dir, now, fmt, workers):
    """Check calendars before merge. Exit 0 when clean, 1 on errors, 2 on usage errors.

    Each finding: path:line:col: error|warning: what is wrong [code], then how to fix it.
    """
    config = load_config_or_exit(config_dir)
    now = now or now_utc()
    named = paths or [default_schedules()]
    files = calendar_files_or_exit(named)
    result = lint_files(files, config, now, workers, named=named)
    findings, errors, warnings = result.findings, result.errors, result.warnings
    costs = _x_costs_of(result.x_counts, config)
    if fmt == "json":
        out = {"files": len(files), "errors": errors, "warnings": warnings,
               "findings": [f.as_dict() for f in findings]}
        if costs is not None:
            out["x_costs"] = costs
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            click.echo(finding.format())
        click.echo(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)", err=True)
        for line in _cost_lines(costs):  # with the summary: stdout stays the findings
            click.echo(line, err=True)
    raise SystemExit(1 if errors else 0)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@now_option
@click.option("--json", "as_json", is_flag=True, help='print {"jobs": [...]}, sorted and stable')
def plan(paths, config_dir, now, as_json):
    """Show the jobs the calendars compile to: when, where, in which language, what text."""
    calendar_files_or_exit(paths or [default_schedules()])
    config = load_config_or_exit(config_dir)
    plans = compile_paths(list(paths) or [default_schedules()], config, now or now_utc())
    failed = [p for p in plans if not p.ok]
    for p in failed:
        click.echo(f"{p.path}: not planned, it has errors (run pregonero lint {p.path})", err=True)
    costs = _x_costs(plans, config)
    if as_json:
        click.echo(plan_json(plans, x_costs=costs), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="pregonero plan", show_lines=False)
        for column in ("due (local)", "account", "lang", "kind", "job"):
            table.add_column(column, overflow="fold")
        table.add_column("text", overflow="fold", min_width=60)
        for job in all_jobs(plans):
            table.add_row(job.due_local, job.account, job.language, job.kind, job.entry,
                          _shown_text(job))
        console = Console(width=max(Console().width, 140))
        console.print(table)
        for source in plans:
            for explanation in source.explanations:
                console.print(f"{source.calendar_id}: {explanation}")
        for line in _cost_lines(costs):
            console.print(line, highlight=False)
    raise SystemExit(1 if failed else 0)


def _shown_text(job) -> str:
    """The text as it will be published, whole, with its line breaks (editors proofread
    here); a thread post by post, each as it will go out."""
    if job.thread:
        return f"thread of {len(job.thread)} posts:\n" + "\n┄┄┄\n".join(job.thread)
    return job.text


def _x_costs(plans, config) -> dict | None:
    """The X API cost of the plan (``_x_costs_of``)."""
    from worker.costs import x_counts

    return _x_costs_of(x_counts(all_jobs(plans)), config)


def _x_costs_of(counts, config) -> dict | None:
    """The X API cost of ``counts`` (``worker.costs.x_counts``), per account, and the unit
    costs of what may follow; None when there is no X post."""
    from adapters.pricing import X_PRICES_SOURCE, x_prices
    from worker.costs import priced, x_unit_costs

    prices = x_prices(config.x_prices if config is not None else None)
    accounts = priced(counts, prices)
    if not accounts:
        return None
    return {"accounts": [a.as_dict() for a in accounts],
            "total_usd": round(sum(a.usd for a in accounts), 4),
            "each_later": x_unit_costs(prices).as_dict(), "prices_usd": prices,
            "source": X_PRICES_SOURCE if config is None or not config.x_prices
            else "config/policies.yaml costs.x, on top of " + X_PRICES_SOURCE}


def _cost_lines(costs: dict | None) -> list[str]:
    if costs is None:
        return []
    lines = [f"X API cost of this plan (pay-per-use, {costs['source']}):"]
    for row in costs["accounts"]:
        lines.append(f"  {row['account']}: {row['posts']} post(s), {row['posts_with_link']} "
                     f"with a link, {row['image_descriptions']} image description(s): "
                     f"${row['usd']:.2f}")
    later = costs["each_later"]
    lines.append(f"  total ${costs['total_usd']:.2f}; later, each correction "
                 f"${later['correction']:.3f} (${later['correction_with_link']:.2f} with a "
                 f"link), each deletion ${later['deletion']:.3f}, each lookup after a lost "
                 f"answer up to ${later['lookup_at_most']:.2f}")
    return lines


@click.command()
def schema():
    """Print the calendar's JSON Schema (for editors' YAML plugins)."""
    click.echo(json_schema_text(), nl=False)
