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

def parse_tweet(text: str):
    # twitter-text compiles a huge TLD regex at import (~0.5 s): import it only when a text
    # really needs it, so `pregonero lint` in pre-commit stays fast.
    from twitter_text import parse_tweet as reference

    return reference(text)


def extract_urls_with_indices(text: str):
    from twitter_text import extract_urls_with_indices as reference

    return reference(text)

__all__ = ["x_weighted_length", "grapheme_length", "mastodon_length", "utf16_length",
           "char_length", "URL_LENGTH"]

#: X and Mastodon count every link as this many characters, whatever its real length
URL_LENGTH = 23

# X weights code points 0..4351 as one character (twitter-text config v3, "ranges"); everything
# else and every emoji weighs two. Within that range only © and ® are emoji (checked
# exhaustively against twitter-text's emoji regex), so a text of such characters without © or
# ® contains no emoji and needs no call to the (very slow, ~0.5 ms) emoji extractor.
_X_LIGHT = re.compile(r"[^\u0000-\u00a8\u00aa-\u00ad\u00af-\u10ff]")
# Characters outside X's weight-1 ranges (twitter-text config v3): each weighs two.
_X_HEAVY = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
# Anything that could be part of an emoji sequence. Without one, a text with heavy characters
# (€, «», CJK) can be weighed by ranges alone, without the slow emoji extractor.
_MAYBE_EMOJI = regex.compile(
    r"(?V1)[[\p{Emoji}\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}"
    r"\u200d\u20e3\ufe0f]--[0-9#*]]")
# A URL needs a domain with a TLD, and TLDs start with a letter: without "dot + letter" (or a
# scheme) twitter-text cannot find a URL and the extractor need not run.
_MAYBE_URL = re.compile(r"\.[^\W\d_]|://")
_LINE_ENDINGS = re.compile(r"\r\n|\r")
_SPACE = re.compile(r"\s")


def _candidates(text: str):
    """(start, word) of each whitespace-separated token that could hold a link: found from
    the few "dot + letter" or "://" spots, not by walking every word of the text."""
    covered = -1
    for hit in _MAYBE_URL.finditer(text):
        if hit.start() < covered:
            continue
        start = hit.start()
        while start and not text[start - 1].isspace():
            start -= 1
        after = _SPACE.search(text, hit.end())
        end = after.start() if after else len(text)
        covered = end
        yield start, text[start:end]
# Code points that are always a grapheme cluster of their own (UAX #29): Latin, Latin-1,
# Latin Extended A/B, IPA and modifier letters (combining marks start at U+0300), general
# punctuation after the zero-width joiners (’ “ ” … —) and currency signs (€). Texts made of
# them, CR LF aside, count one cluster per code point without running the \X regex.
_MULTI_CP_GRAPHEMES = re.compile(r"[^\u0000-\u02ff\u2010-\u205f\u20a0-\u20cf]|\r\n")

_GRAPHEME = regex.compile(r"\X")

# Mastodon's Account::MENTION_RE: a remote mention "@user@domain" counts as "@user".
_MASTODON_MENTION = regex.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)",
    regex.IGNORECASE)
_URL_PLACEHOLDER = "x" * URL_LENGTH
# Characters that are never part of an emoji: below U+2000 all but © ® (and # * digits, which
# need U+20E3 to become keycaps), general punctuation but ‼ ⁉ and the zero-width joiners, and
# currency signs. A text made of them (€, «», ’, —) skips the slower emoji property search.
_OUTSIDE_EMOJI_FREE = re.compile(
    r"[^\u0000-\u00a8\u00aa-\u00ad\u00af-\u1fff\u2010-\u203b\u203d-\u2048\u204a-\u205f"
    r"\u20a0-\u20cf]")


