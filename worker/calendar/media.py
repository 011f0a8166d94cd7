"""Where a calendar's image may come from, and what a platform takes: the pure rules.

A calendar is untrusted input: any department can write ``file: /run/secrets/calp_x_token``
or commit a symbolic link ``img/logo.png -> /etc/passwd``, and an engine that trusted it
would upload that file as a public image. So an image ``file:`` must name a regular file
inside the calendar repository (``worker.calendar_root``), with every symbolic link resolved,
outside hidden files and folders (``.git/config`` may hold a token), and its bytes must be an
image that the target platform takes, no larger than it takes.

Everything here works on texts and numbers: the paths the filesystem resolved, a file's mode,
its first bytes, its size. Asking the filesystem is ``worker.image_files``'s job (the linter
and, again, the engine right before sending).
"""

from __future__ import annotations

import posixpath
import re
import stat
from typing import NamedTuple

from adapters.base import Capabilities
from adapters.imagetypes import NAMES, type_names

#: what the rule says, in the hints of every refusal
WHERE = "put the image in the calendar repository (e.g. schedules/img/) and name it relative " \
        "to this calendar"


#: a Windows drive path (``C:\Windows``, ``c:/x.png``): an absolute path on an editor's machine;
#: ``c:a.png`` is a legal file name where the service runs, and names a file inside
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


class Refusal(NamedTuple):
    """Why an image may not be used: a lint code, a message and what to do."""

    code: str
    message: str
    hint: str = ""


def control_refusal(file: str) -> Refusal | None:
    """A path with a control character: a NUL truncates paths in C, a newline forges log
    lines; no image name needs one."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in file):
        return Refusal("image-bad-path", f"image file {file!r} contains a control character",
                       "write the file name without control characters")
    return None


def path_refusal(file: str) -> Refusal | None:
    """What is wrong with a ``file:`` value before any file is looked at: a control
    character, or an absolute path (also in Windows spellings, which an editor's machine
    would read as one)."""
    control = control_refusal(file)
    if control is not None:
        return control
    if posixpath.isabs(file) or file.startswith("\\") or _DRIVE.match(file):
        return Refusal("image-outside-repo", f"image file '{file}' is an absolute path; images "
                       "are files of the calendar repository, named relative to the calendar",
                       WHERE)
    return None


def inside(real: str, root: str) -> bool:
    """Whether ``real`` lies strictly under ``root`` (both absolute, symlinks resolved):
    component by component, so that ``/srv/sched-old`` is not inside ``/srv/sched``."""
    real, root = posixpath.normpath(real), posixpath.normpath(root)
    return real != root and posixpath.commonpath([real, root]) == root


def hidden_part(real: str, root: str) -> str | None:
    """The first hidden file or folder on the way from ``root`` to ``real`` (``.git``,
    ``.env``), None when there is none. Only components inside the root count: the
    repository itself may live under a hidden folder."""
    for part in posixpath.relpath(real, root).split("/"):
        if part.startswith("."):
            return part
    return None


def placement_refusal(file: str, lexical: str, real: str, root: str) -> Refusal | None:
    """Whether the file a ``file:`` value names may be used, given where it is: ``lexical``
    is the value joined to the calendar's folder with ``.`` and ``..`` applied to the text (as
    the compiled plan stores it), ``real`` the same path with every symbolic link resolved,
    ``root`` the calendar repository's real path."""
    if not inside(real, root):
        # the text stays inside, the file does not: a symbolic link (at any level) leads out
        how = (f"leads through a symbolic link to {real}" if inside(lexical, root)
               else f"points to {real}")
        return Refusal("image-outside-repo", f"image file '{file}' {how}, outside the "
                       f"calendar repository ({root})", WHERE)
    hidden = hidden_part(real, root)
    if hidden is not None:
        return Refusal("image-hidden-path", f"image file '{file}' is in the hidden '{hidden}' "
                       "of the repository; hidden files and folders (.git, .env) are never "
                       "published", WHERE)
    return None


def missing_refusal(file: str) -> Refusal:
    """A ``file:`` that names nothing (inside the repository)."""
    return Refusal("missing-image", f"image file '{file}' not found next to the calendar",
                   "commit the image or fix the path (relative to this file)")


def unreadable_refusal(file: str, why: str) -> Refusal:
    """A file the rules would allow that cannot be opened or read (permissions, a link
    loop, a swap between the check and the open)."""
    return Refusal("image-not-a-file", f"image file '{file}' cannot be read ({why})",
                   "name an image file of the repository that can be read")


def kind_refusal(file: str, mode: int) -> Refusal | None:
    """A file that is not a regular file (``mode`` from ``stat``): a folder, a named pipe
    (reading it would wait for ever), a device (``/dev/zero`` never ends), a socket."""
    if stat.S_ISREG(mode):
        return None
    what = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    return Refusal("image-not-a-file", f"image file '{file}' is {what}, not an image file",
                   "name an image file (PNG, JPEG, GIF or WebP)")


def type_refusal(file: str, mime: str | None) -> Refusal | None:
    """A file whose bytes are no image pregonero knows, whatever its name says."""
    if mime is not None:
        return None
    return Refusal("image-type", f"image file '{file}' is not an image: its bytes are not "
                   "PNG, JPEG, GIF or WebP, whatever its name says",
                   "export the image again as PNG or JPEG")


def platform_refusals(file: str, mime: str, size: int, caps: Capabilities,
                      who: str) -> list[Refusal]:
    """What ``who`` (a platform or an account) would refuse of an image of type ``mime`` and
    ``size`` bytes: a type it does not take, a file larger than it takes."""
    refusals = []
    if mime not in caps.image_types:
        takes = type_names(caps.image_types)
        refusals.append(Refusal(
            "image-type", f"image file '{file}' is a {NAMES.get(mime, mime)}; {who} takes "
            f"{takes} images", f"export it as {takes}, or give {caps.platform} its own image "
            f"with overrides: {{{caps.platform}: {{images: [...]}}}}"))
    if caps.image_max_bytes is not None and size > caps.image_max_bytes:
        refusals.append(Refusal(
            "image-too-large", f"image file '{file}' is {size:,} bytes; {who} takes images of "
            f"at most {caps.image_max_bytes:,} bytes", f"make it smaller (resize or compress "
            f"it), or give {caps.platform} its own image with overrides: {{{caps.platform}: "
            "{images: [...]}}"))
    return refusals
