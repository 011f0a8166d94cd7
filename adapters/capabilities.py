"""What each platform can do, as data, with where each number comes from.

These values are read by the linter (length, images, alt text), the compiler (one post per
language or one combined post) and the correction planner (edit in place, or reply/comment).
When a platform changes a limit, change it here and nowhere else.
"""

from __future__ import annotations

from .base import Capabilities, EditSupport
from .imagetypes import GIF, JPEG, KNOWN_TYPES, PNG
from .textlength import (char_length, grapheme_length, mastodon_length, threads_length,
                         utf16_length, x_weighted_length)

__all__ = ["X", "FACEBOOK", "MASTODON", "BLUESKY", "TELEGRAM", "ICS", "INSTAGRAM", "LINKEDIN",
           "THREADS",
           "COUNTERS", "INSTAGRAM_MAX_HASHTAGS", "IMAGES_BY_URL"]

#: counting name -> function, so that overrides (and the outbox) can rebuild ``count``
COUNTERS = {
    "x-weighted": x_weighted_length,
    "graphemes": grapheme_length,
    "mastodon": mastodon_length,
    "utf16": utf16_length,
    "chars": char_length,
    "threads": threads_length,
}

# X: 280 "weighted" characters, links 23, CJK/emoji 2 (developer.x.com "Counting characters",
# twitter-text config v3). Edits: 5 edits within 30 minutes of posting, each edit is a new post
# id (help.x.com "About editing posts"; API: edit_options.previous_post_id). Media: up to 4
# images per post; alt text up to 1000 characters (media metadata endpoint). Images PNG, JPEG,
# GIF or WebP up to 5 MB (docs.x.com "Media" introduction, tests/twins/notes/x.md), read as
# 5 MiB like the twin.
X = Capabilities(
    platform="x", text_limit=280, counting="x-weighted", count=x_weighted_length,
    edit=EditSupport(True, window_s=30 * 60, max_edits=5, new_id=True),
    max_images=4, image_types=KNOWN_TYPES, image_max_bytes=5 * 1024 * 1024,
    alt_text_limit=1000, language_strategy="per_language",
    correction_fallback="reply",
    can_thread=True,
)

# Facebook Pages: 63 206 characters per post (long-standing documented page post limit).
# Page posts can be edited without a time limit (POST /{post-id} with "message"). Pages of
# bilingual administrations usually publish one combined post. Photos (Graph API Photo
# reference, POST /{page-id}/photos, tests/twins/notes/facebook.md): "a photo must be less
# than 10MB", read as decimal megabytes (the smaller reading); formats JPEG, BMP, PNG, GIF and
# TIFF, of which pregonero recognises JPEG, PNG and GIF (WebP is not documented: refused).
FACEBOOK = Capabilities(
    platform="facebook", text_limit=63206, counting="chars", count=char_length,
    edit=EditSupport(True), max_images=10, image_types=frozenset({JPEG, PNG, GIF}),
    image_max_bytes=10_000_000 - 1, alt_text_limit=None,
    language_strategy="combined", correction_fallback="comment",
)

# Mastodon: 500 by default, instances configure more (instance API
# configuration.statuses.max_characters -> override ``text_limit``). Counting per
# StatusLengthValidator: grapheme clusters, http(s) links count 23, "@user@domain" counts as
# "@user". Editing since 3.5 (PUT /api/v1/statuses/:id), no window. 4 attachments
# (configuration.statuses.max_media_attachments); alt text 1500 (MediaAttachment
# MAX_DESCRIPTION_LENGTH). Images: 16 MiB (MediaAttachment::IMAGE_LIMIT = 16.megabytes since
# 4.2, mastodon#23726; instances may change it: configuration.media_attachments
# .image_size_limit); JPEG, PNG, GIF, WebP (and HEIC, HEIF, AVIF, which pregonero does not
# recognise) per docs.joinmastodon.org/user/posting/#media.
MASTODON = Capabilities(
    platform="mastodon", text_limit=500, counting="mastodon", count=mastodon_length,
    edit=EditSupport(True), max_images=4, image_types=KNOWN_TYPES,
    image_max_bytes=16 * 1024 * 1024, alt_text_limit=1500,
    language_strategy="per_language", correction_fallback="reply",
    can_thread=True,
)

# Bluesky: 300 graphemes (app.bsky.feed.post lexicon: maxGraphemes 300). Records cannot be
# edited by the official clients (no edit in the app view), so corrections are replies; posts
# can be deleted (com.atproto.repo.deleteRecord). Up to 4 images (app.bsky.embed.images),
# alt text: the lexicon sets no limit; 2000 is the official app's limit. Each image is a blob
# of "image/*" of at most 2,000,000 bytes (app.bsky.embed.images maxSize; 1,000,000 before
# 2026-04-08, atproto commit d8801e2; tests/twins/notes/bluesky.md). A link shows as a card
# only when the post's record embeds one (app.bsky.embed.external: uri, title, description,
# optional thumb): the official app builds it itself from the page before posting.
BLUESKY = Capabilities(
    platform="bluesky", text_limit=300, counting="graphemes", count=grapheme_length,
    edit=EditSupport(False), max_images=4, image_types=KNOWN_TYPES,
    image_max_bytes=2_000_000, alt_text_limit=2000,
    language_strategy="per_language", correction_fallback="reply",
    can_thread=True, card_from_client=True,
)
#: a link card's image on Bluesky (app.bsky.embed.external, thumb: image/*, maxSize 1000000)
BLUESKY_CARD_THUMB_MAX_BYTES = 1_000_000