# Code points that every platform counts as exactly one character or grapheme cluster, and
# that are never part of an emoji: Latin up to the combining marks (U+0300) but © and ®
# (emoji) and CR (CR LF is one), dashes, quotes, bullets and the ellipsis (U+2010-2027) and
# currency signs (€). Such text is already NFC. Most posts of our users are made of nothing
# else, so one scan tells every counter it may count code points.
_NOT_PLAIN = re.compile(
    r"[^\u0000-\u000c\u000e-\u00a8\u00aa-\u00ad\u00af-\u02ff\u2010-\u2027\u20a0-\u20cf]")
# Among those, the ones X weighs two (outside its weight-1 ranges): † ‡ • … and € ₽ ...
_PLAIN_BUT_HEAVY_ON_X = re.compile(r"[\u2020-\u2027\u20a0-\u20cf]")


@functools.lru_cache(maxsize=8192)
def _is_plain(text: str) -> bool:
    # cached: X, Mastodon and Bluesky count the same text of an entry one after the other
    return _NOT_PLAIN.search(text) is None


def _with_links_as(text: str, spans, *, only_http: bool) -> int:
    """Length in code points of a plain text when each link in ``spans`` counts
    ``URL_LENGTH``."""
    length = len(text)
    for start, end in spans:
        # Mastodon only waives links it linkifies, i.e. those with a scheme
        if not only_http or text[start:start + 8].lower().startswith(("http://", "https://")):
            length += URL_LENGTH - (end - start)
    return length


def _plain_x_length(text: str) -> int:
    """X's weight of a plain text: code points, links 23, heavy characters outside links 2."""
    spans = _url_spans(text)
    heavy = len(_PLAIN_BUT_HEAVY_ON_X.findall(text))
    if heavy:  # a link weighs 23 whatever it holds
        heavy -= sum(len(_PLAIN_BUT_HEAVY_ON_X.findall(text, start, end)) for start, end in spans)
    return _with_links_as(text, spans, only_http=False) + heavy


@functools.lru_cache(maxsize=8192)
def x_weighted_length(text: str) -> int:
    """The weighted length X uses for its 280 limit (``parse_tweet(text).weightedLength``).

    Links count 23, CJK and emoji count 2, Latin text counts 1 per character, text is NFC
    normalised and CRLF counts as one.
    """
    if not text:
        return 0
    if _is_plain(text):
        return _plain_x_length(text)
    normalized = _LINE_ENDINGS.sub("\n", unicodedata.normalize("NFC", text))
    heavy = _X_LIGHT.search(normalized) is not None
    if heavy and _OUTSIDE_EMOJI_FREE.search(normalized) and _MAYBE_EMOJI.search(normalized):
        # emoji: only the reference algorithm gets every sequence right
        return parse_tweet(text).weightedLength
    candidates = tuple(_candidates(normalized))
    if not all(word.isascii() for _, word in candidates):
        # around letters beyond ASCII twitter-text delimits links by the context outside the
        # whitespace token ("ñcalp.es" alone holds "calp.es"; after a newline it is all a
        # link): let it scan the whole text
        spans = [tuple(e["indices"]) for e in extract_urls_with_indices(normalized)]
    else:
        spans = _spans_in(candidates)
    if spans:
        # every link weighs 23, whatever characters it holds
        pieces, last = [], 0
        for start, end in spans:
            pieces.append(normalized[last:start])
            last = end
        pieces.append(normalized[last:])
        normalized = "".join(pieces)
    length = len(normalized) + URL_LENGTH * len(spans)
    if heavy:
        length += len(_X_HEAVY.findall(normalized))
    return length


