"""The calendar repository root: the one folder every calendar image must lie in.

The rule, defined here once (docs/calendar.md, "Images"):

* the root of the **git checkout** that holds the calendar file: the nearest folder, from the
  calendar's own folder upwards (symbolic links resolved), that has a ``.git`` entry (a folder,
  or the file of a worktree or submodule);
* outside any git checkout, the **schedules folder the tool was given**: ``run/worker/sync
  --schedules DIR`` (or ``$PREGONERO_SCHEDULES``) -> DIR; ``lint PATHS`` / ``plan PATHS`` ->
  the folder named that holds the calendar, or for a file named on its own, the file's folder.

An editors' CI lints a checkout, so its root is the checkout; a service that pulls a checkout
(``--git-pull-interval``) has the same root. A container that mounts only ``schedules/`` has
no ``.git``: its root is the mounted folder, which is why images belong under ``schedules/``.
A ``.git`` can only narrow the root (the nearest one wins) and git never checks one out from
a commit, so an editor cannot widen it.

Walking up for ``.git`` rather than asking ``git rev-parse --show-toplevel``: no process per
calendar in a lint of hundreds, and no git needed in the container that only reads files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


def git_toplevel(folder: str | Path) -> Path | None:
    """The top of the git checkout holding ``folder`` (real path), None outside any."""
    current = Path(os.path.realpath(folder))
    for candidate in (current, *current.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def repository_root(calendar_folder: str | Path, given: str | Path | None = None) -> Path:
    """The calendar repository root for calendars in ``calendar_folder`` (see the module
    doc); ``given`` is the schedules folder the tool was given (None: the calendar's folder
    itself, as for a file named on its own). Always a real path."""
    top = git_toplevel(calendar_folder)
    if top is not None:
        return top
    return Path(os.path.realpath(given if given is not None else calendar_folder))


def given_folder(file: str | Path, named: Iterable[str | Path]) -> Path:
    """The folder a calendar file was given in: the outermost named folder holding it (the
    same as a service given that folder would have), else the file's own folder."""
    path = Path(os.path.abspath(file))
    folders = [Path(os.path.abspath(p)) for p in named if os.path.isdir(p)]
    holding = [f for f in folders if path.is_relative_to(f)]
    return min(holding, key=lambda f: len(f.parts)) if holding else path.parent
