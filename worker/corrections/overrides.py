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

The engine's compile differs from ``pregonero lint`` in two ways, both on purpose: an entry
whose instant has passed is not an error (its posts went out; the diff never sends a past job
late), and a post that now falls after its period's deadline is not an error either: its jobs
are planned but *flagged*, and the sync holds them with a reason for a person to decide. A
calendar must not be frozen at its old dates because a date moved.

It also records, per calendar, the fact labels and notice overrides the correction texts need
(``calendar_meta``), since the engine only stores jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Iterable, Mapping

import structlog

from worker.engine import keys
from worker.analysis import MAX_FILE_BYTES, analyze_document, calendar_files
from worker.calendar.findings import Finding
from worker.calendar.instants import entry_expiry
from worker.calendar.source import YamlProblem, parse_yaml
from worker.config import ConfigError, load_config
from worker.config_model import Config
from worker.engine.store import Store
from worker.engine.clock import now_ms

from worker.corrections import writeback

log = structlog.get_logger("pregonero.overrides")

OVERRIDES = keys.OVERRIDES
CALMETA_PREFIX = keys.CALMETA_PREFIX
#: lint errors that do not stop the engine's compile (see module doc)
TOLERATED = {"in-the-past": "in_the_past", "after-deadline": "after_deadline"}


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


# --- storage ----------------------------------------------------------------------------------


CHANGES_PREFIX = keys.CHANGES_PREFIX


def set_override(store: Store, override: Override) -> None:
    raw = json.dumps(override.as_dict(), ensure_ascii=False)
    pipe = store.r.pipeline(transaction=True)
    pipe.hset(OVERRIDES, override.field, raw)
    # the change log outlives the override: corrections and history cite who and why
    pipe.lpush(CHANGES_PREFIX + override.calendar, raw)
    pipe.ltrim(CHANGES_PREFIX + override.calendar, 0, 999)
    pipe.execute()
    store.audit_note(f"calendar:{override.calendar}", override.by or "cli",
                     f"override set: {override.describe()}; reason: {override.reason}")


def clear_override(store: Store, override: Override, why: str, by: str = "sync") -> bool:
    if store.r.hdel(OVERRIDES, override.field):
        store.audit_note(f"calendar:{override.calendar}", by,
                         f"override cleared: {override.describe()}: {why}")
        return True
    return False


def all_overrides(store: Store) -> list[Override]:
    out = []
    for _, raw in sorted(store.r.hgetall(OVERRIDES).items()):
        out.append(Override(**json.loads(raw)))
    return out


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
    return [Override(**json.loads(raw)) for raw in store.r.lrange(CHANGES_PREFIX + calendar, 0, -1)]


def retraction_reason(store: Store, calendar: str, entry: str) -> str | None:
    raw = store.r.hget(OVERRIDES, f"{calendar}|retract|{entry}")
    if raw:
        return json.loads(raw)["reason"]
    found = next((c for c in changes(store, calendar) if c.kind == "retract" and c.name == entry),
                 None)
    return found.reason if found else None


# --- calendar meta (labels and notice templates) ------------------------------------------------


def set_calendar_meta(client, calendar, path: str) -> None:
    meta = {"path": path,
            "labels": {name: dict(f.label) for name, f in calendar.facts.items() if f.label},
            "notices": {kind: dict(v) for kind, v in calendar.notices.items()},
            "languages": list(calendar.languages),
            "derived": {name: list(f.derived_from) for name, f in calendar.facts.items()
                        if f.derived_from}}
    client.set(CALMETA_PREFIX + calendar.id, json.dumps(meta, ensure_ascii=False))


def calendar_meta(store: Store, calendar_id: str) -> dict:
    raw = store.r.get(CALMETA_PREFIX + calendar_id)
    return json.loads(raw) if raw else {"labels": {}, "notices": {}}


# --- applying overrides ------------------------------------------------------------------------


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


def earlier_values(store: Store, override: Override) -> set[str]:
    """Every value the override's fact had before, from the log of CLI changes."""
    values = {override.old}
    for change in changes(store, override.calendar):
        if change.kind == "fact" and change.name == override.name:
            values.update({change.old, change.value})
    return values - {override.value, ""}


