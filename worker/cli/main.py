"""``pregonero``: one command, with subcommands."""

from __future__ import annotations

import click

from .. import __version__
from .accounts_cmd import accounts
from .calendar_cmds import lint, plan, schema
from .engine_cmds import demo, dispatcher, pause, resume, run, sync, worker
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


def main() -> None:
    cli(prog_name="pregonero")


if __name__ == "__main__":
    main()
