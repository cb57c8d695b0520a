"""Zalo Official Account: signed webhook in, OA message API out, rotating tokens.

Facts (../shared/domain/facts.md, section 6; third-party sources, to confirm against
developers.zalo.me before production):
- webhook events carry ``X-ZEvent-Signature: mac=<hex>`` with
  ``mac = sha256(app_id + raw_body + timestamp + oa_secret_key)`` (plain SHA-256, not HMAC),
  ``timestamp`` being the body's Unix-milliseconds field; events older than 5 minutes are
  rejected here (replay protection);
- replies: ``POST {api}/v3.0/oa/message/cs`` with header ``access_token``;
- tokens: ``POST {oauth}/v4/oa/access_token`` (form app_id, grant_type=refresh_token,
  refresh_token; header secret_key) returns a new access token (about 25 h) and a NEW refresh
  token (single use): both are stored at once in ``channel_tokens``.
Buttons are sent as a template with ``oa.query.hide`` buttons, whose payload comes back as a
``user_send_text`` event (kept under 64 bytes with the same short keys as Telegram).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.render import ZALO_LIMIT, split_reply
from bot.store import GatewayStore, Incoming
from bot.telegram import SendError
from core.settings import Settings

log = logging.getLogger(__name__)

UNSUPPORTED_EVENTS = {"user_send_image", "user_send_file", "user_send_sticker", "user_send_gif",
                      "user_send_audio", "user_send_video", "user_send_location",
                      "user_send_business_card", "user_send_link"}
IGNORED_EVENTS = {"follow", "unfollow", "oa_send_text", "oa_send_image", "oa_send_list",
                  "oa_send_file", "oa_send_sticker", "oa_send_gif", "user_received_message",
                  "user_seen_message", "user_reacted_message", "oa_reacted_message"}
# Button payloads handled by the gateway (they come back as plain text on Zalo).
GATEWAY_PAYLOAD = re.compile(r"^#(k|consent|erase|rate|reopen|callback|nocallback|close|focus):")
TOKEN_ERRORS = {-216, -124, -14014}  # invalid or expired access token (third-party lists)


class SignatureError(ValueError):
    pass


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    data = app_id.encode() + raw_body + str(timestamp).encode() + oa_secret_key.encode()
    return hashlib.sha256(data).hexdigest()


def verify(settings: Settings, raw_body: bytes, header: str | None,
           now: float | None = None) -> dict[str, Any]:
    """The event, when its signature and age are right; SignatureError otherwise
    (ValueError subclasses: json errors are reported separately by the caller)."""
    if not header:
        raise SignatureError("missing X-ZEvent-Signature")
    event = json.loads(raw_body)
    if not isinstance(event, dict):
        raise ValueError("event is not a JSON object")
    timestamp = str(event.get("timestamp", ""))
    expected = signature(settings.zalo_app_id, raw_body, timestamp, settings.zalo_oa_secret_key)
    given = header.strip().removeprefix("mac=").strip().lower()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError("signature mismatch")
    try:
        sent = int(timestamp) / 1000
    except ValueError:
        raise SignatureError("timestamp is not Unix milliseconds") from None
    age = (now if now is not None else time.time()) - sent
    if age > settings.zalo_event_max_age_seconds or age < -60:
        raise SignatureError(f"event too old ({age:.0f} s)")
    return event


def parse_event(event: dict[str, Any]) -> Incoming | None:
    """A verified event -> Incoming; None for events with nothing to answer."""
    name = str(event.get("event_name", ""))
    sender = str((event.get("sender") or {}).get("id", ""))
    message = event.get("message") or {}
    delivery = str(message.get("msg_id") or f"{name}:{sender}:{event.get('timestamp', '')}")
    if not sender or name in IGNORED_EVENTS:
        return None
    if name == "user_send_text":
        text = str(message.get("text") or "")
        kind = "payload" if GATEWAY_PAYLOAD.match(text) or (text.startswith("/") and "{" in text) \
            else "text"
        if text.split()[:1] and text.split()[0].lower() in ("/start", "/help", "/tiep", "/xoadulieu"):
            kind = "command"
        return Incoming("zalo", delivery, f"zalo:{sender}", sender, kind, text)
    if name in UNSUPPORTED_EVENTS:
        return Incoming("zalo", delivery, f"zalo:{sender}", sender, "unsupported", "", {"what": name})
    return None


class ZaloChannel:
    name = "zalo"
    limit = ZALO_LIMIT

    def __init__(self, settings: Settings, store: GatewayStore, http: httpx.AsyncClient | None = None):
        self.settings, self.store = settings, store
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10, connect=5))
        self._refresh_lock = asyncio.Lock()

    async def start(self) -> None:
        stored = await asyncio.to_thread(self.store.token, "zalo")
        if stored is None and self.settings.zalo_access_token:
            # First run: the configured token; its lifetime is unknown, so refresh early.
            await asyncio.to_thread(self.store.save_token, "zalo", self.settings.zalo_access_token,
                                    self.settings.zalo_refresh_token,
                                    datetime.now(UTC) + timedelta(hours=1))
        elif stored is None and self.settings.zalo_refresh_token:
            await asyncio.to_thread(self.store.save_token, "zalo", "", self.settings.zalo_refresh_token,
                                    datetime.now(UTC))

    async def stop(self) -> None:
        await self.http.aclose()

    async def accept_event(self, event: dict[str, Any]) -> str:
        item = parse_event(event)
        if item is None:
            return "ignored"
        stored = await asyncio.to_thread(self.store.add, item)
        self.store.added(stored, item.sender_id)
        return "stored" if stored else "duplicate"

    async def acknowledge(self, item: Incoming) -> None:
        return None

    # --- tokens ------------------------------------------------------------------------------

    async def access_token(self, force_refresh: bool = False) -> str:
        stored = await asyncio.to_thread(self.store.token, "zalo")
        if stored is None:
            raise SendError("zalo: no access token configured (GOVBOT_ZALO_ACCESS_TOKEN)")
        access, refresh, expires = stored
        margin = timedelta(seconds=self.settings.zalo_refresh_margin_seconds)
        if access and not force_refresh and expires - margin > datetime.now(UTC):
            return access
        async with self._refresh_lock:
            again = await asyncio.to_thread(self.store.token, "zalo")
            if again and again[0] != access and again[2] - margin > datetime.now(UTC):
                return again[0]  # another task refreshed meanwhile
            return await self._refresh(refresh or (again[1] if again else ""))

    async def _refresh(self, refresh_token: str) -> str:
        if not refresh_token:
            raise SendError("zalo: the access token expired and there is no refresh token")
        try:
            response = await self.http.post(
                f"{self.settings.zalo_oauth_url.rstrip('/')}/v4/oa/access_token",
                data={"app_id": self.settings.zalo_app_id, "grant_type": "refresh_token",
                      "refresh_token": refresh_token},
                headers={"secret_key": self.settings.zalo_app_secret})
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SendError(f"zalo: token refresh failed: {exc}") from exc
        if not data.get("access_token"):
            raise SendError(f"zalo: token refresh refused: {str(data)[:300]}")
        expires = datetime.now(UTC) + timedelta(seconds=int(data.get("expires_in", 90000)))
        # The refresh token is single use: store the new one before anything else.
        await asyncio.to_thread(self.store.save_token, "zalo", data["access_token"],
                                data.get("refresh_token") or refresh_token, expires)
        log.info("zalo: access token refreshed, valid until %s", expires.isoformat(timespec="minutes"))
        return data["access_token"]

    async def keep_fresh(self, every_seconds: float = 600) -> None:
        """Background task: refresh before expiry even when nobody writes."""
        while True:
            try:
                await self.access_token()
            except SendError as exc:
                log.error("%s", exc)
            await asyncio.sleep(every_seconds)

    # --- sending -----------------------------------------------------------------------------

    def render(self, reply: dict[str, Any]) -> list[dict[str, Any]]:
        messages = split_reply(reply, self.limit)
        for m in messages:
            m["buttons"] = [{"title": b["title"][:100], "payload": self._short(b["payload"])}
                            for b in m["buttons"][:5]]
        return messages

    def _short(self, payload: str) -> str:
        return payload if len(payload.encode()) <= 64 else self.store.short_payload(payload)

    @staticmethod
    def message_body(user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"text": body["text"]}
        if body.get("buttons"):
            message["attachment"] = {"type": "template", "payload": {"buttons": [
                {"title": b["title"], "type": "oa.query.hide", "payload": b["payload"]}
                for b in body["buttons"]]}}
        return {"recipient": {"user_id": user_id}, "message": message}

    async def send(self, chat_id: str, body: dict[str, Any]) -> None:
        url = f"{self.settings.zalo_api_url.rstrip('/')}/v3.0/oa/message/cs"
        force = False
        for attempt in range(3):
            token = await self.access_token(force_refresh=force)
            try:
                response = await self.http.post(url, json=self.message_body(chat_id, body),
                                                headers={"access_token": token})
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("zalo: send failed (%s), attempt %d", exc, attempt + 1)
                await asyncio.sleep(min(2 ** attempt, 5))
                continue
            code = int(data.get("error", -1))
            if code == 0:
                return
            if code in TOKEN_ERRORS and not force:
                force = True
                continue
            # e.g. -213/-201 (no interaction in 48 h / not following), -230 (7 days)
            raise SendError(f"zalo error {code}: {data.get('message', '')}")
        raise SendError("zalo: gave up after 3 attempts")

    async def check(self) -> str:
        await self.access_token()
        return "token ok"
