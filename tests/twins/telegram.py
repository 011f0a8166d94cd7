"""A stateful twin of the Telegram Bot API server (api.telegram.org) for channels, as the
Telegram adapter reaches it (python-telegram-bot over httpx: POST, form-urlencoded or
multipart, to ``https://api.telegram.org/bot<token>/<method>``).

Each account is one channel with its own bot, an administrator of the channel. What the twin
keeps, the way the server does (sources, rule by rule: tests/twins/notes/telegram.md):

* Message ids increase by one per chat; id 1 is the "channel created" service message (never
  visible, never deletable); an album takes one id per photo.
* ``sendMessage`` / ``sendPhoto`` / ``sendMediaGroup`` with ``parse_mode`` (HTML, MarkdownV2,
  Markdown), ``entities``, ``link_preview_options``, ``reply_parameters`` or the older
  ``reply_to_message_id`` / ``allow_sending_without_reply``. Text is cleaned and trimmed as TDLib
  does, then limited to 4096 (text) and 1024 (captions) *Unicode code points* - TDLib's
  ``utf8_length`` - not UTF-16 units (knob ``length_unit``). Photos have no alternative text.
* ``editMessageText`` / ``editMessageCaption`` / ``editMessageMedia``: the bot's own channel posts
  have no edit time limit; "message is not modified" for identical content; "there is no text /
  caption in the message to edit" for the wrong kind; ``edit_date`` (the "edited" mark).
* ``deleteMessage`` / ``deleteMessages``: a bot deletes only messages younger than 48 hours
  ("message can't be deleted"); "message to delete not found" for a deleted id; deleteMessages
  skips missing ids and refuses the whole batch if one message is too old.
* ``getMe``, ``getChat``, ``getChatMember``; 401 "Unauthorized" for a revoked token; 403 "bot is
  not a member of the channel chat" once removed; 400 "need administrator rights in the channel
  chat" once demoted; 429 "Too Many Requests: retry after N" with ``parameters.retry_after``
  during flood control.

What a citizen sees (``visible()``): the channel's posts, oldest first (an album is one post,
its id the first photo's); replies by the channel sit under the post they answer; a reply whose
target was deleted stands on its own, as Telegram still shows it in the feed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import json
import math
import re
import struct
import threading
from typing import Callable

from tests.twins.base import Http, SeenMedia, SeenPost, TwinClock, TwinRequest, TwinResponse, answer

UTC = dt.timezone.utc
API = "https://api.telegram.org"

#: TDLib MessagesManager::can_delete_channel_message: "bots can't delete messages older than 2
#: days" (``unix_time >= date + 2 * 86400``)
BOT_DELETE_WINDOW_S = 2 * 86400
#: the Bot API server's defaults for message_text_length_max / message_caption_length_max
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
#: MessageContent.cpp check_message_group_message_contents: MAX_GROUPED_MESSAGES
MAX_ALBUM = 10

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")

#: the HTML tags TDLib's parse_html accepts (MessageEntity.cpp)
_HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
              "tg-emoji", "tg-time", "span", "pre", "code", "blockquote"}
#: MarkdownV2 characters that must be escaped outside entities (parse_markdown_v2)
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class _Refusal(Exception):
    """An error answer: ``{"ok": false, "error_code", "description", "parameters"?}``."""

    def __init__(self, code: int, description: str, **parameters):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> TwinResponse:
        body: dict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return answer(self.code, body)


def _bad(description: str) -> _Refusal:
    return _Refusal(400, "Bad Request: " + description)


# --- text: cleaning, parsing, counting ------------------------------------------------------------


def clean_text(text: str) -> str:
    """TDLib ``clean_input_string``: control characters (but ``\\n``) become spaces, ``\\r`` and
    U+2028..U+202E are removed."""
    out = []
    for char in text:
        code = ord(char)
        if char == "\r" or 0x2028 <= code <= 0x202E:
            continue
        out.append(" " if code < 32 and char != "\n" else char)
    return "".join(out)


def trim_text(text: str) -> str:
    """TDLib ``fix_formatted_text`` without ``skip_trim``: trailing whitespace goes, leading
    spaces and newlines go."""
    return text.rstrip().lstrip(" \n")


def _parse_html(text: str) -> str:
    """The visible text of an HTML-formatted message (tags dropped, entities decoded), with
    TDLib's errors for an unsupported or unclosed tag."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = re.match(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot);", text[i:])
            if match:
                out.append(html.unescape(match.group(0)))
                i += len(match.group(0))
                continue
            out.append(char)
            i += 1
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        end = text.find(">", i)
        offset = len(text[:i].encode())
        if end < 0:
            raise _bad(f"can't parse entities: Unclosed start tag at byte offset {offset}")
        inside = text[i + 1:end]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not stack or (name and stack[-1] != name):
                raise _bad(f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                           f"expected \"</{stack[-1] if stack else ''}>\", found \"</{name}>\"")
            stack.pop()
        else:
            name = re.split(r"\s", inside, maxsplit=1)[0].lower()
            if name not in _HTML_TAGS:
                raise _bad(f"can't parse entities: Unsupported start tag \"{name}\" at byte "
                           f"offset {offset}")
            stack.append(name)
        i = end + 1
    if stack:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag "
                   f"\"{stack[-1]}\"")
    return "".join(out)


