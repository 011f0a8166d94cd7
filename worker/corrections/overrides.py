"""Overrides: corrections made from the CLI, kept in Redis until git carries them.

``pregonero correct CAL FACT VALUE`` writes the value into the calendar file AND records an
override here; ``pregonero retract CAL ENTRY`` removes the entry and records a retraction
override. The engine's compile (``engine_compile``, used by every sync) applies the overrides
on top of the files, so a later sync of a stale checkout (a ``git pull`` of a branch that never
saw the change, a restored backup, a second server) can never bring the old date back. An
override is cleared once the file as committed in git (HEAD; the file itself outside git)
carries the same value (or, for a retraction, no longer has the entry), or once the file says
a value the fact never had (an editor's newer decision). Outside git nothing is a commit, so
the override is kept until a newer decision replaces it (see ``decide``).

The engine's compile itself is ``worker.plan.compile_for_engine`` (pure: why it tolerates past
entries and flags posts after a moved deadline is written there). ``engine_compile`` here feeds
it from the store (``plan_inputs``) and writes back what it found (``apply_effects``): sources
that compiled, overrides git now carries, stale copies to alert about.

It also records, per calendar, the fact labels and notice overrides the correction texts need
(``calendar_meta``), since the engine only stores jobs. The rules themselves (what a change does
to a calendar's data, when git makes it redundant) are pure, in ``worker.corrections.rules``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Iterable

import structlog

from worker.analysis import calendar_files
from worker.calendar.source import YamlProblem, parse_yaml
from worker.config import ConfigError, load_config
from worker.config_model import Config
from worker.corrections.rules import Override
from worker.engine.store import Store
from worker.engine.clock import now_ms
from worker.plan import (LastGood, PlanEffects, PlanInputs, SourcePlan, compile_for_engine,
                         config_failed)

log = structlog.get_logger("pregonero.overrides")


# --- storage ----------------------------------------------------------------------------------


def set_override(store: Store, override: Override) -> None:
    store.put_override(override.field, override.calendar,
                       json.dumps(override.as_dict(), ensure_ascii=False))
    store.audit_note(f"calendar:{override.calendar}", override.by or "cli",
                     f"override set: {override.describe()}; reason: {override.reason}")


def clear_override(store: Store, override: Override, why: str, by: str = "sync") -> bool:
    if store.drop_override(override.field):
        store.audit_note(f"calendar:{override.calendar}", by,
                         f"override cleared: {override.describe()}: {why}")
        return True
    return False


def all_overrides(store: Store) -> list[Override]:
    return [Override(**json.loads(raw)) for raw in store.override_records()]


def pending_overrides(store: Store) -> list[Override]:
    """Overrides whose value is not in git yet (for ``pregonero status``)."""
    return all_overrides(store)


def overrides_by_calendar(store: Store) -> dict[str, list[Override]]:
    out: dict[str, list[Override]] = {}
    for override in all_overrides(store):
        out.setdefault(override.calendar, []).append(override)
    return out


def changes(store: Store, calendar: str) -> list[Override]:
    """Changes made from the CLI to a calendar, newest first (kept after overrides clear)."""
    return [Override(**json.loads(raw)) for raw in store.change_log(calendar)]


def retraction_reason(store: Store, calendar: str, entry: str) -> str | None:
    raw = store.override_record(f"{calendar}|retract|{entry}")
    if raw:
        return json.loads(raw)["reason"]
    found = next((c for c in changes(store, calendar) if c.kind == "retract" and c.name == entry),
                 None)
    return found.reason if found else None


# --- calendar meta (labels and notice templates) ------------------------------------------------


def set_calendar_meta(store: Store, calendar, path: str) -> None:
    meta = {"path": path,
            "labels": {name: dict(f.label) for name, f in calendar.facts.items() if f.label},
            "notices": {kind: dict(v) for kind, v in calendar.notices.items()},
            "languages": list(calendar.languages),
            "derived": {name: list(f.derived_from) for name, f in calendar.facts.items()
                        if f.derived_from}}
    store.set_calendar_meta(calendar.id, json.dumps(meta, ensure_ascii=False))


def calendar_meta(store: Store, calendar_id: str) -> dict:
    raw = store.calendar_meta(calendar_id)
    return json.loads(raw) if raw else {"labels": {}, "notices": {}}


# --- applying overrides ------------------------------------------------------------------------


def earlier_values(store: Store, override: Override) -> set[str]:
    """Every value the override's fact had before, from the log of CLI changes."""
    values = {override.old}
    for change in changes(store, override.calendar):
        if change.kind == "fact" and change.name == override.name:
            values.update({change.old, change.value})
    return values - {override.value, ""}


