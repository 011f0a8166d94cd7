"""Calendar images on disk: found and read only inside the calendar repository.

The filesystem half of ``worker.calendar.media`` (the rules). Two callers:

* the linter (``locate``): where a ``file:`` leads, what kind of file it is, its real type
  (its first bytes) and its size, so that a bad image is a located error in the editor's CI;
* the engine, right before an adapter gets an image (``with_images``): a compiled plan is
  never trusted. It may come from an older version of pregonero (stored in Redis before these
  rules), or the file may have been replaced by a symbolic link after it was linted (a ``git
  pull`` between the sync and the instant). The path is confined again, the file read once
  through a checked descriptor, and the adapter gets those bytes, never the path to open.

Opening, and why this way: after the path is resolved and found inside the root, it is
opened with ``O_NOFOLLOW`` (the last component cannot have become a link since) and
``O_NONBLOCK`` (a file swapped for a named pipe must not hang a worker thread), and then the
*opened* file is checked: ``fstat`` says it is a regular file, and ``/proc/self/fd/N`` says
where it really is, which catches a folder on the way swapped for a link between the
resolution and the open. Where there is no ``/proc`` the path must still name the very file
that was opened (same device and inode).
"""

from __future__ import annotations

import dataclasses
import os
import re

from adapters.base import PostRequest, Rejected
from adapters.imagetypes import SNIFF_BYTES, sniff_image_type

from worker.calendar import media
from worker.calendar.media import Refusal

#: Never read more than this at send time: above every platform's image limit (Mastodon's
#: 16 MiB is the largest), so that a huge file cannot fill a worker's memory.
SEND_MAX_BYTES = 20 * 1024 * 1024

_URL = re.compile(r"https?://")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclasses.dataclass(frozen=True)
class Found:
    """An image file the rules allow, as the linter sees it."""

    #: its real path (symbolic links resolved), inside the repository
    real: str
    size: int
    #: its type from its bytes (None: not an image)
    mime: str | None


def locate(file: str, calendar_folder: str, root: str) -> Found | Refusal:
    """Where the ``file:`` value of a calendar in ``calendar_folder`` leads, if the rules
    allow it: a regular file inside ``root``, with its type and size. Never raises."""
    refusal = media.path_refusal(file)
    if refusal is not None:
        return refusal
    # `.` and `..` applied to the text first, as the compiled plan stores the path
    lexical = os.path.abspath(os.path.join(calendar_folder, file))
    opened = _open_confined(file, lexical, root)
    if isinstance(opened, Refusal):
        return opened
    fd, real, size = opened
    try:
        head = os.read(fd, SNIFF_BYTES)
    except OSError as exc:
        return media.unreadable_refusal(file, exc.strerror or type(exc).__name__)
    finally:
        os.close(fd)
    return Found(real, size, sniff_image_type(head))


def read_confined(path: str, root: str, max_bytes: int = SEND_MAX_BYTES
                  ) -> tuple[bytes, str] | Refusal:
    """The bytes and type of the compiled image ``path`` if the rules allow it, read through
    one checked descriptor (see the module doc). Never raises."""
    refusal = media.control_refusal(path)
    if refusal is not None:
        return refusal
    if not os.path.isabs(path):
        # the compiler stores absolute paths: anything else was not made by it
        return Refusal("image-outside-repo", f"image file '{path}' is not a path of the "
                       "compiled plan (not absolute)", media.WHERE)
    opened = _open_confined(path, path, root)
    if isinstance(opened, Refusal):
        return opened
    fd, _real, _size = opened
    try:
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        return media.unreadable_refusal(path, exc.strerror or type(exc).__name__)
    finally:
        os.close(fd)
    if total > max_bytes:
        return Refusal("image-too-large", f"image file '{path}' is larger than {max_bytes:,} "
                       "bytes, more than any platform takes")
    data = b"".join(chunks)
    mime = sniff_image_type(data)
    refusal = media.type_refusal(path, mime)
    return refusal if refusal is not None else (data, mime)


def _open_confined(shown: str, lexical: str, root: str) -> tuple[int, str, int] | Refusal:
    """(descriptor, real path, size) of the regular file ``lexical`` leads to inside ``root``,
    or why not. The caller closes the descriptor."""
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(lexical)
    except (OSError, ValueError) as exc:
        return media.unreadable_refusal(shown, type(exc).__name__)
    refusal = media.placement_refusal(shown, lexical, real, real_root)
    if refusal is not None:
        return refusal
    try:
        # stat before open: a FIFO or a device is refused without being opened at all
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return media.missing_refusal(shown)
    except OSError as exc:
        return media.unreadable_refusal(shown, exc.strerror or type(exc).__name__)
    refusal = media.kind_refusal(shown, mode)
    if refusal is not None:
        return refusal
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:  # ELOOP: the file became a symbolic link after it was resolved
        return media.unreadable_refusal(shown, exc.strerror or type(exc).__name__)
    try:
        opened = os.fstat(fd)
        refusal = (media.kind_refusal(shown, opened.st_mode)
                   or _where_opened(shown, fd, real, real_root, opened))
    except OSError as exc:
        refusal = media.unreadable_refusal(shown, exc.strerror or type(exc).__name__)
    if refusal is not None:
        os.close(fd)
        return refusal
    return fd, real, opened.st_size


def _where_opened(shown: str, fd: int, real: str, root: str, opened: os.stat_result
                  ) -> Refusal | None:
    """Whether the file behind ``fd`` is still where the rules allowed it."""
    try:
        actual = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        actual = None
    if actual is not None and actual.startswith("/"):
        return media.placement_refusal(shown, real, actual.removesuffix(" (deleted)"), root)
    now = os.stat(real, follow_symlinks=False)
    if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
        return Refusal("image-outside-repo", f"image file '{shown}' changed while it was "
                       "checked", media.WHERE)
    return None


# --- right before an adapter gets the images --------------------------------------------------


class ImageRefused(Rejected):
    """Raised when an image of a job may not be sent (outside the calendar repository, not
    a regular file, not an image): permanent; the message says which rule, never what the
    file holds."""


def with_images(request: PostRequest, root: str | None, what: str) -> PostRequest:
    """``request`` with the bytes of every local image read by ``read_confined`` against the
    calendar repository ``root``; ``what`` names the job in the refusal ("entry 'anuncio' of
    calendar 'villa-ayudas'"). URLs are left for the platform to fetch. Raises
    ``ImageRefused``; with no ``root`` every local image is refused (fail closed)."""
    images = []
    for image in request.images:
        if _URL.match(image.path):
            images.append(image)
            continue
        if root is None:
            raise ImageRefused(f"image refused for {what}: this worker was not told where the "
                               "calendar repository is (pregonero worker --schedules DIR), so "
                               "no local image may be sent")
        read = read_confined(image.path, root)
        if isinstance(read, Refusal):
            raise ImageRefused(f"image refused for {what} [{read.code}]: {read.message}; only "
                               "regular image files inside the calendar repository are sent")
        images.append(dataclasses.replace(image, data=read[0]))
    return dataclasses.replace(request, images=tuple(images))
