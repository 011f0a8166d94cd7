"""The linter's semantic checks on a compiled calendar: accounts and platforms, lengths,
languages, dates in the past or on the wrong side of a period, dates typed by hand, quiet
periods and house style. Pure: ``now`` is a parameter. Image files, the one thing looked at on
disk, are checked by ``image_checks``."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Iterable

from adapters.capabilities import IMAGES_BY_URL, INSTAGRAM_MAX_HASHTAGS

from worker.config_model import Config
from worker.calendar.compile import CompiledEntry, account_capabilities
from worker.calendar.findings import Finding, did_you_mean
from worker.calendar.image_checks import check_images
from worker.calendar.instants import fact_deadline, fact_start, period_facts
from worker.calendar.model import Calendar
from worker.calendar.source import Document
from worker.calendar.url_checks import check_urls
from worker.calendar import textdates

#: a hashtag as Instagram counts it: '#' and a word, not inside a word or a URL fragment
_HASHTAG = re.compile(r"(?<![\w/#&])#\w+", re.UNICODE)


class Checker:
    def __init__(self, doc: Document, cal: Calendar, config: Config | None, now: dt.datetime):
        self.doc, self.cal, self.config, self.now = doc, cal, config, now
        self.findings: list[Finding] = []
        self._capabilities: dict[str, object] = {}
        self._bounds: dict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = {}
        self._dates: dict[str, dt.date] | None = None

    def add(self, path, severity, message, code, hint=""):
        self.findings.append(self.doc.finding(path, severity, message, code, hint))

    def run(self, compiled: Iterable[CompiledEntry]) -> list[Finding]:
        compiled = list(compiled)
        self.duplicate_ids()
        for item in compiled:
            self.languages(item)
            self.shape(item)
            self.accounts(item)
            self.lengths(item)
            self.timing(item)
            self.typed_dates(item)
            self.quiet_periods(item)
            self.style(item)
        return self.findings

    def duplicate_ids(self) -> None:
        counts = Counter(e.id for e in self.cal.entries)
        seen: set[str] = set()
        for entry in self.cal.entries:
            if counts[entry.id] > 1 and entry.id in seen:
                self.add(entry.path + ("id",), "error", f"entry id '{entry.id}' is used more than "
                         "once in this calendar", "duplicate-id",
                         "give every entry its own id: jobs and corrections are tracked by it")
            seen.add(entry.id)

    def languages(self, item: CompiledEntry) -> None:
        entry = item.entry
        for lang in self.cal.languages:
            if lang not in entry.text:
                self.add(entry.path + ("text",), "error", f"entry '{entry.id}' has no text in "
                         f"'{lang}', a language of this calendar", "missing-language",
                         f"add {lang}: under text:")
        for lang in entry.text:
            if lang not in self.cal.languages:
                self.add(entry.path + ("text", lang), "error", f"'{lang}' is not a language of "
                         "this calendar" + did_you_mean(lang, self.cal.languages),
                         "unknown-language", "add it to calendar.languages or fix the tag")
        images = list(entry.images) + [img for o in entry.overrides.values() for img in o.images or ()]
        for img in images:
            missing = [lang for lang in self.cal.languages if not img.alt.get(lang, "").strip()]
            if missing:
                self.add(img.path + ("alt",), "error", "image without alternative text in "
                         + ", ".join(missing), "missing-alt",
                         "describe the image in every language for blind citizens")

    def shape(self, item: CompiledEntry) -> None:
        entry = item.entry
        if entry.kind == "event" and entry.event is None:
            self.add(entry.path + ("kind",), "error", "an event entry needs an 'event:' section "
                     "(start, title)", "missing-event", "add event: {start: ..., title: ...}")
        if entry.kind != "event" and entry.event is not None:
            self.add(entry.path + ("event",), "error", "'event:' belongs to entries of kind "
                     "event", "event-kind", "add kind: event, or remove the event section")
        if entry.kind == "golive" and not entry.check_contains:
            # electronic offices answer 200 with "En construcción" long before a form opens:
            # a 200 alone would say "open now" over a placeholder
            self.add(entry.path + ("kind",), "warning", f"go-live '{entry.id}' has no "
                     "check_contains: a page that answers 200 with a placeholder would release "
                     "it", "golive-no-text",
                     "add check_contains: a text the page shows only once the procedure is "
                     "open (the form's name, \"Presentar solicitud\")")
        if entry.period and entry.period not in self.cal.periods:
            self.add(entry.path + ("for",), "error", f"unknown period '{entry.period}'"
                     + did_you_mean(entry.period, self.cal.periods), "unknown-period",
                     "define it under periods:")

    def accounts(self, item: CompiledEntry) -> None:
        entry = item.entry
        for i, ref in enumerate(entry.accounts):
            # a single account written as a scalar has no item position: pos() falls back
            path = entry.path + ("accounts", i)
            account = self.config.accounts.get(ref) if self.config else None
            if self.config is not None and account is None:
                self.add(path, "error", f"unknown account '{ref}'"
                         + did_you_mean(ref, self.config.accounts), "unknown-account",
                         "accounts are declared in config/accounts.yaml")
            if account is not None and not account.may_publish(self.cal.department):
                self.add(path, "error", f"account '{ref}' belongs to department "
                         f"'{account.department}', not to '{self.cal.department}'",
                         "account-department", "ask its owner to list your department under "
                         "also_departments, or publish on your own account")
            try:
                caps = self._caps(ref)
            except ValueError:
                continue
            images = entry.overrides.get(ref, entry.overrides.get(caps.platform))
            images = images.images if images is not None and images.images is not None else entry.images
            if len(images) > caps.max_images:
                self.add(path, "error", f"{ref} takes at most {caps.max_images} images; this "
                         f"entry has {len(images)}", "too-many-images", "remove some images")
            if caps.requires_image and not images:
                self.add(path, "error", f"{caps.platform} posts need an image", "image-required",
                         "add images: with alt text, or remove this account")
            if caps.platform in IMAGES_BY_URL:
                for img in images:
                    if not img.url:
                        # the platform downloads the image itself: a local file cannot be sent
                        self.add(img.path, "error", f"{caps.platform} fetches images from a "
                                 "public address; this image has only a file", "image-needs-url",
                                 "publish the image on the web and give its url:")
            if caps.native_events and entry.kind != "event":
                self.add(path, "error", f"{ref} is an iCalendar feed: only entries of kind event "
                         "go there", "feed-needs-event", "use kind: event, or remove this account")
            if entry.kind == "golive" and caps.native_events:
                self.add(path, "error", "a go-live announcement cannot go to a calendar feed",
                         "feed-needs-event")
            if not caps.clickable_links and entry.link:
                self.add(path, "warning", f"links are not clickable on {caps.platform}: the post "
                         "should not rely on its link", "link-not-clickable",
                         "say where to find it in words ('enlace en la biografía')")

    def _caps(self, ref: str):
        """The capabilities of an account, with its own limits (a Mastodon instance's)."""
        if ref not in self._capabilities:
            account = self.config.accounts.get(ref) if self.config else None
            self._capabilities[ref] = account_capabilities(ref, account.options if account else None)
        return self._capabilities[ref]

    def _fact_dates(self) -> dict[str, dt.date]:
        """The date of every date fact: what hand-typed dates in texts are checked against."""
        if self._dates is None:
            self._dates = {name: (f.value.date() if f.kind == "datetime" else f.value)
                           for name, f in self.cal.facts.items()
                           if f.kind in ("date", "datetime")}
        return self._dates

    def _period_bounds(self, opens, closes) -> tuple[dt.datetime, dt.datetime]:
        """When a period opens and closes: the same for every entry of the period."""
        key = (opens.name, closes.name)
        if key not in self._bounds:
            self._bounds[key] = (fact_start(opens, self.cal), fact_deadline(closes, self.cal))
        return self._bounds[key]

    def lengths(self, item: CompiledEntry) -> None:
        entry = item.entry
        for job in item.drafts:
            caps = self._caps(job.account)
            length = caps.count(job.text)
            limit = caps.text_limit
            if job.images and caps.platform == "telegram":
                limit = min(limit, 1024)  # a caption under a photo, not a message
            if entry.thread and caps.can_thread:
                pass  # a thread of posts that fit, or the compiler's finding says why not
            elif length > limit:
                how = {"x-weighted": " (X counts URLs as 23 and some characters double)",
                       "graphemes": " (graphemes)", "mastodon": " (URLs count 23)",
                       "threads": " (Threads counts each emoji as its UTF-8 bytes)",
                       }.get(caps.counting, "")
                self.add(entry.path + ("text",), "error",
                         f"'{entry.id}' for {job.account} in {job.language} is {length} characters;"
                         f" {caps.platform} allows {limit}{how}", "too-long",
                         f"shorten it by {length - limit}, or add overrides: {{{caps.platform}: "
                         "{text: ...}} with a shorter text"
                         + (f" ({caps.platform} cannot publish threads)" if entry.thread else
                            ", or thread: true where the network publishes threads"
                            if caps.can_thread else ""))
            if caps.platform == "instagram":
                tags = _HASHTAG.findall(job.text)
                if len(tags) > INSTAGRAM_MAX_HASHTAGS:
                    self.add(entry.path + ("text",), "error", f"'{entry.id}' for {job.account} "
                             f"has {len(tags)} hashtags (calendar hashtags included); Instagram "
                             f"allows {INSTAGRAM_MAX_HASHTAGS}", "too-many-hashtags",
                             "keep the few hashtags people actually follow")
            if caps.alt_text_limit:
                for img in job.images:
                    if len(img.alt) > caps.alt_text_limit:
                        self.add(entry.path + ("images",), "error", f"alt text is {len(img.alt)} "
                                 f"characters; {caps.platform} allows {caps.alt_text_limit}",
                                 "alt-too-long", "shorten the description")

    def timing(self, item: CompiledEntry) -> None:
        entry, instant = item.entry, item.instant
        if instant is None:
            return
        # formatted only for a finding: most entries have none, and strftime is not free
        local = _Lazy(lambda: instant.strftime("%Y-%m-%d %H:%M"))
        if instant < self.now and not entry.archived:
            self.add(entry.path + ("at",), "error", f"'{entry.id}' is due {local}, which is in "
                     "the past", "in-the-past", "fix the date (is the year right?); if it was "
                     "already published, add archived: true")
        facts = period_facts(self.cal, entry)
        if facts is None or entry.archived:
            return
        period = self.cal.periods[entry.period]
        opens, closes = facts
        start, end = self._period_bounds(opens, closes)
        close_text = _Lazy(lambda: closes.value.strftime(
            "%Y-%m-%d" if closes.kind == "date" else "%Y-%m-%d %H:%M"))
        if entry.kind == "golive" and instant < start:
            self.add(entry.path + ("at",), "error", f"go-live '{entry.id}' at {local} says the "
                     f"period is open before it opens ({period.opens})", "golive-before-open",
                     f"publish it at or after {period.opens}: at: {{on: {period.opens}, time: ...}}")
        if entry.role == "announcement" and instant >= start:
            self.add(entry.path + ("at",), "warning", f"announcement '{entry.id}' goes out at "
                     f"{local}, when the period is already open", "announcement-late",
                     "use role: reminder, or publish it before the period opens")
        if entry.role != "closing" and instant > end:
            what = "reminder" if entry.role == "reminder" else "post"
            self.add(entry.path + ("at",), "error", f"{what} '{entry.id}' goes out at {local}, "
                     f"after the period closes ({period.closes}: {close_text})",
                     "after-deadline", "publish it before the deadline, or mark it role: closing")

    def typed_dates(self, item: CompiledEntry) -> None:
        entry = item.entry
        if self.config is not None and self.config.typed_dates == "ignore":
            typed_severity = None
        else:
            typed_severity = self.config.typed_dates if self.config else "warning"
        fact_dates = self._fact_dates()
        year = item.instant.year if item.instant else None
        for lang, text in entry.text.items():
            if lang not in self.cal.languages:
                continue  # reported as unknown-language; it may be one we have no dates for
            for problem in textdates.check_text_dates(text, lang, fact_dates, year):
                severity = "error" if problem.kind != "typed-date" else typed_severity
                if severity is None:
                    continue
                line, col = _offset_pos(self.doc, entry.path + ("text", lang), text,
                                        problem.start)
                self.findings.append(Finding(self.doc.path, line, col, severity,
                                             problem.message, f"text-date-{problem.kind}",
                                             problem.hint))

    def quiet_periods(self, item: CompiledEntry) -> None:
        if self.config is None or item.instant is None or item.entry.archived:
            return
        for qp in self.config.quiet_periods:
            if qp.covers(item.instant, self.cal.department, item.entry.category):
                self.add(item.entry.path + ("at",), "error", f"'{item.entry.id}' falls in the "
                         f"quiet period '{qp.id}': {qp.reason}", "quiet-period",
                         "move it outside the period" + (", or set category: to one of "
                                                         + ", ".join(qp.allow) if qp.allow else ""))

    def style(self, item: CompiledEntry) -> None:
        if self.config is None:
            return
        entry = item.entry
        for lang, text in entry.text.items():
            lowered = text.lower()
            for word, hint in self.config.forbidden:
                at = lowered.find(word.lower())
                if at >= 0:
                    line, col = _offset_pos(self.doc, entry.path + ("text", lang), text, at)
                    self.findings.append(Finding(self.doc.path, line, col, "error",
                                                 f"house style: avoid '{word}'", "style-word",
                                                 hint or "rephrase"))
        for job in item.drafts:
            required = (self.config.required_hashtags.get(self.cal.department, ())
                        + self.config.required_hashtags.get(job.account, ()))
            for tag in required:
                if tag.lower() not in job.text.lower():
                    self.add(entry.path + ("text",), "error", f"house style: posts of "
                             f"{self.cal.department} on {job.account} must carry {tag}",
                             "style-hashtag", f"add {tag} to the text or to calendar.hashtags")


class _Lazy:
    """A text computed only if a message is formatted with it."""

    __slots__ = ("_make",)

    def __init__(self, make):
        self._make = make

    def __format__(self, spec: str) -> str:
        return format(self._make(), spec)

    def __str__(self) -> str:
        return self._make()


def _offset_pos(doc: Document, path: tuple, text: str, offset: int) -> tuple[int, int]:
    """Best-effort file position of a character inside a text value: exact for plain and
    single-line scalars; the value's start for folded block scalars."""
    line, col = doc.pos(path)
    lines = doc.text.splitlines()
    if 0 < line <= len(lines):
        row = lines[line - 1]
        if row[col - 1:col] in ("|", ">"):
            needle = text[offset:offset + 12]
            for i in range(line, min(len(lines), line + 200)):
                j = lines[i].find(needle) if needle else -1
                if j >= 0:
                    return i + 1, j + 1
            return line, col
        quote = row[col - 1:col] in ("'", '"')
        prefix = text[:offset]
        if "\n" not in prefix:
            return line, col + offset + (1 if quote else 0)
    return line, col


def check_calendar(doc: Document, cal: Calendar, compiled: list[CompiledEntry],
                   config: Config | None, now: dt.datetime) -> list[Finding]:
    # image files are the one thing checked on disk (worker.calendar.image_checks)
    return (Checker(doc, cal, config, now).run(compiled) + check_images(doc, cal, compiled, config)
            + check_urls(doc, config.network.allow_hosts if config else ()))
