"""Compile a typed calendar into jobs: pure (no clock, no Redis, no network).

One job per entry, account and language on platforms that post once per language (X, Bluesky,
Mastodon); one combined job per entry and account on platforms that carry every language in one
post (Facebook, Telegram, the iCalendar feed). Problems met while compiling (an unknown fact,
a template that does not render, a time that does not exist) become findings, not exceptions.
"""

from __future__ import annotations

import dataclasses
import functools
import datetime as dt
import os
from typing import Mapping, NamedTuple

from adapters import capabilities_with_options, parse_account_ref
from adapters.base import Capabilities
from adapters.capabilities import IMAGES_BY_URL

from worker.jobs import EventInfo, Job, PlannedImage, job_id
from worker.calendar import templates
from worker.calendar.findings import Finding
from worker.calendar.holiday_calendar import HolidayCalendar
from worker.calendar.instants import InstantProblem, entry_instant, point_in_time
from worker.calendar.model import Calendar, Entry, ImageSpec
from worker.calendar.source import Document
from worker.calendar.thread_split import ThreadProblem, split_thread

UTC = dt.timezone.utc


class JobDraft(NamedTuple):
    """One job of an entry before it is a :class:`Job`: what it says, where and in which
    language. The linter checks drafts; only ``plan`` and the engine need whole jobs."""

    account: str
    platform: str
    language: str
    text: str
    link: str | None
    images: tuple[PlannedImage, ...]
    depends_on: Mapping[str, str]
    parts: Mapping[str, str]
    #: the posts of a thread (``Job.thread``), or empty
    thread: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CompiledEntry:
    """An entry with its resolved instant and the drafts of its jobs."""

    entry: Entry
    instant: dt.datetime | None
    drafts: tuple[JobDraft, ...]
    #: the fields every job of the entry shares (calendar, entry, due instant, ...)
    shared: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)

    @functools.cached_property
    def jobs(self) -> tuple[Job, ...]:
        """The entry's jobs, built on first use (a lint never asks)."""
        shared = self.shared
        return tuple(Job.build(shared, draft._asdict(),
                               id=job_id(shared["calendar"], shared["entry"], draft.account,
                                         draft.language))
                     for draft in self.drafts)


def fact_values(cal: Calendar) -> dict[str, templates.FactValue]:
    return {name: templates.FactValue(f.kind, f.value) for name, f in cal.facts.items()}


def account_capabilities(account: str, options: Mapping | None = None) -> Capabilities:
    """The capabilities of an account's platform, with the account's own limits (a Mastodon
    instance's character limit, ``max_images``, ``alt_text_limit``) applied."""
    platform, _ = parse_account_ref(account)
    return capabilities_with_options(platform, options)


def overridden(entry: Entry, account: str, platform: str, attr: str):
    """The entry's ``attr`` (text, link, images) for an account: an account override wins
    over a platform override, which wins over the entry."""
    for key in (account, platform):
        override = entry.overrides.get(key)
        if override is not None and getattr(override, attr) is not None:
            return getattr(override, attr)
    return getattr(entry, attr)


