"""Image sizes read from the headers (``adapters.imagetypes.image_dimensions``), checked on
real files written by Pillow's encoders in every variant a town hall's poster may come in."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adapters.imagetypes import image_dimensions


def encoded(fmt: str, size=(1080, 1350), **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt, options", [
    ("PNG", {}), ("GIF", {}),
    ("JPEG", {}), ("JPEG", {"progressive": True}), ("JPEG", {"exif": b"Exif\x00\x00" + b"\0" * 64}),
    ("WEBP", {}), ("WEBP", {"lossless": True}),
    ("WEBP", {"exif": b"Exif\x00\x00" + b"\0" * 16}),  # extended (VP8X) header
])
def test_the_size_of_a_poster_is_read_from_its_header(fmt, options):
    assert image_dimensions(encoded(fmt, **options)) == (1080, 1350)
    assert image_dimensions(encoded(fmt, (3, 4), **options)) == (3, 4)


def test_bytes_that_are_no_image_or_are_cut_short_have_no_size():
    assert image_dimensions(b"not an image at all") is None
    assert image_dimensions(encoded("JPEG")[:40]) is None
    assert image_dimensions(encoded("PNG")[:18]) is None