def _note_stale(store: Store, override: Override, shown: str, why: str) -> None:
    """Alert once per stale value: a stale copy is synced every minute until someone acts."""
    if store.r.hsetnx(keys.OVERRIDES_STALE, f"{override.field}|{why}", now_ms()):
        log.warning("override_kept_over_stale_calendar", calendar=override.calendar,
                    file=shown, override=override.describe(), detail=why, alert=True)
        store.audit_note(f"calendar:{override.calendar}", "sync",
                         f"stale calendar {shown}: {why}; kept {override.describe()}")


@dataclasses.dataclass(frozen=True)
class EnginePlan:
    """A calendar file's part of the plan, as the engine compiles it (see module doc)."""

    path: str
    calendar_id: str | None
    ok: bool
    jobs: tuple
    findings: tuple[Finding, ...]
    archived_entries: frozenset[str] = frozenset()
    #: job id -> reason to hold it (after its period's deadline, in the past)
    flagged: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: overrides applied to this file
    applied: tuple[Override, ...] = ()
    #: jobs of archived entries: never scheduled, but their published posts are still
    #: corrected when a fact they quote changes (the diff reads this)
    archived_jobs: tuple = ()
    #: entry id -> the instant after which its posts mislead (its period closed); a late
    #: send (``pregonero retry``) must not go out after it
    expires: Mapping[str, dt.datetime] = dataclasses.field(default_factory=dict)
    #: the file does not load: these jobs are its last good version with the CLI changes on
    #: top, and ``findings`` are the file's (the sync reports them as a load error)
    degraded: bool = False


def _flags(doc, analysis) -> dict[str, str]:
    """Jobs of entries with a tolerated timing error, with the reason to hold them."""
    by_pos = {}
    for finding in analysis.findings:
        if finding.code in TOLERATED:
            by_pos.setdefault((finding.line, finding.col), TOLERATED[finding.code])
    flagged = {}
    for item in analysis.compiled:
        reason = by_pos.get(doc.pos(item.entry.path + ("at",)))
        if reason:
            for job in item.jobs:
                flagged[job.id] = reason
    return flagged


@dataclasses.dataclass(frozen=True)
class LastGood:
    """The source text of a calendar file as it last compiled cleanly for the engine."""

    path: str
    calendar_id: str
    text: str
    at: str


def remember_source(store: Store, shown: str, calendar_id: str, text: str) -> None:
    """Keep the text of a calendar that compiled, so that on-call can still correct it when an
    editor leaves the file broken (written only when it changed)."""
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    key = keys.SOURCE_PREFIX + shown
    if store.r.hget(key, "sha") == digest.encode():
        return
    store.r.hset(key, mapping={"sha": digest, "calendar_id": calendar_id, "text": text,
                               "at": dt.datetime.now(dt.timezone.utc).isoformat()})


def last_good_source(store: Store, calendar: str) -> LastGood | None:
    """The last good source of a calendar, by its file (relative to the schedules) or its id."""
    candidates = [keys.SOURCE_PREFIX + calendar] + [
        key.decode() for key in store.r.scan_iter(match=keys.SOURCE_PREFIX + "*", count=1000)]
    for key in candidates:
        raw = store.r.hgetall(key)
        if not raw:
            continue
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        path = key[len(keys.SOURCE_PREFIX):]
        if calendar in (path, fields["calendar_id"]):
            return LastGood(path, fields["calendar_id"], fields["text"], fields["at"])
    return None


def _read(file: Path, shown: str) -> tuple[str | None, Finding | None]:
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return None, Finding(shown, 1, 1, "error", "file too large for a calendar",
                                 "too-large")
        return file.read_text(encoding="utf-8"), None
    except UnicodeDecodeError:
        return None, Finding(shown, 1, 1, "error", "the file is not UTF-8 text", "encoding",
                             "save the file as UTF-8")
    except OSError as exc:
        return None, Finding(shown, 1, 1, "error", f"cannot read: {exc.strerror}", "io")


