"""A fake Telegram Bot API server, enough for python-telegram-bot's Bot to run against it.

It keeps updates until a getUpdates with a higher offset confirms them (as Telegram does),
records every sendMessage with its arrival time, can answer 429 with retry_after, and in
webhook mode delivers updates to the registered URL with the secret token header.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Trợ lý DVC", "username": "dvc_test_bot"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "link_preview_options",
               "reply_parameters"}


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token"):
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1000
        self.sent: list[dict[str, Any]] = []
        self._by_chat: dict[str, list[dict[str, Any]]] = {}  # O(1) lookups for the benchmark
        self.callback_answers: list[str] = []
        self.callback_texts: dict[str, str] = {}
        self.blocked: set[str] = set()  # chats that never started the bot: 403 Forbidden
        self.webhook: dict[str, Any] = {}
        self.commands: list[Any] = []
        self.fail_429 = 0  # answer this many sendMessage calls with 429
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._message_id = 1
        self.app = self._build()

    # --- test helpers --------------------------------------------------------------------------

    def base_url(self, server_url: str) -> str:
        return f"{server_url}/bot"

    def make_update(self, chat_id: int, text: str | None = None, *, callback_data: str | None = None,
                    update_id: int | None = None, photo: bool = False, from_id: int | None = None,
                    from_name: str = "Dân", message_id: int = 1) -> dict[str, Any]:
        """A private message or button press; with `from_id` different from a negative
        `chat_id`, a press in a group chat (a team's card is message `message_id`)."""
        with self._lock:
            if update_id is None:
                update_id = self.next_update_id
                self.next_update_id += 1
        user = {"id": from_id or chat_id, "is_bot": False, "first_name": from_name}
        chat = ({"id": chat_id, "type": "private", "first_name": from_name} if chat_id > 0
                else {"id": chat_id, "type": "supergroup", "title": "Tổ công nghệ số"})
        if callback_data is not None:
            return {"update_id": update_id, "callback_query": {
                "id": f"cb{update_id}", "from": user, "chat_instance": "1", "data": callback_data,
                "message": {"message_id": message_id, "date": int(time.time()), "chat": chat,
                            "text": "…"}}}
        message: dict[str, Any] = {"message_id": update_id, "date": int(time.time()), "chat": chat,
                                   "from": user}
        if photo:
            message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        else:
            message["text"] = text or ""
            if text and text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(text.split()[0])}]
        return {"update_id": update_id, "message": message}

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (polling mode)."""
        with self._lock:
            self.updates.append(update)
        return update

    def deliver(self, update: dict[str, Any], secret: str | None = None) -> httpx.Response:
        """POST an update to the registered webhook, as Telegram does."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret if secret is not None
                   else self.webhook.get("secret_token", "")}
        return httpx.post(self.webhook["url"], json=update, headers=headers, timeout=10)

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_chat.get(str(chat_id), ()))

    def wait_for(self, chat_id: int, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages_to(chat_id)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"chat {chat_id}: {len(self.messages_to(chat_id))} messages, wanted {count}: "
                             f"{[m['text'][:60] for m in self.messages_to(chat_id)]}")

    def wait_text(self, chat_id: int, needle: str, after: int = 0, timeout: float = 30) -> list[dict[str, Any]]:
        """Messages to the chat from index `after` on, once one of them contains `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages_to(chat_id)[after:]
            if any(needle in html.unescape(m["text"]) for m in got):
                time.sleep(0.3)  # let the rest of the same reply arrive
                return self.messages_to(chat_id)[after:]
            time.sleep(0.05)
        raise AssertionError(f"chat {chat_id}: no message with {needle!r} after #{after}: "
                             f"{[html.unescape(m['text'])[:80] for m in self.messages_to(chat_id)]}")

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[dict[str, str]]:
        markup = message.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    # --- the API -------------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()
        fake = self

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def method(token: str, method: str, request: Request):
            if token != fake.token:
                return JSONResponse(status_code=401, content={"ok": False, "error_code": 401,
                                                              "description": "Unauthorized"})
            params = dict(request.query_params)
            if request.method == "POST":  # python-telegram-bot posts url-encoded forms
                params.update(parse_qsl((await request.body()).decode()))
            for key in list(params):
                if key in JSON_FIELDS and isinstance(params[key], str):
                    try:
                        params[key] = json.loads(params[key])
                    except ValueError:
                        pass
            fake.calls[method] = fake.calls.get(method, 0) + 1
            handler = getattr(fake, f"_m_{method}", None)
            if handler is None:
                return JSONResponse(status_code=404, content={"ok": False, "error_code": 404,
                                                              "description": "Not Found: method not found"})
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            if isinstance(result, JSONResponse):
                return result
            return {"ok": True, "result": result}

        return app

    def _m_getMe(self, p):
        return BOT_USER

    def _m_setMyCommands(self, p):
        self.commands = p.get("commands", [])
        return True

    def _m_deleteWebhook(self, p):
        self.webhook = {}
        return True

    def _m_setWebhook(self, p):
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token", "")}
        return True

    def _m_getWebhookInfo(self, p):
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": 0}

    def _m_answerCallbackQuery(self, p):
        with self._lock:
            self.callback_answers.append(p.get("callback_query_id", ""))
            self.callback_texts[p.get("callback_query_id", "")] = p.get("text", "")
        return True

    def _m_editMessageText(self, p):
        with self._lock:
            for record in self._by_chat.get(str(p["chat_id"]), ()):
                if record["message_id"] == int(p["message_id"]):
                    record["edits"].append({"text": p.get("text", ""),
                                            "reply_markup": p.get("reply_markup")})
                    record["text"], record["reply_markup"] = p.get("text", ""), p.get("reply_markup")
                    return {"message_id": record["message_id"], "date": int(time.time()),
                            "text": record["text"], "chat": {"id": int(p["chat_id"]),
                                                             "type": "supergroup"}}
        return JSONResponse(status_code=400, content={
            "ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"})

    async def _m_getUpdates(self, p):
        offset = int(p.get("offset") or 0)
        timeout = min(float(p.get("timeout") or 0), 2.0)  # short long-polls keep tests quick
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                batch = [u for u in self.updates if u["update_id"] >= offset][:100]
            if batch or time.monotonic() >= deadline:
                return batch
            await asyncio.sleep(0.02)

    def _m_sendMessage(self, p):
        with self._lock:
            if str(p["chat_id"]) in self.blocked:
                return JSONResponse(status_code=403, content={
                    "ok": False, "error_code": 403,
                    "description": "Forbidden: bot can't initiate conversation with a user"})
            if self.fail_429 > 0:
                self.fail_429 -= 1
                return JSONResponse(status_code=429, content={
                    "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1}})
            mid = self._message_id
            self._message_id += 1
            record = {"chat_id": str(p["chat_id"]), "text": p.get("text", ""),
                      "parse_mode": p.get("parse_mode"), "reply_markup": p.get("reply_markup"),
                      "at": time.monotonic(), "message_id": mid, "edits": [],
                      "reply_to": (p.get("reply_parameters") or {}).get("message_id")}
            self.sent.append(record)
            self._by_chat.setdefault(record["chat_id"], []).append(record)
        chat_type = "private" if int(p["chat_id"]) > 0 else "supergroup"
        return {"message_id": mid, "date": int(time.time()), "text": record["text"],
                "chat": {"id": int(p["chat_id"]), "type": chat_type}, "from": BOT_USER}
