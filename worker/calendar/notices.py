"""Citizen-facing correction, retraction and cancellation texts, per language.

The defaults follow the formulas communication offices already use: Spanish "donde
decía ..., debe decir ..." (as in official corrections of errors), Catalan "on deia ...,
ha de dir ...", Galician "onde dicía ..., debe dicir ...", Basque "... zioen lekuan, ...
esan behar du". They avoid gendered adjectives ("se suspende X" instead of
"X queda suspendido/a") because the event name comes from the calendar.

Calendars may override any text per language with a template using ``{old}``, ``{new}``,
``{label}``, ``{reason}`` or ``{event}``. Templates are filled by our own loop over
``string.Formatter().parse`` -- never ``str.format`` -- and field names must be exactly
those words: no attribute or index access, no conversions, no format specs (``{old:>9999999}``
would be a cheap way to blow up a post).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from worker.calendar import localize


class NoticeTemplateError(ValueError):
    """An override template that uses anything but the allowed placeholders."""


# language -> (correction with label, correction without label)
_CORRECTION: dict[str, tuple[str, str]] = {
    "es": ("CORRECCIÓN sobre {label}: donde decía «{old}», debe decir «{new}».",
           "CORRECCIÓN: donde decía «{old}», debe decir «{new}»."),
    "ca": ("CORRECCIÓ sobre {label}: on deia «{old}», ha de dir «{new}».",
           "CORRECCIÓ: on deia «{old}», ha de dir «{new}»."),
    "gl": ("CORRECCIÓN sobre {label}: onde dicía «{old}», debe dicir «{new}».",
           "CORRECCIÓN: onde dicía «{old}», debe dicir «{new}»."),
    # Basque postpositions are suffixes ("-ri buruz"), which we cannot attach to a free
    # label, so the label goes in parentheses.
    "eu": ("ZUZENKETA ({label}): «{old}» zioen lekuan, «{new}» esan behar du.",
           "ZUZENKETA: «{old}» zioen lekuan, «{new}» esan behar du."),
    "en": ("CORRECTION: {label} is {new}, not {old}.",
           "CORRECTION: “{old}” should read “{new}”."),
}

# A short note appended to a post that was edited in place.
_NOTE: dict[str, str] = {
    "es": "(Corregido: donde decía «{old}», ahora dice «{new}».)",
    "ca": "(Corregit: on deia «{old}», ara diu «{new}».)",
    "gl": "(Corrixido: onde dicía «{old}», agora di «{new}».)",
    "eu": "(Zuzendua: «{old}» zioen lekuan, «{new}» dio orain.)",
    "en": "(Corrected: this post said “{old}”; it now says “{new}”.)",
}

_RETRACTION: dict[str, str] = {
    "es": "ANULADO: esta publicación queda sin efecto.",
    "ca": "ANUL·LAT: aquesta publicació queda sense efecte.",
    "ca-valencia": "ANUL·LAT: esta publicació queda sense efecte.",
    "gl": "ANULADO: esta publicación queda sen efecto.",
    "eu": "BALIOGABETUTA: argitalpen honek ez du balio.",
    "en": "WITHDRAWN: this post is no longer valid.",
}

# language -> (with event, without event)
_CANCELLATION: dict[str, tuple[str, str]] = {
    "es": ("AVISO: se suspende {event}.", "AVISO: se suspende el acto anunciado."),
    "ca": ("AVÍS: se suspèn {event}.", "AVÍS: se suspèn l’acte anunciat."),
    "ca-valencia": ("AVÍS: se suspén {event}.", "AVÍS: se suspén l’acte anunciat."),
    "gl": ("AVISO: suspéndese {event}.", "AVISO: suspéndese o acto anunciado."),
    "eu": ("OHARRA: {event} bertan behera geratu da.",
           "OHARRA: iragarritako ekitaldia bertan behera geratu da."),
    "en": ("NOTICE: {event} has been cancelled.", "NOTICE: the announced event has been cancelled."),
}

_REASON: dict[str, str] = {
    "es": " Motivo: {reason}.", "ca": " Motiu: {reason}.", "gl": " Motivo: {reason}.",
    "eu": " Arrazoia: {reason}.", "en": " Reason: {reason}.",
}

CORRECTION_FIELDS = frozenset({"old", "new", "label"})
RETRACTION_FIELDS = frozenset({"reason"})
CANCELLATION_FIELDS = frozenset({"event", "reason"})


def check_notice_template(template: str, allowed: frozenset[str]) -> list[str]:
    """Problems with an override template (empty when it is usable)."""
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:  # "{" without "}", and the like
        return [f"malformed template: {exc}; write literal braces as '{{{{' and '}}}}'"]
    problems = []
    for _, field, spec, conversion in pieces:
        if field is None:
            continue
        if field not in allowed:
            problems.append(f"unknown placeholder '{{{field}}}'; allowed: "
                            + ", ".join(f"{{{f}}}" for f in sorted(allowed)))
        elif spec or conversion:
            problems.append(f"placeholder '{{{field}}}' cannot carry a format or conversion")
    return problems


def fill(template: str, values: Mapping[str, str], allowed: frozenset[str]) -> str:
    """``template`` with its placeholders replaced; NoticeTemplateError if it is unsafe."""
    problems = check_notice_template(template, allowed)
    if problems:
        raise NoticeTemplateError("; ".join(problems))
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            out.append(values.get(field) or "")
    return "".join(out)


def _override(lang: str, overrides: Mapping[str, str] | None) -> str | None:
    """The calendar's own template for ``lang``: exact tag first, then the base language."""
    if not overrides:
        return None
    tag = localize.normalize_language(lang)
    for key in (lang, tag, localize.base_language(tag)):
        if key in overrides:
            return overrides[key]
    return None


