"""Telegram through python-telegram-bot (v22): polling or webhook in, rate-limited sends out.

Polling (only ``TELEGRAM_BOT_TOKEN`` set): `getUpdates` is asked for the next offset only
after the previous batch is stored, so Telegram keeps anything not yet stored. Webhook
(``GOVBOT_PUBLIC_URL`` set): `setWebhook` with a ``secret_token`` that every delivery must
echo in ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time).
Sends respect Telegram's limits (about 30 messages/s in all, about 1/s per chat with short
bursts) and wait ``retry_after`` on HTTP 429.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.ratelimit import TokenBucket
from bot.render import TELEGRAM_LIMIT, split_reply, telegram_html
from bot.store import GatewayStore, Incoming
from core.settings import Settings

log = logging.getLogger(__name__)

COMMANDS = [("start", "Bắt đầu, giới thiệu trợ lý"), ("help", "Trợ lý giúp được gì"),
            ("tiep", "Tiếp tục bước hướng dẫn đang làm dở"),
            ("xoadulieu", "Xoá cuộc trò chuyện và dữ liệu của tôi")]
ALLOWED_UPDATES = ["message", "callback_query"]
UNSUPPORTED_KEYS = ("photo", "sticker", "voice", "audio", "video", "video_note", "document",
                    "animation", "location", "contact")


TEAM_PAYLOADS = ("#claim:", "#fwd:", "#to:", "#fwdx:")  # buttons of a team's card (bot/teamdesk.py)


def _name(user: dict[str, Any]) -> str:
    return " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()[:120]


class SendError(RuntimeError):
    """A send that will not succeed by retrying (blocked bot, bad chat)."""


def webhook_secret(settings: Settings) -> str:
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hashlib.sha256(f"govbot-webhook:{settings.telegram_bot_token}".encode()).hexdigest()[:48]


def secret_matches(settings: Settings, header: str | None) -> bool:
    return hmac.compare_digest((header or "").encode(), webhook_secret(settings).encode())


def parse_update(update: dict[str, Any]) -> Incoming | None:
    """A Telegram Update (JSON) -> Incoming; None for updates the assistant ignores
    (edits, channel posts, group chats). Raises ValueError when it is not an update."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise ValueError("not a Telegram update (no integer update_id)")
    delivery = str(update["update_id"])
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message = callback.get("message") or {}
        chat = message.get("chat") or {}
        if "id" not in chat:
            return None
        user = callback.get("from") or ({"id": chat["id"]} if chat.get("type", "private") == "private"
                                        else {})
        if "id" not in user:
            return None
        detail = {"callback_id": str(callback.get("id", "")), "user_id": int(user["id"]),
                  "user_name": _name(user), "message_id": message.get("message_id")}
        if chat.get("type", "private") != "private":
            # A button on a team's card in its group chat: ordered per member who pressed.
            data = str(callback.get("data") or "")
            if not data.startswith(TEAM_PAYLOADS):
                return None
            return Incoming("telegram", delivery, f"tg:{user['id']}", str(chat["id"]), "team",
                            data, {**detail, "group": True})
        return Incoming("telegram", delivery, f"tg:{chat['id']}", str(chat["id"]), "payload",
                        str(callback.get("data") or ""), detail)
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    if chat.get("type") != "private" or "id" not in chat:
        return None
    sender, chat_id = f"tg:{chat['id']}", str(chat["id"])
    text = message.get("text")
    if isinstance(text, str):
        kind = "command" if text.startswith("/") and any(
            e.get("type") == "bot_command" and e.get("offset") == 0
            for e in message.get("entities") or []) else "text"
        return Incoming("telegram", delivery, sender, chat_id, kind, text,
                        {"user_name": _name(message.get("from") or {})})
    if any(k in message for k in UNSUPPORTED_KEYS):
        return Incoming("telegram", delivery, sender, chat_id, "unsupported", "",
                        {"what": next(k for k in UNSUPPORTED_KEYS if k in message)})
    return None