@functools.lru_cache(maxsize=8192)
def _url_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The (start, end) of each link twitter-text finds in ``text``.

    A link never contains whitespace, so the extractor runs on the few whitespace-separated
    tokens that could hold one: its regex costs time in proportion to the text it scans.
    """
    # cached: X and Mastodon count the same texts; a tuple, so no caller can change the cache
    candidates = tuple(_candidates(text))
    if all(word.isascii() for _, word in candidates):
        return _spans_in(candidates)
    # beyond ASCII the context outside the token matters (see x_weighted_length)
    return tuple(tuple(entity["indices"]) for entity in extract_urls_with_indices(text))


def _spans_in(candidates) -> tuple[tuple[int, int], ...]:
    return tuple((offset + start, offset + end) for offset, word in candidates
                 for start, end in _token_urls(word))


# The plain case of a whole token that is an https link to a well-known TLD, which is what
# `link:` appends to nearly every post: recognised without loading twitter-text (whose TLD
# regex takes half a second to compile, too slow for a pre-commit hook). Anything else goes
# to twitter-text; tests compare both on random texts.
_PLAIN_LINK = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:es|com|org|net|eus|cat|gal|eu|info|"
    r"gob|mx|gov|edu|int|io|app|social)(?::[0-9]+)?(?:/[a-z0-9\-._~/?#&=%+]*)?", re.IGNORECASE)
_LINK_ENDING = "=_#/-+"


@functools.lru_cache(maxsize=16384)
def _token_urls(word: str) -> tuple[tuple[int, int], ...]:
    # cached: the same official links and handles recur in thousands of jobs
    end = len(word)
    # twitter-text ends a link on a letter, digit or one of =_#/-+ (trailing '.', ')' ... not)
    while end and not (word[end - 1].isascii() and (word[end - 1].isalnum()
                                                    or word[end - 1] in _LINK_ENDING)):
        end -= 1
    if _PLAIN_LINK.fullmatch(word, 0, end) and word[end:].isascii() and "(" not in word:
        return ((0, end),)
    return tuple(tuple(entity["indices"]) for entity in extract_urls_with_indices(word))


# Code points that can join a grapheme cluster with a neighbour (UAX #29 rules GB3-GB13):
# without any of them, every code point is a cluster of its own.
_JOINERS = regex.compile(
    r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]")


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts its 300."""
    if _is_plain(text) or not _MULTI_CP_GRAPHEMES.search(text) or not _JOINERS.search(text):
        # every such code point is a cluster of its own (but CR LF, excluded above)
        return len(text)
    return len(_GRAPHEME.findall(text))


#: a grapheme cluster that shows as an emoji
_PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")


def threads_length(text: str) -> int:
    """Threads' count for its 500: characters, each emoji counted as its UTF-8 bytes
    (developers.facebook.com/documentation/threads/posts, "Limitations")."""
    if text.isascii():
        return len(text)
    return sum(len(cluster.encode("utf-8")) if _PICTOGRAPHIC.search(cluster) else 1
               for cluster in _GRAPHEME.findall(text))


def mastodon_length(text: str) -> int:
    """Mastodon's count (StatusLengthValidator): grapheme clusters, after replacing each
    http(s) link with 23 characters and each ``@user@domain`` with ``@user``."""
    if "@" not in text and _is_plain(text):
        return _with_links_as(text, _url_spans(text) if "://" in text else (), only_http=True)
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


#: what the Telegram server removes before counting (TDLib ``clean_input_string``): carriage
#: returns and the bidi/line separators U+2028..U+202E
_TELEGRAM_DROPPED = re.compile("[\r\u2028-\u202e]")


def telegram_sent_length(text: str) -> int:
    """The length the Telegram server holds a message or caption to (4096 / 1024): after its
    cleaning (``_TELEGRAM_DROPPED`` gone, trailing whitespace and leading spaces and newlines
    trimmed: TDLib ``fix_formatted_text``), in code points (TDLib ``utf8_length``). The
    linter's UTF-16 count (``utf16_length``) is never below it, so what lints goes out."""
    return len(_TELEGRAM_DROPPED.sub("", text).rstrip().lstrip(" \n"))


def char_length(text: str) -> int:
    """Unicode code points (Python's ``len``), for platforms that document "characters"."""
    return len(text)
