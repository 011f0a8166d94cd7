"""Dates and times written as a writer of each co-official language writes them.

Everything comes from CLDR (through Babel) with explicit locales, except where CLDR
leaves a choice to the reader: Basque patterns such as ``y('e')'ko' MMMM'ren' d('a')``
print "2027(e)ko apirilaren 9(a)", which no Basque writer would publish. Those
placeholders are resolved here by the Euskaltzaindia norms (37: dates, 35: hours),
which depend on how the number is *pronounced* (see ``basque_number_ending``).

Decisions:
- ``en`` is British English (``en_GB``): our users are European administrations, so
  "Friday, 9 April 2027" rather than "Friday, April 9, 2027". ``en-US`` stays available.
- Times are always 24-hour, even where CLDR prefers 12-hour (``es-MX``); the number of
  hour digits follows CLDR ("10:00" / "9:00" in es and ca, "09:00" in gl, eu, en).
- Aware datetimes are written as their wall-clock time: converting to the calendar's
  zone is the caller's job.
"""

from __future__ import annotations

import difflib
import functools
from datetime import date, datetime, time
from typing import Literal

from babel import Locale
from babel import dates as babel_dates

DateStyle = Literal["full", "long", "day_month", "weekday", "short", "iso"]
DATE_STYLES: tuple[str, ...] = ("full", "long", "day_month", "weekday", "short", "iso")

#: Language tags accepted in calendars, mapped to the Babel locale that writes them.
SUPPORTED_LANGUAGES: dict[str, str] = {
    "es": "es",
    "es-ES": "es_ES",
    "es-MX": "es_MX",
    "es-AR": "es_AR",
    "es-CL": "es_CL",
    "es-CO": "es_CO",
    "es-PE": "es_PE",
    "es-UY": "es_UY",
    "es-419": "es_419",
    "ca": "ca",
    "ca-ES": "ca_ES",
    "ca-AD": "ca_AD",
    "ca-valencia": "ca_ES_VALENCIA",
    "eu": "eu",
    "eu-ES": "eu_ES",
    "gl": "gl",
    "gl-ES": "gl_ES",
    "en": "en_GB",
    "en-GB": "en_GB",
    "en-IE": "en_IE",
    "en-US": "en_US",
}

# Case-insensitive lookup ("ES-mx", "ca-Valencia" and "es_MX" are the same tag).
_CANONICAL: dict[str, str] = {t.lower(): t for t in SUPPORTED_LANGUAGES}


def _canonical_tag(tag: str) -> str | None:
    if not isinstance(tag, str):
        return None
    return _canonical_str(tag)


@functools.lru_cache(maxsize=256)
def _canonical_str(tag: str) -> str | None:
    # cached: every rendered date asks, with the same few tags
    return _CANONICAL.get(tag.strip().replace("_", "-").lower())


class UnsupportedLanguage(ValueError):
    """A language tag pregonero cannot write dates in; ``hint`` lists the ones it can."""

    def __init__(self, message: str, hint: str):
        super().__init__(f"{message}; {hint}")
        self.message, self.hint = message, hint


def check_language(tag: str) -> None:
    """Raise UnsupportedLanguage (with a did-you-mean) unless ``tag`` is a supported language."""
    if _canonical_tag(tag) is None:
        match = difflib.get_close_matches(str(tag), list(SUPPORTED_LANGUAGES), n=1, cutoff=0.5)
        guess = f" (did you mean '{match[0]}'?)" if match else ""
        raise UnsupportedLanguage(f"unsupported language {tag!r}{guess}",
                                  f"supported: {', '.join(SUPPORTED_LANGUAGES)}")


def normalize_language(tag: str) -> str:
    """The canonical spelling of a supported tag ("es_mx" -> "es-MX"); ValueError if unknown."""
    check_language(tag)
    return _canonical_tag(tag)  # type: ignore[return-value]


def base_language(tag: str) -> str:
    """The language without region or variant: "es-MX" -> "es", "ca-valencia" -> "ca"."""
    return normalize_language(tag).split("-", 1)[0]


@functools.lru_cache(maxsize=None)
def babel_locale(tag: str) -> Locale:
    """The (cached) Babel Locale for a language tag; parsing locales is slow."""
    return Locale.parse(SUPPORTED_LANGUAGES[normalize_language(tag)])


# --- Basque numbers -------------------------------------------------------------------

# Last word of 1..19 when read aloud, and whether it ends in a consonant.
_BASQUE_UNITS = (
    None, "bat", "bi", "hiru", "lau", "bost", "sei", "zazpi", "zortzi", "bederatzi",
    "hamar", "hamaika", "hamabi", "hamahiru", "hamalau", "hamabost", "hamasei",
    "hamazazpi", "hemezortzi", "hemeretzi",
)
_BASQUE_TWENTIES = (None, "hogei", "berrogei", "hirurogei", "laurogei")


def basque_last_word(n: int) -> str:
    """The last word of ``n`` (n >= 1) read in Basque: 2027 -> "zazpi", 2030 -> "hamar".

    Basque counts in twenties below 100 ("hogeita hamar" = 30) and the last spoken word
    decides every suffix, so 2030 behaves like 10 and 2040 ("berrogei") like 20.
    """
    if n < 1:
        raise ValueError("Basque number endings are defined for positive integers")
    if n % 1_000_000 == 0:
        return "milioi"
    if n % 1000 == 0:
        return "mila"
    if n % 100 == 0:
        return "ehun"  # ehun, berrehun, hirurehun... all end in "ehun"
    rest = n % 100
    tens, unit = divmod(rest, 20)
    return _BASQUE_UNITS[unit] if unit else _BASQUE_TWENTIES[tens]