def analyze_for_engine(file: Path, shown: str, config, now: dt.datetime,
                       overrides: list[Override], store: Store | None = None,
                       *, clear: bool = True, given_folder: Path | None = None) -> EnginePlan:
    """One calendar file for the engine: overrides applied, timing errors tolerated.

    A file that does not load keeps its last good version scheduled (the sync cancels
    nothing). When a CLI change applies to that calendar, the change is compiled on top of
    the last good version instead, so on-call can correct while the editor's mistake is still
    in the file: the plan is ``degraded`` and carries the file's findings. ``given_folder``:
    the schedules folder, the root of the calendar's images outside git."""
    text, unreadable = _read(file, shown)
    plan = (EnginePlan(shown, None, False, (), (unreadable,)) if text is None else
            _analyze_text(text, file, shown, config, now, overrides, store, clear, given_folder))
    if store is None:
        return plan
    if plan.ok:
        remember_source(store, shown, plan.calendar_id, text)
        return plan
    last = last_good_source(store, shown)
    if last is None or last.path != shown \
            or not any(o.calendar == last.calendar_id for o in overrides):
        return plan
    fallback = _analyze_text(last.text, file, shown, config, now, overrides, store, clear,
                             given_folder)
    if not fallback.ok:
        return plan
    return dataclasses.replace(fallback, findings=plan.findings, degraded=True)


def _analyze_text(text: str, file: Path, shown: str, config, now: dt.datetime,
                  overrides: list[Override], store: Store | None, clear: bool,
                  given_folder: Path | None = None) -> EnginePlan:
    try:
        doc = parse_yaml(text, shown)
    except YamlProblem as exc:
        return EnginePlan(shown, None, False, (), (exc.finding,))
    doc.file, doc.path = str(file), shown  # images resolve next to the real file
    doc.given_folder = str(given_folder) if given_folder is not None else None
    calendar_id = None
    if isinstance(doc.data, dict) and isinstance(doc.data.get("calendar"), dict):
        calendar_id = doc.data["calendar"].get("id")
    mine = [o for o in overrides if o.calendar == calendar_id]
    applied = []
    if mine:
        committed, in_git = writeback.committed_version(file)
        for override in mine:
            decision = decide(override, committed, in_git,
                              earlier_values(store, override) if store is not None else ())
            if decision.action == "clear" and clear and store is not None:
                clear_override(store, override, f"{shown}: {decision.why}")
                continue
            if decision.action == "apply_stale" and clear and store is not None:
                _note_stale(store, override, shown, decision.why)
            applied.append(override)
        if applied:
            doc.data = apply_to_data(doc.data, applied)
    analysis = analyze_document(doc, config, now)
    fatal = [f for f in analysis.findings if f.severity == "error" and f.code not in TOLERATED]
    ok = analysis.calendar is not None and not fatal
    if ok and store is not None:
        set_calendar_meta(store.r, analysis.calendar, shown)
    archived_jobs = tuple(j for c in analysis.compiled if c.entry.archived for j in c.jobs) \
        if ok else ()
    expires = {c.entry.id: moment for c in analysis.compiled
               if (moment := entry_expiry(analysis.calendar, c.entry)) is not None} if ok else {}
    return EnginePlan(shown, calendar_id, ok, analysis.jobs if ok else (), analysis.findings,
                      analysis.archived_entries, _flags(doc, analysis) if ok else {},
                      tuple(applied), archived_jobs, expires)


def engine_compile(store: Store | None, schedules_dir: Path, config_dir: Path, now: dt.datetime,
                   *, extra: Iterable[Override] = (), clear: bool = True,
                   config: Config | None = None) -> list[EnginePlan]:
    """The whole schedules directory for the engine (see module doc). ``extra`` overrides are
    applied as if stored (the CLI's preview of a change not made yet). ``config``: config/
    already read by the caller (read here when None)."""
    schedules_dir = Path(schedules_dir)
    files = calendar_files([schedules_dir])
    if config is None:
        try:
            config = load_config(config_dir)
        except ConfigError as exc:
            return [EnginePlan(str(f.relative_to(schedules_dir)), None, False, (),
                               tuple(exc.findings)) for f in files]
    overrides = (all_overrides(store) if store is not None else []) + list(extra)
    plans: list[EnginePlan] = []
    seen: dict[str, str] = {}
    for file in files:
        shown = str(file.relative_to(schedules_dir))
        plan = analyze_for_engine(file, shown, config, now, overrides, store, clear=clear,
                                  given_folder=schedules_dir)
        if plan.calendar_id and plan.calendar_id in seen:
            finding = Finding(shown, 1, 1, "error", f"calendar id '{plan.calendar_id}' is "
                              f"already used by {seen[plan.calendar_id]}", "duplicate-calendar")
            plan = dataclasses.replace(plan, ok=False, jobs=(), flagged={},
                                       findings=plan.findings + (finding,))
        elif plan.calendar_id:
            seen[plan.calendar_id] = shown
        plans.append(plan)
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