# Telegram channels (Bot API): message text 1-4096 characters after entity parsing, counted in
# UTF-16 code units like all Bot API offsets; captions of media 0-1024 (the linter applies
# TELEGRAM_CAPTION_LIMIT when a post has images). editMessageText has no window for channel
# posts by the bot; deleteMessage only within 48 hours. No alt text for photos. An uploaded
# photo "must be at most 10 MB in size" (Bot API sendPhoto; python-telegram-bot's
# FileSizeLimit.PHOTOSIZE_UPLOAD is 10,000,000 bytes). The Bot API documents no list of photo
# formats: the four types pregonero recognises are let through (the server re-encodes).
TELEGRAM = Capabilities(
    platform="telegram", text_limit=4096, counting="utf16", count=utf16_length,
    edit=EditSupport(True), delete=True, delete_window_s=48 * 3600,
    max_images=10, image_types=KNOWN_TYPES, image_max_bytes=10_000_000,
    alt_text=False, alt_text_limit=None,
    language_strategy="combined", correction_fallback="reply",
)
#: caption limit of a Telegram message that carries images (sendPhoto / sendMediaGroup)
TELEGRAM_CAPTION_LIMIT = 1024

# iCalendar feed (RFC 5545): no practical text limit; an updated event carries a higher
# SEQUENCE (RFC 5545 3.8.7.4) and a retraction is STATUS:CANCELLED. Images are not attached.
ICS = Capabilities(
    platform="ics", text_limit=1_000_000, counting="chars", count=char_length,
    edit=EditSupport(True), max_images=0, alt_text=False, replies=False,
    native_events=True, language_strategy="combined", correction_fallback="alert",
)

# Instagram (Instagram Graph API, "Content Publishing" guide and IG User Media reference on
# developers.facebook.com): captions up to 2200 characters, at most 30 hashtags and 20 @-tags;
# every post needs an image, fetched by Instagram from a public URL; carousels hold up to 10
# items; alt text ("alt_text") on image containers since March 2025, no documented limit;
# links in captions are not clickable. After publishing the IG Media node offers reading,
# comments, comment_enabled and, since the Instagram Platform changelog of 2025-12-03, deletion
# (``DELETE /{ig-media-id}``, Facebook Login with instagram_manage_contents; whole carousels
# only): no caption edit, so corrections are comments from the account, and a retraction
# deletes the post (an account whose token lacks that permission gets a cancellation comment,
# and the engine alerts). Comments of the account can be deleted (DELETE /{ig-comment-id}). The publishing limit per moving 24 hours (a carousel
# counts as one) has been documented as 25, 50 and lately 100 posts: it is read at run time
# from /{ig-user-id}/content_publishing_limit (quota_usage, config.quota_total), not kept here.
# Images (IG User Media "Image Specifications", tests/twins/notes/instagram.md): JPEG only, at
# most 8 MB (read as decimal). Instagram downloads them from the url: pregonero never uploads a
# file there, so the linter cannot check what that address serves. Alt text (``alt_text``,
# since 2025-03-24): "up to 1000 character" on image posts and carousel images (IG User Media).
INSTAGRAM = Capabilities(
    platform="instagram", text_limit=2200, counting="chars", count=char_length,
    edit=EditSupport(False), delete=True, max_images=10, image_types=frozenset({JPEG}),
    image_max_bytes=8_000_000, alt_text_limit=1000,
    language_strategy="combined", requires_image=True, clickable_links=False,
    correction_fallback="comment",
)
#: hashtags Instagram accepts in one caption (IG User Media reference: "30 hashtags")
INSTAGRAM_MAX_HASHTAGS = 30
#: platforms that fetch images themselves from a public URL (a local ``file:`` cannot be sent)
IMAGES_BY_URL = frozenset({"instagram", "threads"})

# Threads (Meta's Threads API, developers.facebook.com/documentation/threads): a post is a
# container (POST /{user}/threads: TEXT, IMAGE or CAROUSEL of 2-20 items, images fetched from a
# public image_url, alt_text) published with POST /{user}/threads_publish; replies are posts
# with reply_to_id. Text up to 500 characters, emojis counted as their UTF-8 bytes
# ("Threads Posts", Limitations). No edit endpoint: corrections are replies. Deletion:
# DELETE /{threads-media-id} with threads_delete, 100 deletions a day per account ("Delete
# Posts"). 250 API-published posts per moving 24 hours, a carousel counting as one
# ("Overview", Posts). Images JPEG or PNG up to 8 MB ("Media Specifications").
THREADS = Capabilities(
    platform="threads", text_limit=500, counting="threads", count=threads_length,
    edit=EditSupport(False), delete=True, max_images=20, image_types=frozenset({JPEG, PNG}),
    image_max_bytes=8_000_000, alt_text_limit=None, language_strategy="per_language",
    correction_fallback="reply",
    can_thread=True,
)

# LinkedIn organisation pages (Posts API, learn.microsoft.com "Posts API" and "Images API",
# Marketing versions 2024-2025): commentary up to 3000 characters; the commentary of a post can
# be edited in place without a time limit (partial update, X-RestLi-Method: PARTIAL_UPDATE)
# and posts can be deleted (DELETE /rest/posts/{urn}). Multi-image posts take 2 to 20 images;
# alt text ("altText") up to 4086 characters. A correction that cannot be an edit (e.g. the
# images changed) is a comment by the organisation (Social Actions comments API). Images API:
# JPG, GIF and PNG (tests/twins/notes/linkedin.md); it limits pixels (36,152,320) but no
# byte limit was found in LinkedIn's own documentation (third-party guides say 5 or 8 MB), so
# none is applied here.
LINKEDIN = Capabilities(
    platform="linkedin", text_limit=3000, counting="chars", count=char_length,
    edit=EditSupport(True), delete=True, max_images=20, image_types=frozenset({JPEG, GIF, PNG}),
    image_max_bytes=None, alt_text_limit=4086,
    language_strategy="combined", correction_fallback="comment",
)
