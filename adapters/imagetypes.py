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


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG, GIF, JPEG or WebP, read from its header (what a
    client must send as Bluesky's ``aspectRatio``); None when the bytes do not say."""
    kind = sniff_image_type(data)
    size = None
    try:
        if kind == PNG and data[12:16] == b"IHDR":
            size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        elif kind == GIF:
            size = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        elif kind == JPEG:
            size = _jpeg_dimensions(data)
        elif kind == WEBP:
            size = _webp_dimensions(data)
    except IndexError:
        return None
    return size if size is not None and size[0] > 0 and size[1] > 0 else None


#: JPEG start-of-frame markers (baseline, progressive, lossless...; not DHT, JPG, DAC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if marker in _SOF:
            height = int.from_bytes(data[at + 5:at + 7], "big")
            width = int.from_bytes(data[at + 7:at + 9], "big")
            return (width, height) if width and height else None
        at += 2 + length
    return None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    return None
