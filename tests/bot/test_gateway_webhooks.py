"""Webhook endpoints of an in-process gateway (no Rasa): Telegram webhook mode against the fake
Bot API server, secret checks, malformed bodies, and the degraded answer with Rasa absent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.gateway import create_app
from core.db import session_scope
from core.models import InboundUpdate
from core.settings import Settings
from tests.fakes.server import BackgroundServer, free_port
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "42:WEBHOOK-test"


@pytest.fixture
def telegram_webhook(tmp_path, db_url):
    fake = FakeTelegram(TOKEN)
    with BackgroundServer(fake.app) as server:
        settings = Settings(data_dir=tmp_path / "var", database_url=db_url, telegram_bot_token=TOKEN,
                            telegram_api_url=f"{server.url}/bot", public_url="https://bot.example.vn",
                            rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout_seconds=1)
        with TestClient(create_app(settings)) as client:
            yield fake, client, settings


def stored(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(InboundUpdate))


def test_webhook_is_registered_with_a_secret_and_checked(telegram_webhook) -> None:
    fake, client, settings = telegram_webhook
    assert fake.webhook["url"] == "https://bot.example.vn/webhooks/telegram"
    secret = fake.webhook["secret_token"]
    assert 1 <= len(secret) <= 256 and secret.replace("_", "").replace("-", "").isalnum()
    update = fake.make_update(5001, "xin chào")
    assert client.post("/webhooks/telegram", json=update).status_code == 401
    assert client.post("/webhooks/telegram", json=update,
                       headers={"X-Telegram-Bot-Api-Secret-Token": secret + "x"}).status_code == 401
    assert stored(settings.database_url) == 0
    ok = {"X-Telegram-Bot-Api-Secret-Token": secret}
    assert client.post("/webhooks/telegram", content=b"{nope", headers=ok).status_code == 400
    assert client.post("/webhooks/telegram", json={"no": "update_id"}, headers=ok).status_code == 400
    assert client.post("/webhooks/telegram", json={"update_id": 9, "channel_post": {}},
                       headers=ok).json()["result"] == "ignored"
    assert client.post("/webhooks/telegram", json=update, headers=ok).json()["result"] == "stored"
    assert client.post("/webhooks/telegram", json=update, headers=ok).json()["result"] == "duplicate"
    assert stored(settings.database_url) == 1
    # Rasa is not running: the citizen still gets an answer (apology, no KB index here either).
    reply = fake.wait_for(5001, 1, timeout=20)[0]
    assert "1900 0368" in reply["text"]


def test_zalo_webhook_is_off_without_configuration(telegram_webhook) -> None:
    _, client, _ = telegram_webhook
    assert client.post("/webhooks/zalo", json={}).status_code == 404
    assert client.post("/api/chat", content=b"[1, 2]").status_code == 400
