"""``pregonero``: one command, with subcommands.

Subcommands are imported when they are run, not at start-up: ``pregonero lint`` runs in
editors' pre-commit hooks and must not pay for importing the engine (Redis, dramatiq,
Prometheus, platform clients).
"""

from __future__ import annotations

import importlib

import click

from worker import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: command name -> "module:attribute", relative to this package
COMMANDS = {
    "lint": "calendar_cmds:lint", "plan": "calendar_cmds:plan", "schema": "calendar_cmds:schema",
    "accounts": "accounts_cmd:accounts",
    "run": "engine_cmds:run", "sync": "engine_cmds:sync", "worker": "engine_cmds:worker",
    "dispatcher": "engine_cmds:dispatcher", "pause": "engine_cmds:pause",
    "resume": "engine_cmds:resume", "demo": "engine_cmds:demo", "status": "status_cmd:status",
    "correct": "correction_cmds:correct", "retract": "correction_cmds:retract",
    "history": "correction_cmds:history", "retry": "retry_cmd:retry",
    "agenda": "ops_cmds:agenda", "rehearse": "ops_cmds:rehearse", "report": "ops_cmds:report",
    "metrics": "ops_cmds:metrics",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


#: commands that are pure (no Redis, no engine): they log nothing and must start fast
PURE = frozenset({"lint", "plan", "schema"})
#: the services: they log every outcome (INFO); one-shot commands say what they did on
#: stdout and log only warnings and errors unless PREGONERO_LOG_LEVEL says otherwise
SERVICES = frozenset({"run", "worker", "dispatcher"})


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="pregonero")
@click.option("--log-file", envvar="PREGONERO_LOG_FILE", default=None, metavar="PATH",
              type=click.Path(dir_okay=False), help="write logs to PATH as JSON lines, one "
              "per event, instead of stderr [$PREGONERO_LOG_FILE]")
@click.pass_context
def cli(ctx, log_file):
    """pregonero: say the right thing, at the right time, on every network, and put it right
    when a date changes.

    What a command does is printed on stdout, for people; logs go to stderr (JSON when it is
    not a terminal; $PREGONERO_LOG_FORMAT=json|console) or to --log-file.
    """
    command = ctx.invoked_subcommand
    if command in PURE or command is None:
        return
    from worker.logging_setup import choose_destination, configure_logging

    choose_destination(log_file, "INFO" if command in SERVICES else "WARNING")
    configure_logging()
    # the choice belongs to this command: a process that runs several (tests, a shell
    # embedding the CLI) starts each from the defaults
    ctx.call_on_close(lambda: choose_destination(None, None))


def main() -> None:
    cli(prog_name="pregonero")


if __name__ == "__main__":
    main()