def _parse_markdown_v2(text: str) -> str:
    """The visible text of a MarkdownV2 message: escapes resolved, entity markers and link
    targets dropped; a reserved character that is not escaped is TDLib's error."""
    out: list[str] = []
    open_marks: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char in "*~":
            if open_marks and open_marks[-1] == char:
                open_marks.pop()
            else:
                open_marks.append(char)
            i += 1
            continue
        if char == "_":
            mark = "__" if text.startswith("__", i) else "_"
            if open_marks and open_marks[-1] == mark:
                open_marks.pop()
            else:
                open_marks.append(mark)
            i += len(mark)
            continue
        if char == "|" and text.startswith("||", i):
            if open_marks and open_marks[-1] == "||":
                open_marks.pop()
            else:
                open_marks.append("||")
            i += 2
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            close = text.find(fence, i + len(fence))
            if close < 0:
                raise _bad("can't parse entities: Can't find end of Code entity at byte offset "
                           f"{len(text[:i].encode())}")
            body = text[i + len(fence):close]
            if fence == "```" and "\n" in body:
                body = body.split("\n", 1)[1]
            out.append(re.sub(r"\\([`\\])", r"\1", body))
            i = close + len(fence)
            continue
        if char == "[":
            open_marks.append("[")
            i += 1
            continue
        if char == "]" and open_marks and open_marks[-1] == "[":
            open_marks.pop()
            if text.startswith("(", i + 1):
                close = text.find(")", i + 2)
                if close < 0:
                    raise _bad("can't parse entities: Can't find end of a URL at byte offset "
                               f"{len(text[:i + 2].encode())}")
                i = close + 1
            else:
                i += 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a block quote line
            continue
        if char in _MDV2_RESERVED:
            raise _bad(f"can't parse entities: Character '{char}' is reserved and must be "
                       "escaped with the preceding '\\'")
        out.append(char)
        i += 1
    if open_marks:
        raise _bad("can't parse entities: Can't find end of the entity starting at byte offset "
                   f"{len(text.encode())}")
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy Markdown: ``*bold*``, ``_italic_``, ```code```, ``[text](url)``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    if text.count("*") % 2 or text.count("_") % 2 or text.count("`") % 2:
        raise _bad("can't parse entities: Can't find end of the entity starting at byte offset "
                   f"{len(text.encode())}")
    return re.sub(r"[*_`]", "", text)


def parse_text(text: str, parse_mode: str | None) -> str:
    """What a reader sees of ``text`` sent with ``parse_mode`` (Client::get_formatted_text:
    the mode is case-insensitive, "none" or empty means plain text)."""
    mode = (parse_mode or "").lower()
    if not text or mode in ("", "none"):
        return text
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise _bad("unsupported parse_mode")


def code_points(text: str) -> int:
    """TDLib ``utf8_length``: Unicode code points (Python's ``len``)."""
    return len(text)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- images ---------------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP; None when the bytes are no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return (1, 1)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return width, height
            i += 2 + length
        return (1, 1)
    return None


# --- state ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Photo:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    size: int
    #: the URL Telegram fetched, or ``sha256:<hex16>`` of the uploaded bytes
    source: str


@dataclasses.dataclass
class _Message:
    message_id: int
    date: int
    kind: str  # "text" | "photo" | "service"
    text: str = ""  # the text, or the caption
    entities: list = dataclasses.field(default_factory=list)
    photo: _Photo | None = None
    media_group_id: str | None = None
    reply_to: int | None = None
    edit_date: int | None = None
    link_preview_disabled: bool = False
    #: every text (or caption) it has shown, oldest first
    versions: list[str] = dataclasses.field(default_factory=list)
    #: creation order across every channel of the twin (dates are whole seconds)
    seq: int = 0


