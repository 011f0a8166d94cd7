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

from ..calendar import localize, notices
from ..jobs import Job

StepAction = Literal["correct", "reply", "retract"]
Policy = Literal["delete", "reply", "hide"]

#: date styles tried, longest first, to find how a value was written in a published text
_STYLES = ("full", "long", "day_month", "short", "iso", "weekday")


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


def _parse_value(value: str) -> dt.date | dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M") if " " in value \
            else dt.date.fromisoformat(value)
    except ValueError:
        return None


def _written_forms(value: dt.date | dt.datetime, lang: str) -> list[str]:
    day = value.date() if isinstance(value, dt.datetime) else value
    forms = []
    if isinstance(value, dt.datetime):
        forms.append(localize.format_datetime(value, lang, "full"))
    forms.extend(localize.format_date(day, lang, style) for style in _STYLES)
    return forms


def changed_values(old: Job, new: Job, language: str) -> list[Change]:
    """Facts whose value changed, written as the published text wrote them.

    The old value is searched in the published text in every date style, longest first, so
    the correction quotes exactly what citizens read ("miércoles, 14 de abril de 2027") and
    gives the new value in the same style.
    """
    changes = []
    old_text = old.parts.get(language, old.text) if old.parts else old.text
    for fact, old_value in sorted(old.depends_on.items()):
        new_value = new.depends_on.get(fact)
        if new_value is None or new_value == old_value:
            continue
        old_parsed, new_parsed = _parse_value(old_value), _parse_value(new_value)
        if old_parsed is None or new_parsed is None:
            if old_value in old_text:
                changes.append(Change(fact, language, old_value, new_value))
            continue
        for written_old, written_new in zip(_written_forms(old_parsed, language),
                                            _written_forms(new_parsed, language)):
            if written_old in old_text:
                changes.append(Change(fact, language, written_old, written_new))
                break
    return changes


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
