"""Decide, per published post, how to put it right: pure (no Redis, no network, no clock).

Given the version citizens saw (the job as last published), the version the calendar now
compiles to (or nothing, when the entry was removed or cancelled) and what the platform can do,
return the steps to send: an edit in place with a visible correction note where the platform
allows it, otherwise a reply that states the new value; for removed entries, a deletion, a
hidden post or a cancellation notice, as the retraction policy says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal, Mapping

from adapters.base import Capabilities

from worker.calendar import localize, notices
from worker.corrections import phrases
from worker.jobs import Job

StepAction = Literal["correct", "reply", "retract"]
Policy = Literal["delete", "reply", "hide"]

@dataclasses.dataclass(frozen=True)
class Change:
    """One fact whose value changed, as citizens read it in one language."""

    fact: str
    language: str
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing to send to the platform about a published post."""

    action: StepAction
    language: str
    text: str
    #: the full new text of the post, for edits in place
    new_post_text: str | None = None
    reason: str = ""


def changed_values(old: Job, new: Job, language: str) -> list[Change]:
    """What changed in one language, quoted as the published text wrote it and given as the
    new text writes it, in full.

    The quote is the whole date phrase citizens read ("viernes 18 de diciembre de 2026 a las
    10:00", weekday and time included: see ``phrases``), so that nobody combines a new date
    with the old weekday; the new value states its weekday (and time) even where the post did
    not. Text facts are quoted as written.
    """
    old_text = old.parts.get(language, old.text) if old.parts else old.text
    new_text = new.parts.get(language, new.text) if new.parts else new.text
    moved = {fact for fact, value in old.depends_on.items()
             if new.depends_on.get(fact) not in (None, value)}
    old_values = _values(old.depends_on)
    new_values = _values(new.depends_on)
    changes: list[Change] = []
    found = phrases.changed_phrases(old_text, old_values, new_text, new_values, language, moved)
    covered: set[str] = set()
    for said, says, facts in found or ():
        fact = min(facts & moved)
        changes.append(Change(fact, language, said, says))
        covered |= facts
    for fact in sorted(moved - covered):
        old_value, new_value = old.depends_on[fact], new.depends_on[fact]
        if fact not in old_values or fact not in new_values:
            if old_value in old_text:  # a text fact, quoted as written
                changes.append(Change(fact, language, old_value, new_value))
            continue
        if found is not None:
            continue  # the phrases were compared: this value reads the same, or is not written
        # the texts do not pair up (a note of an earlier correction, a rewritten text): quote
        # the first phrase that states the value, give the new value in full
        said = phrases.phrases(old_text, {fact: old_values[fact]}, language)
        if said:
            changes.append(Change(fact, language, said[0].text(old_text),
                                  _full(new_values[fact], language) or new_value))
    return changes


def _values(depends_on: Mapping[str, str]) -> dict[str, phrases.Value]:
    parsed = {fact: phrases.parse_value(value) for fact, value in depends_on.items()}
    return {fact: value for fact, value in parsed.items() if value is not None}


def _full(value: phrases.Value, lang: str) -> str:
    if isinstance(value, dt.datetime):
        return localize.format_datetime(value, lang, "full")
    if isinstance(value, dt.date):
        return localize.format_date(value, lang, "full")
    return localize.time_phrase(value, lang)


def _languages(job: Job) -> list[str]:
    return job.language.split("+")


def _can_edit(caps: Capabilities, published_at: dt.datetime | None, edits_so_far: int,
              now: dt.datetime) -> bool:
    edit = caps.edit
    if not edit.possible:
        return False
    if edit.max_edits is not None and edits_so_far >= edit.max_edits:
        return False
    if edit.window_s is not None:
        if published_at is None:
            return False
        # keep a minute of margin: the edit must reach the platform inside the window
        return (now - published_at).total_seconds() < edit.window_s - 60
    return True


def correction_steps(old: Job, new: Job, caps: Capabilities, *, now: dt.datetime,
                     published_at: dt.datetime | None = None, edits_so_far: int = 0,
                     labels: Mapping[str, Mapping[str, str]] | None = None,
                     overrides: Mapping[str, Mapping[str, str]] | None = None) -> list[Step]:
    """How to correct a published post whose calendar now says something else.

    ``labels`` maps fact -> language -> how citizens call it ("el plazo de solicitud");
    ``overrides`` maps notice kind ("correction") -> language -> template (from the calendar).
    Returns no steps when what citizens read has not changed.
    """
    if old.text == new.text:
        return []
    labels = labels or {}
    correction_overrides = (overrides or {}).get("correction")
    languages = _languages(old)
    changes = {lang: changed_values(old, new, lang) for lang in languages}
    if _can_edit(caps, published_at, edits_so_far, now):
        notes = [notices.correction_note(lang, c.old, c.new, correction_overrides)
                 for lang in languages for c in changes[lang]]
        text = new.text if not notes else new.text + "\n\n" + "\n".join(notes)
        return [Step("correct", old.language, text, new_post_text=text,
                     reason="edit in place")]
    if not caps.replies:
        return [Step("reply", old.language, "", reason="cannot edit or reply: alert an operator")]
    steps = []
    for lang in languages:
        lines = [notices.correction_text(lang, labels.get(c.fact, {}).get(lang), c.old, c.new,
                                         correction_overrides) for c in changes[lang]]
        if not lines:
            # the text changed, not a fact: repeat the corrected text under the original
            lines = [notices.correction_text(lang, None, "…", new.parts.get(lang, new.text)
                                             if new.parts else new.text, correction_overrides)]
        steps.append(Step("reply", lang, "\n".join(lines), reason="the platform cannot edit"))
    if len(languages) > 1 and caps.language_strategy == "combined":
        # one combined post gets one combined reply, primary language first
        return [Step("reply", old.language, "\n\n".join(s.text for s in steps),
                     reason="the platform cannot edit")]
    return steps


def retraction_steps(old: Job, caps: Capabilities, policy: Policy, *, now: dt.datetime,
                     published_at: dt.datetime | None = None, reason: str | None = None,
                     overrides: Mapping[str, Mapping[str, str]] | None = None) -> list[Step]:
    """How to withdraw a published post whose entry was cancelled or removed."""
    languages = _languages(old)
    retraction_overrides = (overrides or {}).get("retraction")
    notice = "\n\n".join(notices.retraction_text(lang, reason, retraction_overrides)
                         for lang in languages)
    can_delete = caps.delete and (
        caps.delete_window_s is None or (published_at is not None and
                                         (now - published_at).total_seconds()
                                         < caps.delete_window_s - 60))
    if policy == "delete" and can_delete:
        return [Step("retract", old.language, notice, reason="delete")]
    if policy == "hide" and _can_edit(caps, published_at, 0, now):
        return [Step("correct", old.language, notice, new_post_text=notice,
                     reason="replace the text with a withdrawal notice")]
    if caps.replies:
        return [Step("reply", old.language, notice, reason="cancellation notice under the post")]
    if _can_edit(caps, published_at, 0, now):
        return [Step("correct", old.language, notice, new_post_text=notice,
                     reason="the platform can neither delete nor reply: edit")]
    return [Step("retract", old.language, notice, reason="delete")]