@dataclasses.dataclass
class _Channel:
    ref: str
    username: str
    channel_id: int
    title: str
    private: bool
    bot_id: int
    bot_username: str
    token: str
    env_var: str
    member: bool = True
    can_post: bool = True
    can_edit: bool = True
    can_delete: bool = True
    revoked: bool = False
    flood_until: dt.datetime | None = None
    sent: list = dataclasses.field(default_factory=list)  # instants of recent sends
    messages: dict[int, _Message] = dataclasses.field(default_factory=dict)
    next_id: int = 2

    @property
    def chat_id(self) -> int:
        return int(f"-100{self.channel_id}")

    def chat(self) -> dict:
        chat = {"id": self.chat_id, "title": self.title, "type": "channel"}
        if not self.private:
            chat["username"] = self.username
        return chat

    def link(self, message_id: int) -> str:
        if self.private:
            return f"https://t.me/c/{self.channel_id}/{message_id}"
        return f"https://t.me/{self.username}/{message_id}"


_SENDING = {"sendmessage", "sendphoto", "sendmediagroup"}
_EDITING = {"editmessagetext", "editmessagecaption", "editmessagemedia"}


class TelegramTwin:
    """Telegram channels, each with the bot that posts to it."""

    platform = "telegram"

    def __init__(self, clock: TwinClock | None = None, *, length_unit: str = "codepoints",
                 text_limit: int = TEXT_LIMIT, caption_limit: int = CAPTION_LIMIT,
                 delete_window_s: int = BOT_DELETE_WINDOW_S,
                 posts_per_minute: int | None = None,
                 unreachable_urls: tuple[str, ...] = ()) -> None:
        if length_unit not in ("codepoints", "utf16"):
            raise ValueError("length_unit is 'codepoints' (TDLib) or 'utf16'")
        self.clock = clock or TwinClock()
        self.count: Callable[[str], int] = code_points if length_unit == "codepoints" \
            else utf16_units
        self.text_limit = text_limit
        self.caption_limit = caption_limit
        self.delete_window_s = delete_window_s
        #: flood control per chat (None: off); the Bot FAQ names ~20 messages a minute per group
        self.posts_per_minute = posts_per_minute
        self.unreachable_urls = set(unreachable_urls)
        self._lock = threading.RLock()
        self._channels: dict[str, _Channel] = {}
        self._files: dict[str, _Photo] = {}
        self._album_seq = 13_000_000_000_000_000
        self._seq = 0

    # --- the twin interface -------------------------------------------------------------------

    def install(self, http: Http) -> None:
        pattern = re.escape(API) + r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)"
        http.route("POST", pattern, self._serve)
        http.route("GET", pattern, self._serve)

    def add_account(self, ref: str, *, username: str | None = None, private: bool = False,
                    title: str | None = None) -> None:
        platform, _, name = ref.partition(":")
        if platform != self.platform or not name:
            raise ValueError(f"{ref!r} is not a telegram: account reference")
        with self._lock:
            if ref in self._channels:
                return
            digest = hashlib.sha256(ref.encode()).hexdigest()
            # channel usernames: 5-32 of [A-Za-z0-9_], starting with a letter
            if username is None:
                username = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", name))
                username = (username if username[:1].isalpha() else "C" + username)[:32]
                username = username.ljust(5, "_")
            index = len(self._channels)
            bot_id = 7_000_000_000 + int(digest[:8], 16) % 999_999_999
            self._channels[ref] = _Channel(
                ref=ref, username=username, channel_id=1_000_000_000 + int(digest[8:16], 16)
                % 999_999_999 + index, title=title or name, private=private, bot_id=bot_id,
                bot_username=f"{username[:25]}_bot", token=f"{bot_id}:AA{digest[16:49]}",
                env_var="TWIN_TELEGRAM_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
                + "_BOT_TOKEN")
            # message 1 of every channel is the "channel created" service message
            self._channels[ref].messages[1] = _Message(1, self._unix(), "service")

    def account_entry(self, ref: str, department: str) -> dict:
        self.add_account(ref)
        channel = self._channels[ref]
        chat_id = str(channel.chat_id) if channel.private else "@" + channel.username
        return {"department": department, "handle": "@" + channel.username,
                "credentials": {"bot_token": {"env": channel.env_var}},
                "options": {"chat_id": chat_id}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {c.env_var: c.token for c in self._channels.values()}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        """The channel's posts as a subscriber scrolls them, oldest first; an album is one post;
        the channel's replies sit under what they answer."""
        with self._lock:
            posts: list[tuple[int, SeenPost]] = []
            for channel in self._channels.values():
                if account is None or channel.ref == account:
                    posts.extend(self._seen(channel))
            return [seen for _, seen in sorted(posts, key=lambda pair: pair[0])]

    # --- introspection and what people do by hand -------------------------------------------

    def history(self, post_id: str, account: str | None = None) -> list[str]:
        """Every text (or caption) the message has shown, oldest first."""
        with self._lock:
            return list(self._message_of(post_id, account).versions)

    def message(self, post_id: str, account: str | None = None) -> dict:
        """The message as the Bot API renders it (``Message`` JSON)."""
        with self._lock:
            channel = self._channel_of(post_id, account)
            return self._render(channel, channel.messages[int(post_id)])

    def revoke_token(self, ref: str) -> None:
        """@BotFather /revoke: the old token answers 401."""
        with self._lock:
            self._channels[ref].revoked = True

    def demote(self, ref: str) -> None:
        """An owner unticks "Post / Edit / Delete messages" of the bot administrator."""
        with self._lock:
            channel = self._channels[ref]
            channel.can_post = channel.can_edit = channel.can_delete = False

    def remove_bot(self, ref: str) -> None:
        """An owner removes the bot from the channel."""
        with self._lock:
            self._channels[ref].member = False

    def flood_wait(self, ref: str, seconds: int) -> None:
        """Flood control: every send and edit in the chat answers 429 for ``seconds``."""
        with self._lock:
            self._channels[ref].flood_until = self.clock.now() + dt.timedelta(seconds=seconds)

    def delete_by_hand(self, ref: str, message_id: int) -> None:
        """A channel owner deletes a message in the app (owners have no 48 h limit)."""
        with self._lock:
            self._channels[ref].messages.pop(int(message_id), None)

    # --- plumbing -----------------------------------------------------------------------------

    def _serve(self, request: TwinRequest) -> TwinResponse:
        token = request.match.get("token", "")
        method = request.match.get("method", "").lower()
        with self._lock:
            try:
                # ClientManager::send: malformed tokens, then a bot that cannot log in
                if (not token or token[0] == "0" or len(token) > 80 or "/" in token
                        or ":" not in token):
                    raise _Refusal(401, "Unauthorized: invalid token specified")
                bot = next((c for c in self._channels.values() if c.token == token), None)
                if bot is None or bot.revoked:
                    raise _Refusal(401, "Unauthorized")
                handler = self._methods().get(method)
                if handler is None:
                    raise _Refusal(404, "Not Found")
                params = self._params(request)
                result = handler(bot, params, request)
            except _Refusal as refusal:
                return refusal.response()
            return answer(200, {"ok": True, "result": result})

    def _methods(self) -> dict[str, Callable]:
        return {"getme": self._get_me, "getchat": self._get_chat,
                "getchatmember": self._get_chat_member, "sendmessage": self._send_message,
                "sendphoto": self._send_photo, "sendmediagroup": self._send_media_group,
                "editmessagetext": self._edit_text, "editmessagecaption": self._edit_caption,
                "editmessagemedia": self._edit_media, "deletemessage": self._delete_message,
                "deletemessages": self._delete_messages}

    @staticmethod
    def _params(request: TwinRequest) -> dict[str, str]:
        """Query string, form fields or a JSON body: every value as the string the Bot API
        server reads (JSON objects and arrays stay JSON text)."""
        params = {k: v[0] for k, v in request.query.items()}
        kind = (request.header("content-type") or "").lower()
        if kind.startswith("application/json"):
            for key, value in (request.json() or {}).items():
                params[key] = value if isinstance(value, str) else json.dumps(value)
        elif kind.startswith("multipart/form-data"):
            # the parts carry no charset; the server reads them as UTF-8 (TwinRequest.form()
            # would decode them as ASCII)
            for name, part in request.parts():
                if part.get_filename() is None and name not in params:
                    try:
                        params[name] = (part.get_payload(decode=True) or b"").decode("utf-8")
                    except UnicodeDecodeError:
                        raise _bad("strings must be encoded in UTF-8") from None
        else:
            params.update({k: v[0] for k, v in request.form().items()})
        return params

    def _unix(self) -> int:
        return int(self.clock.now().timestamp())

    # --- chats and access ---------------------------------------------------------------------

    def _chat(self, bot: _Channel, params: dict, access: str) -> _Channel:
        """Client::check_chat / check_chat_access and DialogManager::can_send_message_to_dialog:
        "chat not found", "bot is not a member of the channel chat", "need administrator
        rights in the channel chat"."""
        chat_id = (params.get("chat_id") or "").strip()
        if not chat_id:
            raise _bad("chat_id is empty")
        if chat_id.startswith("@"):
            name = chat_id[1:].lower()
            channel = next((c for c in self._channels.values()
                            if not c.private and c.username.lower() == name), None)
        else:
            try:
                number = int(chat_id)
            except ValueError:
                raise _bad("chat not found") from None
            channel = next((c for c in self._channels.values() if c.chat_id == number), None)
            if channel is not None and channel is not bot and channel.private:
                channel = None  # a private channel is unknown to bots that are not in it
        if channel is None:
            raise _bad("chat not found")
        member = channel is bot and bot.member
        if not member and (access != "read" or channel.private):
            raise _Refusal(403, "Forbidden: bot is not a member of the channel chat")
        if access == "write" and not bot.can_post:
            raise _bad("need administrator rights in the channel chat")
        return channel

    def _flood(self, channel: _Channel) -> None:
        now = self.clock.now()
        if channel.flood_until is not None and now < channel.flood_until:
            wait = math.ceil((channel.flood_until - now).total_seconds())
            raise _Refusal(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        if self.posts_per_minute is not None:
            channel.sent = [t for t in channel.sent if (now - t).total_seconds() < 60]
            if len(channel.sent) >= self.posts_per_minute:
                wait = max(1, math.ceil(60 - (now - channel.sent[0]).total_seconds()))
                raise _Refusal(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _target(self, channel: _Channel, params: dict, what: str) -> _Message:
        """Client::check_message: "<what> not found" for an id that is not there."""
        raw = params.get("message_id", "")
        try:
            message_id = int(raw)
        except ValueError:
            raise _bad("message identifier is not specified") from None
        message = channel.messages.get(message_id)
        if message is None:
            raise _bad(f"{what} not found")
        return message

    # --- getMe / getChat / getChatMember -------------------------------------------------------

    def _get_me(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        return {"id": bot.bot_id, "is_bot": True, "first_name": bot.title,
                "username": bot.bot_username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    def _get_chat(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        channel = self._chat(bot, params, "read")
        return {**channel.chat(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}

    def _get_chat_member(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        channel = self._chat(bot, params, "read")
        user = {"id": bot.bot_id, "is_bot": True, "first_name": bot.title,
                "username": bot.bot_username}
        if params.get("user_id") != str(bot.bot_id):
            raise _bad("user not found")
        if channel is not bot or not bot.member:
            return {"status": "left", "user": user}
        return {"status": "administrator", "user": user, "can_be_edited": False,
                "is_anonymous": False, "can_manage_chat": True,
                "can_delete_messages": bot.can_delete, "can_manage_video_chats": False,
                "can_restrict_members": False, "can_promote_members": False,
                "can_change_info": False, "can_invite_users": False, "can_post_stories": False,
                "can_edit_stories": False, "can_delete_stories": False,
                "can_post_messages": bot.can_post, "can_edit_messages": bot.can_edit}

    # --- sending ------------------------------------------------------------------------------

    def _formatted(self, raw: str, parse_mode: str | None, entities: str | None,
                   empty: str | None) -> tuple[str, list]:
        """Client::get_formatted_text then TDLib fix_formatted_text: the text a reader sees."""
        if len(raw.encode()) > (1 << 15):
            raise _bad("text is too long")
        text = trim_text(clean_text(parse_text(raw, parse_mode)))
        if not text and empty is not None:
            raise _bad(empty)
        listed = json.loads(entities) if entities and not parse_mode else []
        return text, listed if isinstance(listed, list) else []

    def _reply_to(self, channel: _Channel, params: dict) -> int | None:
        """Client::get_reply_parameters (``reply_parameters`` JSON, or the older
        ``reply_to_message_id``): "message to be replied not found" unless
        ``allow_sending_without_reply``."""
        if "reply_parameters" in params:
            raw = params["reply_parameters"]
            if not raw:
                return None
            try:
                value = json.loads(raw)
            except ValueError:
                raise _bad("can't parse reply parameters JSON object") from None
            if not isinstance(value, dict):
                raise _bad("object expected as reply parameters")
            if not value:
                return None
            if "message_id" not in value:
                raise _bad("can't parse reply parameters JSON object")
            message_id = int(value["message_id"])
            allow = bool(value.get("allow_sending_without_reply"))
        else:
            message_id = int(params.get("reply_to_message_id") or 0)
            allow = params.get("allow_sending_without_reply", "").lower() == "true"
        if message_id <= 0:
            return None
        if message_id not in channel.messages:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return message_id

    def _photo_input(self, value: str | None, request: TwinRequest) -> _Photo:
        """Client::get_input_file: ``attach://<part>`` or an uploaded part, an HTTP URL Telegram
        fetches, or a file_id it issued before."""
        files = request.files()
        if value and value.startswith("attach://"):
            part = files.get(value[len("attach://"):])
            if part is None:
                raise _bad("can't parse InputMedia: media not found")
            return self._upload(part[1])
        if value and re.match(r"https?://", value, re.IGNORECASE):
            if value in self.unreachable_urls:
                raise _bad("failed to get HTTP URL content")
            digest = hashlib.sha256(value.encode()).hexdigest()
            return self._store_photo(digest, 800, 600, 0, value)
        if value:
            photo = self._files.get(value)
            if photo is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            return photo
        raise _bad("there is no photo in the request")

    def _upload(self, data: bytes) -> _Photo:
        size = _image_size(data)
        if size is None:
            raise _bad("IMAGE_PROCESS_FAILED")
        digest = hashlib.sha256(data).hexdigest()
        return self._store_photo(digest, size[0], size[1], len(data), f"sha256:{digest[:16]}")

    def _store_photo(self, digest: str, width: int, height: int, size: int,
                     source: str) -> _Photo:
        photo = _Photo(f"AgACAgQAAx{digest[:40]}", f"AQAD{digest[40:56]}", width, height, size,
                       source)
        self._files[photo.file_id] = photo
        return photo

    def _new_message(self, channel: _Channel, **fields) -> _Message:
        self._seq += 1
        message = _Message(channel.next_id, self._unix(), **fields, seq=self._seq)
        message.versions.append(message.text)
        channel.messages[message.message_id] = message
        channel.next_id += 1
        return message

    def _sent(self, channel: _Channel) -> None:
        if self.posts_per_minute is not None:
            channel.sent.append(self.clock.now())

    def _send_message(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        channel = self._chat(bot, params, "write")
        self._flood(channel)
        raw = params.get("text", "")
        if not raw:
            raise _bad("message text is empty")
        text, entities = self._formatted(raw, params.get("parse_mode"), params.get("entities"),
                                         "text must be non-empty")
        if self.count(text) > self.text_limit:
            raise _bad("message is too long")
        reply_to = self._reply_to(channel, params)
        preview = json.loads(params.get("link_preview_options") or "{}") or {}
        disabled = bool(preview.get("is_disabled")) or \
            params.get("disable_web_page_preview", "").lower() == "true"
        message = self._new_message(channel, kind="text", text=text, entities=entities,
                                    reply_to=reply_to, link_preview_disabled=disabled)
        self._sent(channel)
        return self._render(channel, message)

    def _caption(self, params: dict, prefix: str = "") -> tuple[str, list]:
        text, entities = self._formatted(params.get(prefix + "caption") or "",
                                         params.get(prefix + "parse_mode"),
                                         params.get(prefix + "caption_entities"), None)
        if self.count(text) > self.caption_limit:
            raise _bad("message caption is too long")
        return text, entities

    def _send_photo(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        channel = self._chat(bot, params, "write")
        self._flood(channel)
        files = request.files()
        value = params.get("photo")
        if value is None and "photo" in files:
            photo = self._upload(files["photo"][1])
        else:
            photo = self._photo_input(value, request)
        caption, entities = self._caption(params)
        reply_to = self._reply_to(channel, params)
        message = self._new_message(channel, kind="photo", text=caption, entities=entities,
                                    photo=photo, reply_to=reply_to)
        self._sent(channel)
        return self._render(channel, message)

    def _send_media_group(self, bot: _Channel, params: dict, request: TwinRequest) -> list:
        channel = self._chat(bot, params, "write")
        self._flood(channel)
        try:
            media = json.loads(params.get("media") or "")
        except ValueError:
            raise _bad("can't parse media JSON object") from None
        if not isinstance(media, list):
            raise _bad("expected an Array of InputMedia")
        if len(media) > MAX_ALBUM:
            raise _bad("too many messages to send as an album")
        items = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise _bad("can't parse InputMedia: unsupported media type in the twin")
            photo = self._photo_input(item.get("media"), request)
            caption, entities = self._caption({k: v if isinstance(v, str) or v is None
                                               else json.dumps(v) for k, v in item.items()})
            items.append((photo, caption, entities))
        reply_to = self._reply_to(channel, params)
        self._album_seq += 1
        group = str(self._album_seq)
        messages = [self._new_message(channel, kind="photo", text=caption, entities=entities,
                                      photo=photo, reply_to=reply_to, media_group_id=group)
                    for photo, caption, entities in items]
        self._sent(channel)
        return [self._render(channel, m) for m in messages]

    # --- editing ------------------------------------------------------------------------------

    def _editable(self, bot: _Channel, params: dict) -> tuple[_Channel, _Message]:
        """MessagesManager::can_edit_message for a bot's own channel post: no time limit
        (``has_edit_time_limit`` is false for a bot's outgoing messages); the bot needs
        can_edit_messages or can_post_messages."""
        channel = self._chat(bot, params, "edit")
        self._flood(channel)
        message = self._target(channel, params, "message to edit")
        if message.kind == "service" or not (bot.can_edit or bot.can_post):
            raise _bad("message can't be edited")
        return channel, message

    def _apply_edit(self, channel: _Channel, message: _Message, text: str,
                    entities: list) -> dict:
        message.text, message.entities = text, entities
        message.edit_date = self._unix()
        message.versions.append(text)
        return self._render(channel, message)

    def _edit_text(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        raw = params.get("text", "")
        if not raw:
            raise _bad("message text is empty")
        channel, message = self._editable(bot, params)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(raw, params.get("parse_mode"), params.get("entities"),
                                         "text must be non-empty")
        if text == message.text and entities == message.entities:
            raise _bad(NOT_MODIFIED)
        if self.count(text) > self.text_limit:
            # EditMessageQuery::on_error passes the server's error name through
            raise _bad("MESSAGE_TOO_LONG")
        return self._apply_edit(channel, message, text, entities)

    def _edit_caption(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        channel, message = self._editable(bot, params)
        if message.kind != "photo":
            raise _bad("there is no caption in the message to edit")
        text, entities = self._formatted(params.get("caption") or "", params.get("parse_mode"),
                                         params.get("caption_entities"), None)
        if text == message.text and entities == message.entities:
            raise _bad(NOT_MODIFIED)
        if self.count(text) > self.caption_limit:
            raise _bad("MEDIA_CAPTION_TOO_LONG")
        return self._apply_edit(channel, message, text, entities)

    def _edit_media(self, bot: _Channel, params: dict, request: TwinRequest) -> dict:
        """editMessageMedia with an InputMediaPhoto: the photo is replaced and the caption
        becomes the InputMedia's own (absent: no caption)."""
        channel, message = self._editable(bot, params)
        if message.kind not in ("text", "photo"):
            raise _bad("message can't be edited")
        try:
            media = json.loads(params.get("media") or "")
        except ValueError:
            raise _bad("can't parse media JSON object") from None
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise _bad("can't parse InputMedia: unsupported media type in the twin")
        photo = self._photo_input(media.get("media"), request)
        caption, entities = self._caption({k: v if isinstance(v, str) or v is None
                                           else json.dumps(v) for k, v in media.items()})
        if message.kind == "photo" and message.photo is not None \
                and photo.file_unique_id == message.photo.file_unique_id \
                and caption == message.text and entities == message.entities:
            raise _bad(NOT_MODIFIED)
        message.kind, message.photo = "photo", photo
        return self._apply_edit(channel, message, caption, entities)

    # --- deleting -----------------------------------------------------------------------------

    def _deletable(self, bot: _Channel, message: _Message) -> bool:
        """MessagesManager::can_delete_channel_message for a bot."""
        if self._unix() >= message.date + self.delete_window_s:
            return False
        if message.message_id == 1 or message.kind == "service":
            return False
        return bot.can_delete or bot.can_post

    def _delete_message(self, bot: _Channel, params: dict, request: TwinRequest) -> bool:
        channel = self._chat(bot, params, "write_any")
        if not params.get("message_id"):
            raise _bad("message identifier is not specified")
        message = self._target(channel, params, "message to delete")
        if not self._deletable(bot, message):
            raise _bad("message can't be deleted")
        del channel.messages[message.message_id]
        return True

    def _delete_messages(self, bot: _Channel, params: dict, request: TwinRequest) -> bool:
        channel = self._chat(bot, params, "write_any")
        try:
            ids = [int(i) for i in json.loads(params.get("message_ids") or "[]")]
        except (ValueError, TypeError):
            raise _bad("can't parse message identifiers JSON object") from None
        if not ids:
            raise _bad("message identifiers are not specified")
        if len(ids) > 100:
            raise _bad("too many message identifiers specified")
        present = [channel.messages[i] for i in ids if i in channel.messages]
        if any(not self._deletable(bot, m) for m in present):
            raise _bad("message can't be deleted")
        for message in present:
            del channel.messages[message.message_id]
        return True

    # --- rendering ----------------------------------------------------------------------------

    def _render(self, channel: _Channel, message: _Message, with_reply: bool = True) -> dict:
        """Client::JsonMessage for a channel post sent by the bot: ``sender_chat`` is the channel,
        no ``from``; ``reply_to_message`` when the target still exists."""
        body: dict = {"message_id": message.message_id, "sender_chat": channel.chat(),
                      "chat": channel.chat(), "date": message.date}
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if with_reply and message.reply_to in channel.messages:
            body["reply_to_message"] = self._render(channel, channel.messages[message.reply_to],
                                                    with_reply=False)
        if message.media_group_id:
            body["media_group_id"] = message.media_group_id
        if message.kind == "text":
            body["text"] = message.text
            if message.entities:
                body["entities"] = message.entities
            if message.link_preview_disabled:
                body["link_preview_options"] = {"is_disabled": True}
        elif message.kind == "photo" and message.photo is not None:
            photo = message.photo
            body["photo"] = [{"file_id": photo.file_id, "file_unique_id": photo.file_unique_id,
                              "width": photo.width, "height": photo.height,
                              "file_size": photo.size}]
            if message.text:
                body["caption"] = message.text
                if message.entities:
                    body["caption_entities"] = message.entities
        return body

    def _seen(self, channel: _Channel) -> list[tuple[int, SeenPost]]:
        messages = [m for m in sorted(channel.messages.values(), key=lambda m: m.message_id)
                    if m.kind != "service"]
        # an album is one post: its messages share media_group_id
        posts: list[list[_Message]] = []
        by_group: dict[str, list[_Message]] = {}
        for message in messages:
            if message.media_group_id:
                if message.media_group_id not in by_group:
                    by_group[message.media_group_id] = []
                    posts.append(by_group[message.media_group_id])
                by_group[message.media_group_id].append(message)
            else:
                posts.append([message])
        post_of = {m.message_id: post[0].message_id for post in posts for m in post}

        def answers(post: list[_Message]) -> int | None:
            target = post[0].reply_to
            return post_of.get(target) if target is not None else None

        def seen(post: list[_Message]) -> SeenPost:
            head = post[0]
            if len(post) == 1:
                text = head.text
            else:
                # official apps show an album's caption when exactly one photo has one
                captions = [m.text for m in post if m.text]
                text = captions[0] if len(captions) == 1 else ""
            media = tuple(SeenMedia("", m.photo.source) for m in post if m.photo is not None)
            replies = tuple(seen(p) for p in posts if answers(p) == head.message_id)
            return SeenPost(str(head.message_id), text, media, edited=any(
                m.edit_date is not None for m in post), replies=replies,
                url=channel.link(head.message_id))

        return [(p[0].seq, seen(p)) for p in posts if answers(p) is None]

    # --- lookups for introspection ---------------------------------------------------------------

    def _channel_of(self, post_id: str, account: str | None) -> _Channel:
        candidates = [c for c in self._channels.values()
                      if (account is None or c.ref == account) and int(post_id) in c.messages]
        if len(candidates) != 1:
            raise KeyError(f"message {post_id} is in {len(candidates)} channels; name the account")
        return candidates[0]

    def _message_of(self, post_id: str, account: str | None) -> _Message:
        return self._channel_of(post_id, account).messages[int(post_id)]
