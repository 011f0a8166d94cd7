"""What a platform refuses in a post's content, known before any request: too long (counted
as the platform counts), too many images, no image where one is required, alt text too long.

Pure, and the one place these rules live: the outbox applies them (a dry run refuses what the
account would), and every live adapter asks them before its first request, so a post the
platform would refuse costs no request (X bills each one) and fails with the platform's own
counting in its reason. The linter checks the same ``Capabilities`` earlier, with positions.
"""

from __future__ import annotations

from typing import Callable, Sequence

from adapters.base import Capabilities, PostRequest


def content_problem(caps: Capabilities, request: PostRequest,
                    count: Callable[[str], int] | None = None,
                    counting: str | None = None,
                    sizes: Sequence[int | None] = ()) -> str | None:
    """Why ``caps``' platform would refuse ``request``'s content, or None. ``count``: how the
    platform counts the text as it receives it, ``counting`` its name (``caps.count`` and
    ``caps.counting`` when None); ``sizes``: the bytes of each image where known (None: an
    image the platform fetches by URL)."""
    length = (count or caps.count)(request.text)
    if length > caps.text_limit:
        return (f"text is {length} long ({counting or caps.counting}), "
                f"{caps.platform} allows {caps.text_limit}")
    if len(request.images) > caps.max_images:
        return (f"{len(request.images)} images, {caps.platform} allows at most "
                f"{caps.max_images}")
    if caps.requires_image and not request.images and request.action != "reply" \
            and request.target is None:
        return f"{caps.platform} posts need an image"
    if caps.image_max_bytes is not None:
        for image, size in zip(request.images, sizes):
            if size is not None and size > caps.image_max_bytes:
                return (f"image {image.path} is {size} bytes, {caps.platform} takes at most "
                        f"{caps.image_max_bytes}")
    if caps.alt_text_limit is not None:
        for image in request.images:
            if len(image.alt) > caps.alt_text_limit:
                return (f"alt text of {image.path} is {len(image.alt)} characters, "
                        f"{caps.platform} allows {caps.alt_text_limit}")
    return None