def _default(table: Mapping[str, object], lang: str):
    """Our text for ``lang``: the regional variant when we have one ("ca-valencia")."""
    tag = localize.normalize_language(lang)
    return table.get(tag, table[localize.base_language(tag)])


def _clean(reason: str | None) -> str:
    """Trim a reason so the sentence ends with exactly one full stop."""
    return (reason or "").strip().rstrip(".").strip()


def correction_text(lang: str, label: str | None, old: str, new: str,
                    overrides: Mapping[str, str] | None = None) -> str:
    """A correction reply: "CORRECCIÓN sobre el plazo de solicitud: donde decía «20 de
    agosto», debe decir «viernes, 27 de agosto de 2027»." ``old``/``new`` are already
    written in ``lang``; ``label`` names what changed ("el plazo de solicitud")."""
    with_label, without = _default(_CORRECTION, lang)
    template = _override(lang, overrides) or (with_label if label else without)
    return fill(template, {"old": old, "new": new, "label": label or ""}, CORRECTION_FIELDS)


def correction_note(lang: str, old: str, new: str,
                    overrides: Mapping[str, str] | None = None) -> str:
    """A note appended to a post edited in place: "(Corregido: donde decía «…», ahora dice «…».)"."""
    template = _override(lang, overrides) or _default(_NOTE, lang)
    return fill(template, {"old": old, "new": new}, CORRECTION_FIELDS)


def retraction_text(lang: str, reason: str | None = None,
                    overrides: Mapping[str, str] | None = None) -> str:
    """A retraction: "ANULADO: esta publicación queda sin efecto. Motivo: …"."""
    reason = _clean(reason)
    template = _override(lang, overrides)
    if template is None:
        template = _default(_RETRACTION, lang) + (_default(_REASON, lang) if reason else "")
    return fill(template, {"reason": reason}, RETRACTION_FIELDS)


def cancellation_text(lang: str, event: str | None = None, reason: str | None = None,
                      overrides: Mapping[str, str] | None = None) -> str:
    """An event cancelled: "AVISO: se suspende el concierto del sábado. Motivo: …"."""
    reason = _clean(reason)
    template = _override(lang, overrides)
    if template is None:
        with_event, without = _default(_CANCELLATION, lang)
        template = (with_event if event else without) + (_default(_REASON, lang) if reason else "")
    return fill(template, {"event": event or "", "reason": reason}, CANCELLATION_FIELDS)
