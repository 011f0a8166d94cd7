"""``pregonero``: one command, with subcommands."""

from __future__ import annotations

import click

from .. import __version__
from .accounts_cmd import accounts
from .calendar_cmds import lint, plan, schema
from .correction_cmds import COMMANDS as CORRECTION_COMMANDS
from .engine_cmds import demo, dispatcher, pause, resume, run, sync, worker
from .ops_cmds import COMMANDS as OPS_COMMANDS
from .status_cmd import status

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="pregonero")
def cli():
    """pregonero: say the right thing, at the right time, on every network, and put it right
    when a date changes."""


for command in (lint, plan, schema, accounts, run, sync, worker, dispatcher, pause, resume, status,
                demo):
    cli.add_command(command)
for command in CORRECTION_COMMANDS:  # correct, retract, history (worker/cli/correction_cmds.py)
    cli.add_command(command)
for command in OPS_COMMANDS:  # agenda, rehearse, report, metrics (worker/cli/ops_cmds.py)
    cli.add_command(command)


def main() -> None:
    cli(prog_name="pregonero")


if __name__ == "__main__":
    main()
