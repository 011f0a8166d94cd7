"""The linter's image checks: every ``file:`` of a calendar leads to an image file inside
the calendar repository, and each platform an entry goes to takes that image's type and size.

The only check that reads files besides the calendar itself, through ``worker.image_files``
(each file is looked at once per lint, however many accounts get it); the rules are the pure
``worker.calendar.media``. Findings sit on the ``file:`` value.
"""

from __future__ import annotations

import os
from typing import Iterable

from adapters import parse_account_ref
from adapters.base import Capabilities
from adapters.capabilities import IMAGES_BY_URL

from worker.calendar_root import repository_root
from worker.config_model import Config
from worker.image_files import locate
from worker.calendar.compile import CompiledEntry, account_capabilities, overridden
from worker.calendar.findings import Finding
from worker.calendar.media import Refusal, platform_refusals, type_refusal
from worker.calendar.model import Calendar, Entry, ImageSpec
from worker.calendar.source import Document


def check_images(doc: Document, cal: Calendar, compiled: Iterable[CompiledEntry],
                 config: Config | None) -> list[Finding]:
    """Findings about the image files of ``cal`` (``doc`` locates them)."""
    return _ImageChecker(doc, cal, config).run(compiled)


class _ImageChecker:
    def __init__(self, doc: Document, cal: Calendar, config: Config | None):
        self.doc, self.cal, self.config = doc, cal, config
        # relative to the file itself, not to the display path (the engine's is relative to
        # the schedules root)
        self.folder = os.path.dirname(os.path.abspath(doc.file or cal.path))
        self._root: str | None = None
        self._seen: dict[tuple, object] = {}
        self.findings: list[Finding] = []

    @property
    def root(self) -> str:
        if self._root is None:  # only calendars with image files pay for the walk up
            self._root = str(repository_root(self.folder, self.doc.given_folder))
        return self._root

    def add(self, img: ImageSpec, refusal: Refusal) -> None:
        self.findings.append(self.doc.finding(img.path + ("file",), "error", refusal.message,
                                              refusal.code, refusal.hint))

    def run(self, compiled: Iterable[CompiledEntry]) -> list[Finding]:
        for item in compiled:
            uploads = self._uploads(item.entry)
            for img in _all_images(item.entry):
                if img.file:
                    self._check_file(img, needed=not img.url or img.path in uploads)
            for img, platforms in uploads.values():
                self._check_platforms(img, platforms)
        return self.findings

    def _uploads(self, entry: Entry) -> dict[tuple, tuple[ImageSpec, dict[str, _Target]]]:
        """The images of ``entry`` that pregonero itself uploads, by position: each with the
        capabilities and accounts of every platform that gets it."""
        out: dict[tuple, tuple[ImageSpec, dict[str, _Target]]] = {}
        for ref in entry.accounts:
            try:
                platform = parse_account_ref(ref)[0]
                account = self.config.accounts.get(ref) if self.config else None
                caps = account_capabilities(ref, account.options if account else None)
            except ValueError:
                continue  # reported as unknown-platform
            if caps.platform in IMAGES_BY_URL or caps.max_images == 0:
                continue  # the platform fetches the url itself / takes no images
            for img in overridden(entry, ref, platform, "images"):
                if img.file:
                    _spec, platforms = out.setdefault(img.path, (img, {}))
                    platforms.setdefault(caps.platform, (caps, []))[1].append(ref)
        return out

    def _check_file(self, img: ImageSpec, needed: bool) -> None:
        if img.path in self._seen:
            return
        found = self._seen[img.path] = locate(img.file, self.folder, self.root)
        if isinstance(found, Refusal):
            # a file next to a url that only Instagram gets may be left out, as before
            if found.code != "missing-image" or needed:
                self.add(img, found)
        elif type_refusal(img.file, found.mime) is not None:
            self.add(img, type_refusal(img.file, found.mime))

    def _check_platforms(self, img: ImageSpec, platforms: dict[str, _Target]) -> None:
        found = self._seen.get(img.path)
        if found is None or isinstance(found, Refusal) or found.mime is None:
            return  # already reported
        for platform in sorted(platforms):
            caps, refs = platforms[platform]
            who = f"{platform} ({', '.join(refs)})"
            for refusal in platform_refusals(img.file, found.mime, found.size, caps, who):
                self.add(img, refusal)


#: a platform that gets an image: its capabilities and the entry's accounts on it
_Target = tuple[Capabilities, list[str]]


def _all_images(entry: Entry) -> list[ImageSpec]:
    """Every image an entry names, its overrides' included (each once)."""
    images = list(entry.images)
    for override in entry.overrides.values():
        images.extend(override.images or ())
    return images
