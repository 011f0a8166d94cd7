"""Split a text too long for one post into the parts of a thread: pure.

An entry with ``thread: true`` whose text does not fit a platform that threads (X, Bluesky,
Mastodon, Threads: ``Capabilities.threads``) goes out as a chain of posts, each a reply to the
one before. Each part fits the platform's limit *as the platform counts* (X's weighted
characters with links as 23, Bluesky's graphemes...), counter included, and ends where a
reader would pause: a paragraph, else a line, else a sentence, else a clause, else a word,
never inside a word or a link. The counter ("1/3") closes each part on a line of its own, so
a citizen who lands on part 2 knows there is a part 1.
"""

from __future__ import annotations

import bisect
import re
from typing import Callable

#: a thread longer than this is a document, not a post: the linter asks for a shorter text
#: (or a link to the page that says it all)
MAX_PARTS = 10

#: a cut is chosen among the fitting ones no shorter than this share of the longest fitting
#: part: a paragraph break just after the start must not make a part of three words
_MIN_SHARE = 0.5


class ThreadProblem(ValueError):
    """The text cannot be a thread within the limits: ``code`` for the linter."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def marker(index: int, total: int) -> str:
    """What closes part ``index`` (0-based) of ``total``."""
    return f"\n{index + 1}/{total}"


def split_thread(text: str, limit: int, count: Callable[[str], int]) -> tuple[str, ...]:
    """The parts of ``text`` (each with its counter), or ``(text,)`` when it fits whole.
    Raises ``ThreadProblem`` when a single word (a long link) does not fit a part, or when
    the thread would need more than ``MAX_PARTS`` parts."""
    text = text.strip()
    if count(text) <= limit:
        return (text,)
    cuts = _cuts(text)
    total = 2
    for _ in range(4):  # the counter's width depends on the total: converges in one or two
        pieces = _greedy(text, cuts, limit, count, total)
        if len(pieces) == total:
            return tuple(piece + marker(i, total) for i, piece in enumerate(pieces))
        total = len(pieces)
        if total > MAX_PARTS:
            break
    raise ThreadProblem(f"the text needs more than {MAX_PARTS} posts as a thread",
                        "thread-too-long")


def _cuts(text: str) -> list[int]:
    """Every place a part may end: before each run of whitespace, and the text's end."""
    return [m.start() for m in re.finditer(r"\s+", text)] + [len(text)]


def _rank(text: str, cut: int) -> int:
    """How natural a pause a cut is: the end > paragraph > line > sentence > clause > word."""
    if cut == len(text):
        return 5
    gap = re.match(r"\s+", text[cut:]).group()
    if gap.count("\n") >= 2:
        return 4
    if "\n" in gap:
        return 3
    before = text[cut - 1] if cut else ""
    if before in ".!?…":
        return 2
    if before in ",;:)":
        return 1
    return 0


def _greedy(text: str, cuts: list[int], limit: int, count: Callable[[str], int],
            total: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    while start < len(text):
        if len(pieces) > MAX_PARTS:
            return pieces  # the caller reports it; no need to cut the rest
        tail = marker(len(pieces), total)
        first = bisect.bisect_right(cuts, start)

        def fits(k: int) -> bool:
            return count(text[start:cuts[k]] + tail) <= limit

        # the longest part that fits: a prefix's count grows with its length
        low, high = first, len(cuts) - 1
        if low > high or not fits(low):
            word = text[start:cuts[low] if low <= high else len(text)]
            raise ThreadProblem(f"'{word[:60]}' does not fit in one post even alone",
                                "thread-unsplittable")
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        longest = cuts[low]
        floor = start + (longest - start) * _MIN_SHARE
        window = [k for k in range(first, low + 1) if cuts[k] >= floor]
        best = max(window, key=lambda k: (_rank(text, cuts[k]), cuts[k]))
        cut = cuts[best]
        pieces.append(text[start:cut].strip())
        start = cut
        while start < len(text) and text[start].isspace():
            start += 1
    return pieces