def basque_number_ending(n: int) -> Literal["consonant", "vowel", "a"]:
    """How the spoken ``n`` ends: "consonant" (bat, bost, hamar, ehun), "vowel" (bi, hogei,
    mila...) or "a" (hamaika: 11, 31, 2011 -- it already carries the article's ``a``)."""
    word = basque_last_word(n)
    if word.endswith("a") and word == "hamaika":
        return "a"
    return "vowel" if word[-1] in "aeiou" else "consonant"


def basque_year(year: int) -> str:
    """A year with the genitive ``-(e)ko``: 2027 -> "2027ko", 2021 -> "2021eko"."""
    return f"{year}{'eko' if basque_number_ending(year) == 'consonant' else 'ko'}"


def basque_day(day: int) -> str:
    """A day number with the absolutive article: 9 -> "9a", 10 -> "10a", 11 -> "11"."""
    # Norm 37: "hamaika" already ends in -a, so no second article is written.
    return f"{day}{'' if basque_number_ending(day) == 'a' else 'a'}"


def basque_locative(n: int) -> str:
    """A number in the locative (when?): 1 -> "1ean", 9 -> "9an", 11 -> "11n", 30 -> "30ean"."""
    ending = basque_number_ending(n)
    return f"{n}{ {'consonant': 'ean', 'vowel': 'an', 'a': 'n'}[ending] }"


def _resolve_basque(text: str, numbers: tuple[int, int]) -> str:
    """Replace CLDR's "(e)ko" and "(a)" placeholders after the given year and day."""
    year, day = numbers
    text = text.replace(f"{year}(e)ko", basque_year(year))
    return text.replace(f"{day}(a)", basque_day(day))


# --- dates ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _date_pattern(tag: str, style: str) -> str:
    locale = babel_locale(tag)
    if style in ("full", "long", "short"):
        return locale.date_formats[style].pattern
    if style == "day_month":
        skeleton = locale.datetime_skeletons.get("MMMMd")
        return skeleton.pattern if skeleton is not None else "d MMMM"
    if style == "weekday":
        return "EEEE"
    raise ValueError(f"unknown date style {style!r}; expected one of {', '.join(DATE_STYLES)}")


@functools.lru_cache(maxsize=8192)
def format_date(d: date, lang: str, style: str = "full") -> str:
    """``d`` written in ``lang``: full "viernes, 9 de abril de 2027", long (no weekday),
    day_month "9 de abril", weekday "viernes", short "9/4/27" (discouraged: ambiguous
    across countries), iso "2027-04-09". Cached: calendars repeat the same few dates."""
    if isinstance(d, datetime):
        d = d.date()
    if style == "iso":
        check_language(lang)
        return d.isoformat()
    pattern = _date_pattern(lang, style)
    text = babel_dates.format_date(d, pattern, locale=babel_locale(lang))
    if base_language(lang) == "eu":
        text = _resolve_basque(text, (d.year, d.day))
        if style == "short":
            # CLDR's eu short pattern is y/M/d with a 2-digit year ("27/4/9"), which reads
            # as 27 April; Euskaltzaindia writes the full year first: 2027/04/09.
            text = d.strftime("%Y/%m/%d")
    return text


# --- times ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _time_pattern(tag: str) -> str:
    """CLDR's short time pattern forced to 24 hours (es-MX prefers "1:05 p.m.")."""
    pattern = babel_locale(tag).time_formats["short"].pattern
    if "h" in pattern or "a" in pattern:
        return "HH:mm" if "hh" in pattern else "H:mm"
    return pattern


def format_time(t: time | datetime, lang: str) -> str:
    """A 24-hour time: "10:00" (es, ca: "9:00"; gl, eu, en: "09:00")."""
    if isinstance(t, datetime):
        t = t.time()
    pattern = _time_pattern(lang)
    digits = f"{t.hour:02d}" if pattern.startswith("HH") else str(t.hour)
    return f"{digits}:{t.minute:02d}"


def time_phrase(t: time | datetime, lang: str) -> str:
    """"At <time>" as each language says it: es "a las 10:00" / "a la 1:00", ca "a les
    10:00" / "a la 1:00", gl "ás 10:00" / "á 1:00", eu "10:00etan", en "at 10:00"."""
    if isinstance(t, datetime):
        t = t.time()
    clock = format_time(t, lang)
    base = base_language(lang)
    one = t.hour == 1  # "la una": the only singular hour (13:00 is "las trece")
    if base == "es":
        return f"{'a la' if one else 'a las'} {clock}"
    if base == "ca":
        return f"{'a la' if one else 'a les'} {clock}"
    if base == "gl":
        return f"{'á' if one else 'ás'} {clock}"
    if base == "eu":
        return clock + _basque_time_suffix(t)
    return f"at {clock}"


def _basque_time_suffix(t: time) -> str:
    """Norm 35: whole hours take the plural locative (15:00etan, but 01:00ean: "ordu
    batean"); otherwise the minutes decide, in the singular (15:03an, 15:30ean, 15:11n)."""
    if t.minute == 0:
        return "ean" if t.hour == 1 else "etan"
    return basque_locative(t.minute)[len(str(t.minute)):]


def format_datetime(dt: datetime, lang: str, style: str = "full") -> str:
    """A date (in ``style``) and its time: "viernes, 9 de abril de 2027, a las 10:00",
    "2027ko apirilaren 9a, ostirala, 10:00etan", "Friday, 9 April 2027 at 10:00"."""
    day = format_date(dt.date(), lang, style)
    when = time_phrase(dt.time(), lang)
    separator = " " if base_language(lang) == "en" else ", "
    return f"{day}{separator}{when}"
