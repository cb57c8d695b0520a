"""A fake Zalo OA API server (message/cs and the v4 token endpoint) and a signed-event sender.

Access tokens expire (``token_lifetime`` seconds); refresh tokens are single use and rotate,
as third-party docs describe Zalo's; a user in ``outside_window`` gets error -213.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request

APP_ID = "1234567890"
APP_SECRET = "app-secret-test"
OA_SECRET = "oa-secret-test"


def sign(raw: bytes, timestamp: str, app_id: str = APP_ID, oa_secret: str = OA_SECRET) -> str:
    return "mac=" + hashlib.sha256(app_id.encode() + raw + timestamp.encode() + oa_secret.encode()).hexdigest()


class FakeZalo:
    def __init__(self, token_lifetime: int = 90000):
        self.token_lifetime = token_lifetime
        self.access = {"access-0": time.time() + token_lifetime}
        self.refresh = "refresh-0"
        self.refreshes = 0
        self.sent: list[dict[str, Any]] = []
        self.outside_window: set[str] = set()
        self._lock = threading.Lock()
        self.app = self._build()

    def event(self, user_id: str, text: str | None = None, *, name: str = "user_send_text",
              msg_id: str | None = None, age_seconds: float = 0) -> dict[str, Any]:
        message: dict[str, Any] = {"msg_id": msg_id or uuid.uuid4().hex}
        if text is not None:
            message["text"] = text
        if name != "user_send_text":
            message["attachments"] = [{"type": "image", "payload": {"url": "https://example.invalid/x.jpg"}}]
        return {"app_id": APP_ID, "sender": {"id": user_id}, "recipient": {"id": "oa-1"},
                "event_name": name, "message": message,
                "timestamp": str(int((time.time() - age_seconds) * 1000))}

    @staticmethod
    def post_event(webhook_url: str, event: dict[str, Any], *, signature: str | None = None,
                   raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
        mac = signature if signature is not None else sign(body, str(event.get("timestamp", "")))
        return httpx.post(webhook_url, content=body, timeout=10,
                          headers={"Content-Type": "application/json", "X-ZEvent-Signature": mac})

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.sent if m["recipient"]["user_id"] == user_id]

    def wait_for(self, user_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages_to(user_id)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"zalo user {user_id}: {len(self.messages_to(user_id))} messages, wanted {count}")

    def wait_text(self, user_id: str, needle: str, after: int = 0, timeout: float = 30) -> list[dict[str, Any]]:
        """Messages to the user from index `after` on, once one of them contains `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in m["message"]["text"] for m in self.messages_to(user_id)[after:]):
                time.sleep(0.3)  # let the rest of the same reply arrive
                return self.messages_to(user_id)[after:]
            time.sleep(0.05)
        raise AssertionError(f"zalo user {user_id}: no message with {needle!r} after #{after}: "
                             f"{[m['message']['text'][:80] for m in self.messages_to(user_id)]}")

    def _build(self) -> FastAPI:
        app = FastAPI()
        fake = self

        @app.post("/v3.0/oa/message/cs")
        async def send(request: Request):
            token = request.headers.get("access_token", "")
            if fake.access.get(token, 0) < time.time():
                return {"error": -216, "message": "Access token is invalid"}
            body = await request.json()
            user = body["recipient"]["user_id"]
            if user in fake.outside_window:
                return {"error": -213, "message": "User has not interacted with the OA in the last 48 hours"}
            with fake._lock:
                fake.sent.append({**body, "at": time.monotonic()})
            return {"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex}}

        @app.post("/v4/oa/access_token")
        async def token(request: Request):
            form = dict(parse_qsl((await request.body()).decode()))
            if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
                return {"error": -14002, "message": "invalid app"}
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != fake.refresh:
                return {"error": -14014, "message": "invalid refresh token"}
            with fake._lock:
                fake.refreshes += 1
                access = f"access-{fake.refreshes}"
                fake.refresh = f"refresh-{fake.refreshes}"
                fake.access[access] = time.time() + fake.token_lifetime
            return {"access_token": access, "refresh_token": fake.refresh,
                    "expires_in": str(fake.token_lifetime)}

        return app