class TelegramChannel:
    name = "telegram"
    limit = TELEGRAM_LIMIT

    def __init__(self, settings: Settings, store: GatewayStore):
        self.settings, self.store = settings, store
        self.bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_url,
                       request=HTTPXRequest(connection_pool_size=64, read_timeout=10,
                                            connect_timeout=5),
                       get_updates_request=HTTPXRequest(read_timeout=40, connect_timeout=5))
        self.global_bucket = TokenBucket(settings.telegram_global_per_second,
                                         max(settings.telegram_global_per_second, 1))
        self.chat_buckets: dict[str, TokenBucket] = {}
        self._poller: asyncio.Task | None = None
        self.mode = "webhook" if settings.public_url else "polling"

    async def start(self) -> None:
        await self.bot.initialize()
        try:
            await self.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        except TelegramError as exc:
            log.warning("setMyCommands failed: %s", exc)
        if self.mode == "webhook":
            url = f"{self.settings.public_url.rstrip('/')}/webhooks/telegram"
            await self.bot.set_webhook(url, secret_token=webhook_secret(self.settings),
                                       allowed_updates=ALLOWED_UPDATES, max_connections=40)
            log.info("telegram: webhook at %s", url)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll(), name="telegram-poll")
            log.info("telegram: polling")

    async def stop(self) -> None:
        if self._poller:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        try:
            await self.bot.shutdown()
        except TelegramError:
            pass

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25,
                                                     allowed_updates=ALLOWED_UPDATES)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("telegram: the bot token was rejected; polling stopped")
                return
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            for update in updates:
                await self.accept(update.to_dict())
            if updates:
                # The next getUpdates confirms these to Telegram: only now, after storing
                # (each stored update went to the worker in `accept`).
                offset = updates[-1].update_id + 1

    async def accept(self, update: dict[str, Any]) -> str:
        """Store one update durably. Returns stored|duplicate|ignored (ValueError if invalid)."""
        item = parse_update(update)
        if item is None:
            return "ignored"
        stored = await asyncio.to_thread(self.store.add, item)
        self.store.added(stored, item.sender_id)
        return "stored" if stored else "duplicate"

    async def acknowledge(self, item: Incoming) -> None:
        """Stop the button's spinner (callback queries must be answered)."""
        callback_id = item.detail.get("callback_id")
        if callback_id and item.kind != "team":
            try:
                await self.bot.answer_callback_query(callback_id)
            except TelegramError as exc:
                log.info("answerCallbackQuery failed: %s", exc)

    def render(self, reply: dict[str, Any]) -> list[dict[str, Any]]:
        messages = split_reply(reply, self.limit, telegram_html)
        for m in messages:
            m["buttons"] = [{"title": b["title"][:64], "payload": self._callback_data(b["payload"]),
                             **({"row": b["row"]} if b.get("row") is not None else {})}
                            for b in m["buttons"]]
        return messages

    def _callback_data(self, payload: str) -> str:
        return payload if len(payload.encode()) <= 64 else self.store.short_payload(payload)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        if not callback_id:
            return
        try:
            await self.bot.answer_callback_query(callback_id, text=text[:200] or None, show_alert=alert)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    @staticmethod
    def _markup(body: dict[str, Any]) -> InlineKeyboardMarkup | None:
        if not body.get("buttons"):
            return None
        rows: list[list[InlineKeyboardButton]] = []
        last_row = None
        for b in body["buttons"]:  # buttons with the same "row" share a line (ratings 1-5)
            button = InlineKeyboardButton(b["title"], callback_data=b["payload"])
            if rows and b.get("row") is not None and b.get("row") == last_row:
                rows[-1].append(button)
            else:
                rows.append([button])
            last_row = b.get("row")
        return InlineKeyboardMarkup(rows)

    async def edit(self, chat_id: str, message_id: int, body: dict[str, Any]) -> None:
        """Replace a message's text and buttons (a team's card after a claim); a card that
        cannot be edited any more (deleted, too old) is logged, not retried."""
        await self.global_bucket.take()
        try:
            await self.bot.edit_message_text(text=body["text"], chat_id=int(chat_id),
                                             message_id=int(message_id), parse_mode="HTML",
                                             reply_markup=self._markup(body),
                                             disable_web_page_preview=True)
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            await self.edit(chat_id, message_id, body)
        except TelegramError as exc:
            log.info("editMessageText %s/%s failed: %s", chat_id, message_id, exc)

    async def send(self, chat_id: str, body: dict[str, Any]) -> int | None:
        """Send one rendered message; returns Telegram's message id."""
        markup = self._markup(body)
        bucket = self.chat_buckets.get(chat_id)
        if bucket is None:
            if str(chat_id).startswith("-"):  # a group (a team's): stricter per-minute limit
                bucket = TokenBucket(self.settings.telegram_group_per_minute / 60,
                                     self.settings.telegram_group_burst)
            else:
                bucket = TokenBucket(self.settings.telegram_chat_per_second,
                                     self.settings.telegram_chat_burst)
            self.chat_buckets[chat_id] = bucket
            if len(self.chat_buckets) > 50_000:
                self.chat_buckets = {chat_id: bucket}
        for attempt in range(5):
            await bucket.take()
            await self.global_bucket.take()
            try:
                sent = await self.bot.send_message(
                    chat_id=int(chat_id), text=body["text"], parse_mode="HTML", reply_markup=markup,
                    disable_web_page_preview=True,
                    reply_parameters=ReplyParameters(int(body["reply_to"]), allow_sending_without_reply=True)
                    if body.get("reply_to") else None)
                return sent.message_id
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                log.warning("telegram: 429, waiting %.1f s (attempt %d)", wait, attempt + 1)
                await asyncio.sleep(wait)
            except (Forbidden, BadRequest) as exc:
                raise SendError(f"telegram refused the message: {exc}") from exc
            except TelegramError as exc:  # network trouble: retry with backoff
                log.warning("telegram: send failed (%s), attempt %d", exc, attempt + 1)
                await asyncio.sleep(min(2 ** attempt, 10))
        raise SendError("telegram: gave up after 5 attempts")

    async def check(self) -> str:
        me = await self.bot.get_me()
        return f"@{me.username}"


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
