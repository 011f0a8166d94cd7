"""Telegram channels through python-telegram-bot's ``Bot`` (Bot API), posting as a bot that is
an administrator of the channel ``options.chat_id`` (``"@AjuntamentCalp"`` or ``-100...``).

PTB is asynchronous; the adapter contract (and the dramatiq worker threads that call it) is
synchronous. Each operation therefore runs in its own short event loop (``asyncio.run``) with a
fresh ``Bot`` and httpx client, closed before returning: an httpx ``AsyncClient`` is bound to the
loop that first used it, so one cannot be kept across ``asyncio.run`` calls, and a private
long-lived loop would have to be shared safely between worker threads. One TLS handshake per
post is nothing at a few posts an hour. Called from inside a running loop, the operation runs
in a helper thread instead (``asyncio.run`` refuses to nest).

The bot token is part of every Bot API URL (``/bot<token>/sendMessage``): PTB logs that URL
(``telegram.Bot`` at debug) and httpx logs every request URL (``httpx`` at info), and
``Bot.initialize`` puts the token in its ``InvalidToken`` message. So: a logging filter masks
the token on those loggers, the adapter never calls ``initialize`` (the Bot methods work
without it), every error message is masked, and nothing holds the ``Bot`` in a repr.

Mapping of ``telegram.error`` onto the adapter errors (``adapters.base``):
``RetryAfter`` -> ``RateLimited(retry_after)``; ``TimedOut`` -> ``OutcomeUnknown`` on sends when
the request went out (read/write timeout), ``Unavailable`` when it never did (connect/pool
timeout) or for reads; ``Forbidden`` / ``InvalidToken`` -> ``AuthError``; ``BadRequest`` ->
``Rejected`` (but "message is not modified" on an edit is a successful no-op); other
``NetworkError`` (5xx, refused connection) -> ``Unavailable``, unless the connection broke after
sending a write (``OutcomeUnknown``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
import warnings
from typing import Awaitable, Callable

import httpx
import telegram
from telegram import error as tg_error
from telegram.request import HTTPXRequest

from .platform import PlatformAdapter, utc_now
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, OutcomeUnknown, PostRef,
                   PostRequest, RateLimited, Rejected, Unavailable, Unknowable)
from .capabilities import TELEGRAM_CAPTION_LIMIT
from .textlength import telegram_sent_length
from .credentials import Secret, mask_secrets, masking_filter

__all__ = ["TelegramAdapter"]

#: loggers that write Bot API URLs (and so the token)
_URL_LOGGERS = ("httpx", "telegram.Bot", "telegram.request.BaseRequest",
                "telegram.request.HTTPXRequest")
_NOT_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError)


_FILTER = masking_filter(_URL_LOGGERS)


class TelegramAdapter(PlatformAdapter):
    """One Telegram channel, posted to by one bot."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(account, clock=clock)
        self.timeout_s = timeout_s
        chat_id = account.options.get("chat_id")
        if not chat_id:
            raise ValueError(f"account {account.ref}: options.chat_id is required "
                             "('@channel' or the numeric -100... id)")
        self.chat_id: int | str = (int(chat_id) if re.fullmatch(r"-?\d+", str(chat_id))
                                   else str(chat_id))
        self._token: Secret = account.credential("bot_token")
        _FILTER.secrets.add(self._token.reveal())

    sent_counting = "code points once cleaned, as Telegram counts"

    def sent_length(self, text: str) -> int:
        # the linter counts UTF-16 units (never fewer); this guard only avoids a 400, so it
        # counts as the server does once it has cleaned the text
        return telegram_sent_length(text)

    def _repr_details(self) -> str:
        return f"chat={self.chat_id!r}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Send the message (photos with the text as caption); a reply when ``target`` is set."""
        self.check_content(request)
        reply_to = int(request.target.post_id) if request.target else None
        reply = telegram.ReplyParameters(reply_to) if reply_to else None
        if not request.images:
            message = self._run("publish", lambda bot: bot.send_message(
                self.chat_id, request.text, reply_parameters=reply), write=True)
            return self._ref(message.message_id, kind="text")
        length = telegram_sent_length(request.text)
        if length > TELEGRAM_CAPTION_LIMIT:
            # the linter checks this with UTF-16 counting; this guard only avoids a 400, so it
            # counts as the server does (a caption that fits once cleaned goes out)
            raise Rejected(f"a caption holds {TELEGRAM_CAPTION_LIMIT} characters, "
                           f"this text has {length}")
        photos = [_photo_input(image) for image in request.images]
        if len(photos) == 1:
            message = self._run("publish", lambda bot: bot.send_photo(
                self.chat_id, photos[0], caption=request.text, reply_parameters=reply),
                write=True)
            return self._ref(message.message_id, kind="photo")
        media = [telegram.InputMediaPhoto(photo, caption=request.text if i == 0 else None)
                 for i, photo in enumerate(photos)]
        messages = self._run("publish", lambda bot: bot.send_media_group(
            self.chat_id, media, reply_parameters=reply), write=True)
        ids = [m.message_id for m in messages]
        # the album is one post for us: its first message carries the caption
        return self._ref(ids[0], kind="photo", message_ids=",".join(map(str, ids)))

    def correct(self, request: PostRequest) -> PostRef:
        """Edit the message (or its caption) in place; "not modified" counts as done."""
        target = request.require_target()
        self.check_content(request)
        message_id = int(target.post_id)
        if target.extra.get("kind") == "photo":
            call = lambda bot: bot.edit_message_caption(  # noqa: E731
                chat_id=self.chat_id, message_id=message_id, caption=request.text)
        else:
            call = lambda bot: bot.edit_message_text(  # noqa: E731
                request.text, chat_id=self.chat_id, message_id=message_id)
        try:
            self._run("correct", call, write=True)
        except Rejected as exc:
            if "message is not modified" not in str(exc).lower():
                raise
            # an earlier attempt already applied this very text
        extra = dict(target.extra)
        extra["edit_count"] = str(int(extra.get("edit_count", "0")) + 1)
        return PostRef("telegram", self.account, target.post_id, target.url, extra)

    def retract(self, request: PostRequest) -> None:
        """Delete the message within 48 h; past that (Telegram refuses), replace its text with
        ``request.text``, the withdrawal notice."""
        target = request.require_target()
        ids = [int(i) for i in (target.extra.get("message_ids") or target.post_id).split(",")]
        published = target.published_at()
        window = self.capabilities.delete_window_s
        too_old = (published is not None and window is not None
                   and (self.clock() - published).total_seconds() > window)
        if not too_old:
            try:
                if len(ids) == 1:
                    self._run("retract", lambda bot: bot.delete_message(self.chat_id, ids[0]),
                              write=True)
                else:
                    self._run("retract", lambda bot: bot.delete_messages(self.chat_id, ids),
                              write=True)
                return
            except Rejected as exc:
                text = str(exc).lower()
                if "message to delete not found" in text:
                    return  # already gone (an earlier attempt, or deleted by hand)
                if "can't be deleted" not in text:
                    raise
        self.correct(request)

    def lookup(self, request: PostRequest) -> PostRef | None:
        """What an earlier attempt produced - as far as a bot can know.

        Bots cannot read a channel's history, nor receive their own posts as updates (Bot API
        FAQ; tdlib/telegram-bot-api #221), so a sent message cannot be found: for publish and
        reply this raises ``Unknowable`` (answering None would make the engine post it again,
        and every subscriber would read it twice). When the target is known (correct,
        retract-by-edit) the edit is re-sent: "message is not modified" proves the earlier
        attempt landed, success means it has landed now; either way the target shows the
        text. Deletions: None (deleting again answers "not found", which ``retract`` treats
        as done).
        """
        if request.action == "correct" and request.target is not None:
            return self.correct(request)
        if request.action in ("publish", "reply"):
            shown = " ".join(request.text.split())[:60]
            raise Unknowable(f"telegram {self.account}: a bot cannot read {self.chat_id}, so "
                             f"pregonero cannot tell whether «{shown}» went out: look at the "
                             "channel; if it is not there, send it with pregonero retry")
        return None

    def verify(self) -> AccountStatus:
        """Whether the token is valid (``getMe``) and the bot may still post in the chat
        (``getChatMember``): an owner may have removed the bot from the channel or unticked
        its "Post messages" right, and every post would then fail."""
        try:
            me = self._run("verify", lambda bot: bot.get_me())
            member = self._run("verify", lambda bot: bot.get_chat_member(self.chat_id, me.id))
        except (AuthError, Rejected) as exc:
            return AccountStatus(self.account, False, str(exc))
        who = f"bot @{me.username} (id {me.id}) for chat {self.chat_id}"
        why_not = _cannot_post(member)
        if why_not:
            return AccountStatus(self.account, False, f"{who}: {why_not}")
        return AccountStatus(self.account, True, who)

    # --- internals ------------------------------------------------------------------------------

    def _run(self, operation: str, call: Callable[[telegram.Bot], Awaitable], *,
             write: bool = False):
        """Run ``call(bot)`` in a fresh event loop; errors become adapter errors."""
        async def go():
            timeout = self.timeout_s
            request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout,
                                   write_timeout=timeout, pool_timeout=timeout,
                                   media_write_timeout=timeout * 3)
            bot = telegram.Bot(self._token.reveal(), request=request,
                               get_updates_request=request)
            try:
                return await call(bot)
            finally:
                await request.shutdown()

        try:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(go())
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, go()).result()
        except tg_error.TelegramError as exc:
            raise self._error(operation, exc, write=write) from exc

    def _error(self, operation: str, exc: tg_error.TelegramError, *,
               write: bool) -> AdapterError:
        message = mask_secrets(f"Telegram {operation} failed ({type(exc).__name__}): "
                               f"{exc.message}", [self._token])
        if isinstance(exc, tg_error.RetryAfter):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PTB 22 deprecates the int form
                after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
            return RateLimited(message, retry_after_s=seconds)
        if isinstance(exc, (tg_error.Forbidden, tg_error.InvalidToken)):
            return AuthError(message)
        if isinstance(exc, tg_error.TimedOut):
            sent = not isinstance(exc.__cause__, _NOT_SENT)
            return OutcomeUnknown(message) if write and sent else Unavailable(message)
        if isinstance(exc, (tg_error.BadRequest, tg_error.ChatMigrated)):
            return Rejected(message)
        if isinstance(exc, tg_error.NetworkError) and write and isinstance(
                exc.__cause__, (httpx.ReadError, httpx.RemoteProtocolError)):
            return OutcomeUnknown(message)  # the connection broke after the request went out
        return Unavailable(message)

    def _ref(self, message_id: int, *, kind: str, message_ids: str | None = None) -> PostRef:
        extra = {"published_at": self.clock().astimezone(dt.timezone.utc).isoformat(),
                 "edit_count": "0", "kind": kind, "chat_id": str(self.chat_id)}
        if message_ids:
            extra["message_ids"] = message_ids
        return PostRef("telegram", self.account, str(message_id),
                       _message_url(self.chat_id, message_id), extra)


