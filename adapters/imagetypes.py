"""What an image really is, from its first bytes: the types pregonero can send.

A file's name says nothing (``logo.png`` may be a text file, or a secret); the platforms'
servers look at the bytes, and so do the linter and the engine. Only the four types every
platform's own sniffer recognises are known here: PNG, JPEG, GIF and WebP.
"""

from __future__ import annotations

PNG, JPEG, GIF, WEBP = "image/png", "image/jpeg", "image/gif", "image/webp"

#: every type pregonero recognises and may send (each platform takes a subset: capabilities)
KNOWN_TYPES = frozenset({PNG, JPEG, GIF, WEBP})

#: how people call each type, for messages editors read
NAMES = {PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WEBP: "WebP"}

#: bytes needed to tell the types apart (WebP's tag sits at offset 8)
SNIFF_BYTES = 12


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type the platforms' servers find by looking at the bytes (PNG, JPEG, GIF,
    WebP), whatever the file's name or the upload claimed; None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def type_names(types) -> str:
    """``{"image/png", "image/jpeg"}`` -> ``"JPEG or PNG"`` (stable order)."""
    names = sorted(NAMES.get(t, t) for t in types)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
