"""Text length, counted the way each platform counts it.

The linter calls these functions for every job of every compile (a benchmark calls them about
100k times), so each one has a fast path for the common case — Spanish, Catalan, Galician or
Basque text with at most a link — and defers to the exact (slow) algorithm only when the text
contains something that could change the result. ``tests/test_textlength.py`` checks that the
fast paths agree with the reference implementations.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import regex
from twitter_text import extract_urls_with_indices, parse_tweet

__all__ = ["x_weighted_length", "grapheme_length", "mastodon_length", "utf16_length",
           "char_length", "URL_LENGTH"]

#: X and Mastodon count every link as this many characters, whatever its real length
URL_LENGTH = 23

# X weights code points 0..4351 as one character (twitter-text config v3, "ranges"); everything
# else and every emoji weighs two. Within that range only © and ® are emoji (checked
# exhaustively against twitter-text's emoji regex), so a text of such characters without © or
# ® contains no emoji and needs no call to the (very slow, ~0.5 ms) emoji extractor.
_X_LIGHT = re.compile(r"[^\u0000-\u00a8\u00aa-\u00ad\u00af-\u10ff]")
# A URL needs a domain with a TLD, and TLDs start with a letter: without "dot + letter" (or a
# scheme) twitter-text cannot find a URL and the extractor need not run.
_MAYBE_URL = regex.compile(r"\.[^\W\d_]|://")
_LINE_ENDINGS = re.compile(r"\r\n|\r")
_TOKEN = re.compile(r"\S+")
# Code points that are always a grapheme cluster of their own (Latin, Latin-1, Latin
# Extended A/B, IPA, modifier letters); combining marks start at U+0300.
_MULTI_CP_GRAPHEMES = re.compile(r"[^\u0000-\u02ff]|\r\n")

_GRAPHEME = regex.compile(r"\X")

# Mastodon's Account::MENTION_RE: a remote mention "@user@domain" counts as "@user".
_MASTODON_MENTION = regex.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)",
    regex.IGNORECASE)
_URL_PLACEHOLDER = "x" * URL_LENGTH


@functools.lru_cache(maxsize=8192)
def x_weighted_length(text: str) -> int:
    """The weighted length X uses for its 280 limit (``parse_tweet(text).weightedLength``).

    Links count 23, CJK and emoji count 2, Latin text counts 1 per character, text is NFC
    normalised and CRLF counts as one.
    """
    if not text:
        return 0
    normalized = _LINE_ENDINGS.sub("\n", unicodedata.normalize("NFC", text))
    if _X_LIGHT.search(normalized):
        # emoji or heavy characters: only the reference algorithm gets every case right
        return parse_tweet(text).weightedLength
    length = len(normalized)
    if _MAYBE_URL.search(normalized):
        for start, end in _url_spans(normalized):
            length += URL_LENGTH - (end - start)
    return length


def _url_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each link twitter-text finds in ``text``.

    A link never contains whitespace, so the extractor runs on the few whitespace-separated
    tokens that could hold one: its regex costs time in proportion to the text it scans.
    """
    spans = []
    for token in _TOKEN.finditer(text):
        word = token.group()
        if _MAYBE_URL.search(word):
            offset = token.start()
            spans.extend((offset + start, offset + end) for start, end in _token_urls(word))
    return spans


@functools.lru_cache(maxsize=16384)
def _token_urls(word: str) -> tuple[tuple[int, int], ...]:
    # cached: the same official links and handles recur in thousands of jobs
    return tuple(tuple(entity["indices"]) for entity in extract_urls_with_indices(word))


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts its 300."""
    if not _MULTI_CP_GRAPHEMES.search(text):
        # every such code point is a cluster of its own (but CR LF, excluded above)
        return len(text)
    return len(_GRAPHEME.findall(text))


def mastodon_length(text: str) -> int:
    """Mastodon's count (StatusLengthValidator): grapheme clusters, after replacing each
    http(s) link with 23 characters and each ``@user@domain`` with ``@user``."""
    if "://" in text:
        parts = []
        last = 0
        for start, end in _url_spans(text):
            # Mastodon only waives links it linkifies, i.e. those with a scheme
            if text[start:end].lower().startswith(("http://", "https://")):
                parts.append(text[last:start])
                parts.append(_URL_PLACEHOLDER)
                last = end
        parts.append(text[last:])
        text = "".join(parts)
    if "@" in text:
        text = _MASTODON_MENTION.sub(r"@\2", text)
    return grapheme_length(text)


def utf16_length(text: str) -> int:
    """UTF-16 code units, as the Telegram Bot API counts its 4096 / 1024 limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def char_length(text: str) -> int:
    """Unicode code points (Python's ``len``), for platforms that document "characters"."""
    return len(text)