def _cannot_post(member) -> str | None:
    """Why a chat member (the bot) cannot post, or None (getChatMember's ChatMember: channels
    need an administrator with ``can_post_messages``; groups a member not restricted)."""
    status = getattr(member, "status", "")
    if status in ("left", "kicked"):
        return "the bot is not a member of the chat any more: add it again as an administrator"
    if status == "restricted" and not getattr(member, "can_send_messages", True):
        return "the bot may not send messages in this chat"
    if status == "administrator" and getattr(member, "can_post_messages", None) is False:
        return ("the bot is an administrator without the right to post messages: tick "
                "\"Post messages\" for it in the channel's administrators")
    return None


def _message_url(chat_id: int | str, message_id: int) -> str | None:
    """t.me link: public channels by username, private ones by their internal id."""
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return f"https://t.me/{chat_id[1:]}/{message_id}"
    text = str(chat_id)
    if text.startswith("-100"):
        return f"https://t.me/c/{text[4:]}/{message_id}"
    return None


def _photo_input(image):
    """A URL is passed for Telegram to fetch; a local file's bytes are the engine's checked
    ones, or read here (PTB would open the path and never close it)."""
    if re.match(r"https?://", image.path):
        return image.path
    try:
        return image.bytes_or_read()
    except OSError as exc:
        raise Rejected(f"image {image.path} cannot be read ({type(exc).__name__})") from exc