class Compiler:
    """Compiles one calendar; findings accumulate in ``self.findings``."""

    def __init__(self, doc: Document, cal: Calendar, holidays: HolidayCalendar,
                 account_options: Mapping[str, Mapping] | None = None):
        self.doc, self.cal, self.holidays = doc, cal, holidays
        self.account_options = account_options or {}
        self.values = fact_values(cal)
        self.known = {name: f.kind for name, f in cal.facts.items()}
        self.findings: list[Finding] = []
        #: the same text renders once per language, whatever the number of accounts
        self._rendered: dict[tuple[str, str, tuple], tuple[str | None, tuple[str, ...]]] = {}
        self._displays = {name: f.display() for name, f in cal.facts.items()}
        self._contents: dict[tuple, tuple | None] = {}
        self._threads: dict[tuple, tuple[str, ...]] = {}

    def error(self, path, message, code, hint=""):
        self.findings.append(self.doc.finding(path, "error", message, code, hint))

    def compile(self) -> list[CompiledEntry]:
        return [self._entry(entry) for entry in self.cal.entries]

    # -- one entry -------------------------------------------------------------------------
    def _entry(self, entry: Entry) -> CompiledEntry:
        try:
            instant, deps = entry_instant(self.cal, entry, self.holidays)
        except InstantProblem as exc:
            self.error(entry.path + exc.subpath, exc.message, exc.code, exc.hint)
            return CompiledEntry(entry, None, ())
        event = self._event(entry)
        # the fields every job of the entry shares (often seven jobs: per account and language)
        shared = dict(
            calendar=self.cal.id, entry=entry.id, kind=entry.kind,
            department=self.cal.department, due_utc=instant.astimezone(UTC),
            due_local=instant.strftime("%Y-%m-%d %H:%M %Z"), timezone=self.cal.timezone,
            official_url=(entry.check_url or self.cal.sources[0]) if entry.kind == "golive" else None,
            check_contains=entry.check_contains if entry.kind == "golive" else None,
            category=entry.category, event=event[0] if event else None)
        drafts = []
        for account in entry.accounts:
            try:
                caps = account_capabilities(account, self.account_options.get(account))
            except ValueError as exc:
                self.error(entry.path + ("accounts",), str(exc), "unknown-platform")
                continue
            groups = ([(lang,) for lang in self.cal.languages]
                      if caps.language_strategy == "per_language" else [self.cal.languages])
            for langs in groups:
                draft = self._draft(entry, account, caps, langs, deps, event)
                if draft is not None:
                    drafts.append(draft)
        return CompiledEntry(entry, instant, tuple(drafts), shared)

    def _render(self, text: str, lang: str, path: tuple) -> tuple[str | None, tuple[str, ...]]:
        key = (text, lang, path)
        if key not in self._rendered:
            self._rendered[key] = self._render_uncached(text, lang, path)
        return self._rendered[key]

    def _render_uncached(self, text: str, lang: str, path: tuple) -> tuple[str | None, tuple[str, ...]]:
        try:
            template = templates.parse_template(text)
        except templates.TemplateError as exc:
            self.error(path, f"template: {exc.message}", "template", exc.hint)
            return None, ()
        problems = templates.check_template(template, self.known)
        for exc in problems:
            self.error(path, f"template: {exc.message}", "template", exc.hint)
        if problems:
            return None, ()
        try:
            return templates.render(template, lang, self.values), tuple(template.references)
        except templates.TemplateError as exc:
            self.error(path, f"template: {exc.message}", "template", exc.hint)
            return None, ()

    def _texts(self, entry: Entry, account: str, platform: str) -> tuple[Mapping[str, str], tuple]:
        """The texts for an account: an account override wins over a platform override."""
        for key in (account, platform):
            override = entry.overrides.get(key)
            if override is not None and override.text is not None:
                return override.text, entry.path + ("overrides", key, "text")
        return entry.text, entry.path + ("text",)

    def _override(self, entry: Entry, account: str, platform: str, attr: str):
        return overridden(entry, account, platform, attr)

    def _draft(self, entry, account, caps, langs, deps, event) -> JobDraft | None:
        platform = caps.platform if caps.platform != "outbox" else parse_account_ref(account)[0]
        overrides = entry.overrides
        override_key = (account if account in overrides else platform if platform in overrides
                        else None)
        content = self._content(entry, override_key, account, platform, langs,
                                caps.native_events, deps, event)
        if content is None:
            return None
        text, link, images, depends, language, parts = content
        thread = (self._thread(entry, caps, text, language) if entry.thread and caps.can_thread
                  else ())
        return JobDraft(account, platform, language, text, link, images, depends,
                        parts if len(langs) > 1 else {}, thread)

    def _thread(self, entry: Entry, caps: Capabilities, text: str,
                language: str) -> tuple[str, ...]:
        """The posts of ``text`` as a thread on ``caps``'s platform (empty when it fits one
        post, or cannot be a thread: the finding, at the language's text, says why)."""
        key = (text, caps.text_limit, caps.counting)
        if key not in self._threads:
            try:
                parts = split_thread(text, caps.text_limit, caps.count)
            except ThreadProblem as exc:
                path = entry.path + ("text", language)
                self.error(path if self.doc.holds(path) else entry.path + ("text",),
                           f"'{entry.id}' in {language} as a thread on {caps.platform}: {exc}",
                           exc.code,
                           "shorten the text, or put the details on the official page and "
                           "link to it")
                parts = ()
            self._threads[key] = parts if len(parts) > 1 else ()
        return self._threads[key]

    def _content(self, entry, override_key, account, platform, langs, feed, deps, event):
        """What a job says: the same for every account of the entry that shares its
        languages, overrides and kind of platform, so it is computed once for them."""
        # platforms that fetch images by URL get other image sources than those given files
        key = (entry.id, entry.path, override_key, langs, feed, platform in IMAGES_BY_URL)
        if key not in self._contents:
            self._contents[key] = self._compose(entry, account, platform, langs, feed, deps, event)
        return self._contents[key]

    def _compose(self, entry, account, platform, langs, feed, deps, event):
        texts, text_path = self._texts(entry, account, platform)
        parts: dict[str, str] = {}
        refs: list[str] = list(deps)
        for lang in langs:
            raw = texts.get(lang)
            if raw is None:
                continue  # reported by the language check, once per entry
            # a per-language mapping has a position for each language; a plain text has not
            path = text_path + (lang,) if self.doc.holds(text_path + (lang,)) else text_path
            rendered, used = self._render(raw, lang, path)
            if rendered is None:
                return None
            parts[lang] = rendered
            refs.extend(used)
        if not parts:
            return None
        link = self._override(entry, account, platform, "link")
        body = "\n\n".join(parts[lang] for lang in langs if lang in parts)
        # a calendar feed is not a social post: no hashtags in event descriptions
        text = body if feed else _with_hashtags(body, self.cal.hashtags)
        if link:
            text = f"{text}\n{link}"
        # platforms that download images themselves (Instagram) need the url, others the file
        by_url = platform in IMAGES_BY_URL
        images = tuple(PlannedImage(self._image_source(img, by_url), _alt(img, langs))
                       for img in self._override(entry, account, platform, "images"))
        for name in list(refs):
            refs.extend(self.cal.facts[name].derived_from if name in self.cal.facts else ())
        if event is not None:
            refs.extend(event[1])
        depends = {name: self._displays[name] for name in sorted(set(refs))
                   if name in self._displays}
        language = "+".join(lang for lang in langs if lang in parts)
        return text, link, images, depends, language, parts

    def _event(self, entry: Entry) -> tuple[EventInfo, tuple[str, ...]] | None:
        spec = entry.event
        if spec is None:
            return None
        try:
            start, all_day, deps = point_in_time(self.cal, spec.start, ("event", "start"))
            end_deps: tuple[str, ...] = ()
            end = None
            if spec.end:
                end, _, end_deps = point_in_time(self.cal, spec.end, ("event", "end"),
                                                 end_of_day=all_day)
                if end < start:
                    self.error(entry.path + ("event", "end"), "the event ends before it starts",
                               "event-order", "check the start and end dates")
        except InstantProblem as exc:
            self.error(entry.path + exc.subpath, exc.message, exc.code, exc.hint)
            return None
        title, title_refs = self._event_text(entry, "title", spec.title, " / ")
        place, place_refs = self._event_text(entry, "place", spec.place, " / ")
        described = spec.description or entry.text
        description, text_refs = self._event_text(
            entry, "description" if spec.description else "text", described, "\n\n")
        if title is None or place is None or description is None:
            return None  # the template findings say why
        info = EventInfo(
            start_utc=start.astimezone(UTC).isoformat(timespec="microseconds"),
            end_utc=end.astimezone(UTC).isoformat(timespec="microseconds") if end else None,
            all_day=all_day, title=title or entry.id, place=place or None,
            stream_url=spec.stream, description=description,
            calendar_title=" / ".join(_distinct(self.cal.title.get(lang)
                                                for lang in self.cal.languages)))
        deps = deps + end_deps + title_refs + place_refs + text_refs
        return info, deps


    def _image_source(self, img: ImageSpec, by_url: bool) -> str:
        """Where the adapter takes the image from: its URL for platforms that fetch images
        themselves, else its file, resolved next to the calendar file (the worker's working
        directory is not the calendar's)."""
        if by_url and img.url:
            return img.url
        if img.file and self.doc.file:
            return os.path.abspath(os.path.join(os.path.dirname(self.doc.file), img.file))
        return img.file or img.url or ""

    def _event_text(self, entry: Entry, field: str, texts: Mapping[str, str], joiner: str
                    ) -> tuple[str | None, tuple[str, ...]]:
        """One text of an event (title, place, description) rendered in every language of the
        calendar and joined (``Ple / Pleno``): a subscriber's calendar app shows one SUMMARY
        and one LOCATION, so both languages go in it, and a template is never shown raw.
        None when a template does not render (the finding is recorded)."""
        base = entry.path + (("event", field) if field != "text" else ("text",))
        rendered: list[str] = []
        refs: list[str] = []
        for lang in self.cal.languages:
            raw = texts.get(lang)
            if not raw:
                continue
            path = base + (lang,) if self.doc.holds(base + (lang,)) else base
            text, used = self._render(raw, lang, path)
            if text is None:
                return None, ()
            rendered.append(text.strip())
            refs.extend(used)
        return joiner.join(_distinct(rendered)), tuple(refs)


def _with_hashtags(text: str, hashtags: tuple[str, ...]) -> str:
    lowered = text.lower()
    missing = [tag for tag in hashtags if tag.lower() not in lowered]
    return f"{text}\n{' '.join(missing)}" if missing else text


def _distinct(texts) -> list[str]:
    """The non-empty texts, each once, in order (a place named alike in both languages)."""
    seen: list[str] = []
    for text in texts:
        if text and text not in seen:
            seen.append(text)
    return seen


def _alt(img: ImageSpec, langs: tuple[str, ...]) -> str:
    return " / ".join(img.alt[lang] for lang in langs if lang in img.alt)


def compile_calendar(doc: Document, cal: Calendar, holidays: HolidayCalendar,
                     account_options: Mapping[str, Mapping] | None = None
                     ) -> tuple[list[CompiledEntry], list[Finding]]:
    """Compile ``cal``; returns the compiled entries (with their jobs) and the findings."""
    compiler = Compiler(doc, cal, holidays, account_options)
    compiled = compiler.compile()
    return compiled, compiler.findings
