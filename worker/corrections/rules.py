"""What an on-call change does to a calendar, and when git makes it redundant: pure rules
over data (``worker.corrections.overrides`` keeps the changes in Redis; the engine's compile,
``worker.plan.compile_for_engine``, applies them)."""

from __future__ import annotations

import dataclasses
from typing import Iterable

from worker.corrections import writeback


@dataclasses.dataclass(frozen=True)
class Override:
    """A value (or a retraction) set from the CLI for one calendar."""

    calendar: str
    kind: str            # "fact" | "retract"
    name: str            # the fact name, or the entry id
    value: str = ""      # the new value (facts)
    path: str = ""       # the calendar file, relative to the schedules directory
    reason: str = ""
    by: str = ""
    at: int = 0          # epoch ms
    old: str = ""        # the value before (facts)

    @property
    def field(self) -> str:
        return f"{self.calendar}|{self.kind}|{self.name}"

    def describe(self) -> str:
        if self.kind == "fact":
            return f"{self.calendar}: {self.name} = {self.value} (was {self.old or '?'})"
        return f"{self.calendar}: entry {self.name} withdrawn"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def apply_to_data(data: dict, overrides: Iterable[Override]) -> dict:
    """A copy of a calendar document's data with the overrides applied."""
    data = dict(data)
    for override in overrides:
        if override.kind == "fact":
            facts = dict(data.get("facts") or {})
            node = dict(facts.get(override.name) or {})
            key = next((k for k in writeback.VALUE_KEYS if k in node), None)
            if key is None:  # derived or unknown: the CLI refuses these; never guess here
                continue
            node[key] = override.value
            facts[override.name] = node
            data["facts"] = facts
        elif override.kind == "retract":
            data["entries"] = [e for e in data.get("entries") or ()
                               if not (isinstance(e, dict) and e.get("id") == override.name)]
    return data


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a sync does with one override, given the calendar file as committed."""

    #: "clear" (the file carries it, or a newer decision replaced it), "apply" (keep it on
    #: top of the file), "apply_stale" (keep it: the file says what it used to say)
    action: str
    why: str


def decide(override: Override, committed: str | None, in_git: bool,
           earlier_values: Iterable[str] = ()) -> Decision:
    """Pure: keep or clear ``override`` given the committed calendar text.

    * In git, a commit that carries the override's value (or, for a retraction, no longer has
      the entry) makes it redundant: cleared.
    * Outside git there is no commit to trust: the folder may be a copy that is replaced by an
      older one tomorrow. The override is kept (it changes nothing while the file agrees) and
      ``status`` lists it.
    * A file that says a value the fact never had (neither the override's, nor any value it
      had before: ``earlier_values``) is a newer decision by an editor: the override gives way.
    * A file that says an old value is stale: the override stays on top of it, with an alert.
    """
    if committed is None or not writeback.parses(committed):
        return Decision("apply", "the committed calendar cannot be read")
    if override.kind == "retract":
        if writeback.has_entry(committed, override.name):
            return Decision("apply_stale", f"the file still has entry {override.name!r}")
        return Decision("clear", "git carries it") if in_git else \
            Decision("apply", "not a git checkout: kept")
    value = writeback.read_fact_value(committed, override.name)
    if value == override.value:
        return Decision("clear", "git carries it") if in_git else \
            Decision("apply", "not a git checkout: kept")
    if value is not None and value != override.old and value not in set(earlier_values):
        return Decision("clear", f"superseded: the calendar now says {value}")
    return Decision("apply_stale", f"the file says {value}, an earlier value")
