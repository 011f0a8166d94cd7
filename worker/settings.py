"""Where one deployment keeps its things and how it reaches Redis, read once.

The command line builds one ``Settings`` per command from the environment (its options win
where it has them) and passes it down: below the CLI no module reads these variables, so a
test, the demo or a second deployment in one process gives its own values and nothing leaks
in from the environment behind its back. The engine's timing knobs are its own
(``worker.engine.publisher.EngineSettings``); config/ says everything else.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Mapping

#: what each setting is read from, and its default (docs/operations.md lists them)
VARIABLES = {"home": ("PREGONERO_HOME", ".pregonero"),
             "schedules": ("PREGONERO_SCHEDULES", "schedules"),
             "config": ("PREGONERO_CONFIG", "config"), "redis_url": ("REDIS_URL", None),
             "transport": ("PREGONERO_TRANSPORT", None)}


@dataclasses.dataclass(frozen=True)
class Settings:
    """One deployment's places and connections."""

    #: runtime data: the embedded Redis files, the outbox, the iCalendar feed (absolute)
    home: Path
    #: the calendars folder
    schedules: Path
    #: the configuration folder
    config: Path
    #: a Redis to use; None: the embedded server of ``home``
    redis_url: str | None
    #: the deployment's default transport (``live`` or ``outbox``); None: config/'s own
    #: default. An account that sets ``transport:`` keeps it.
    transport: str | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def read(name: str):
            variable, default = VARIABLES[name]
            return env.get(variable) or default

        return cls(home=Path(read("home")).absolute(), schedules=Path(read("schedules")),
                   config=Path(read("config")), redis_url=read("redis_url"),
                   transport=read("transport"))