def _note_stale(store: Store, override: Override, shown: str, why: str) -> None:
    """Alert once per stale value: a stale copy is synced every minute until someone acts."""
    if store.first_time(f"{override.field}|{why}"):
        log.warning("override_kept_over_stale_calendar", calendar=override.calendar,
                    file=shown, override=override.describe(), detail=why, alert=True)
        store.audit_note(f"calendar:{override.calendar}", "sync",
                         f"stale calendar {shown}: {why}; kept {override.describe()}")


def remember_source(store: Store, shown: str, calendar_id: str, text: str) -> None:
    """Keep the text of a calendar that compiled, so that on-call can still correct it when an
    editor leaves the file broken (written only when it changed)."""
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    if store.source_digest(shown) == digest:
        return
    store.put_source(shown, {"sha": digest, "calendar_id": calendar_id, "text": text,
                             "at": dt.datetime.now(dt.timezone.utc).isoformat()})


def last_good_source(store: Store, calendar: str) -> LastGood | None:
    """The last good source of a calendar, by its file (relative to the schedules) or its id."""
    for path, fields in store.sources(first=calendar):
        if calendar in (path, fields["calendar_id"]):
            return LastGood(path, fields["calendar_id"], fields["text"], fields["at"])
    return None


def plan_inputs(store: Store | None, extra: Iterable[Override] = ()) -> PlanInputs:
    """What the engine's compile needs from the store: the on-call changes (``extra``: as if
    stored, the CLI's preview of a change not made yet), last good sources, earlier values."""
    if store is None:
        return PlanInputs(tuple(extra))
    return PlanInputs(tuple(all_overrides(store)) + tuple(extra),
                      last_good=lambda path: last_good_source(store, path),
                      earlier=lambda override: earlier_values(store, override))


def apply_effects(store: Store, effects: PlanEffects) -> None:
    """Remember what the compile found: sources that compiled, the labels correction texts
    quote, overrides git now carries (cleared, audited), stale copies (alerted once)."""
    for shown, calendar_id, text in effects.sources:
        remember_source(store, shown, calendar_id, text)
    for calendar, shown in effects.metas:
        set_calendar_meta(store, calendar, shown)
    for override, why in effects.cleared:
        clear_override(store, override, why)
    for override, shown, why in effects.stale:
        _note_stale(store, override, shown, why)


def engine_compile(store: Store | None, schedules_dir: Path, config_dir: Path, now: dt.datetime,
                   *, extra: Iterable[Override] = (), clear: bool = True,
                   config: Config | None = None) -> list[SourcePlan]:
    """The engine's compile of the whole schedules directory (``worker.plan``), fed from the
    store and its findings written back to it. ``config``: config/ already read by the
    caller (read here when None). ``clear`` False (a preview) applies every override and
    clears none."""
    if config is None:
        try:
            config = load_config(config_dir)
        except ConfigError as exc:
            return config_failed(schedules_dir, exc)
    plans, effects = compile_for_engine(schedules_dir, config, now, plan_inputs(store, extra),
                                        clear=clear and store is not None)
    if store is not None:
        apply_effects(store, effects)
    return plans


def find_calendar_file(schedules_dir: Path, calendar_id: str) -> Path | None:
    """The file of a calendar id (or of a path given instead of an id)."""
    schedules_dir = Path(schedules_dir)
    as_path = Path(calendar_id)
    for candidate in (as_path, schedules_dir / as_path):
        if candidate.is_file():
            return candidate
    for file in calendar_files([schedules_dir]):
        try:
            text = file.read_text(encoding="utf-8")
            doc = parse_yaml(text, str(file))
        except (OSError, YamlProblem):
            continue
        data = doc.data
        if isinstance(data, dict) and isinstance(data.get("calendar"), dict) \
                and data["calendar"].get("id") == calendar_id:
            return file
    return None


def new_override(calendar: str, kind: str, name: str, *, value: str = "", path: str = "",
                 reason: str = "", by: str = "", old: str = "") -> Override:
    return Override(calendar, kind, name, value, path, reason, by, now_ms(), old)
