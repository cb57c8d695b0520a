"""The gateway end to end: a real gateway process, real Rasa and action servers, and fake
Telegram / Zalo API servers on loopback, driven through the real python-telegram-bot client
and the gateway's own Zalo client."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import ChannelToken, DataRequest, InboundUpdate, OutboundMessage
from govbot.processes import start_gateway, start_rasa
from tests.e2e.conftest import free_port, gateway_env
from tests.fakes.zalo_api import FakeZalo

pytestmark = pytest.mark.slow


def chat_id() -> int:
    return int(uuid.uuid4().int % 10**9) + 10**9


def unescaped(messages: list[dict]) -> str:
    return "\n".join(html.unescape(m["text"]) for m in messages)


def test_telegram_start_question_buttons_and_guide(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = chat_id()
    telegram.push(telegram.make_update(chat, "/start"))
    start = telegram.wait_text(chat, "Bạn có đồng ý")
    assert "trợ lý tự động" in unescaped(start) and "🔒" in unescaped(start)
    consent = [b["callback_data"] for b in telegram.buttons(start[-1])]
    assert consent == ["#consent:yes", "#consent:no"]
    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, callback_data="#consent:yes"))
    telegram.wait_text(chat, "Cảm ơn bạn", after=seen)

    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, "lam sao kich hoat vneid"))
    answer = telegram.wait_text(chat, "Kích hoạt tài khoản", after=seen)
    assert answer[-1]["parse_mode"] == "HTML"
    buttons = {b["text"]: b["callback_data"] for m in answer for b in telegram.buttons(m)}
    assert "Hướng dẫn từng bước" in buttons and all(len(v.encode()) <= 64 for v in buttons.values())
    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, callback_data=buttons["Hướng dẫn từng bước"]))
    telegram.wait_text(chat, "Bước 1/4", after=seen)
    assert telegram.callback_answers  # the buttons' spinners were stopped

    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, "/tiep"))
    telegram.wait_text(chat, "Bước 1/4", after=seen)


def test_duplicate_update_gets_one_reply(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = chat_id()
    update = telegram.make_update(chat, "cảm ơn bạn nhiều")
    telegram.push(update)
    telegram.push(json.loads(json.dumps(update)))  # the same delivery again
    first = telegram.wait_for(chat, 1)
    time.sleep(3)
    settings = gateway["settings"]
    with session_scope(settings.database_url) as s:
        rows = s.scalars(select(InboundUpdate).where(InboundUpdate.sender_id == f"tg:{chat}")).all()
        assert len(rows) == 1
        outs = s.scalar(select(func.count()).select_from(OutboundMessage)
                        .where(OutboundMessage.update_id == rows[0].id))
    assert len(telegram.messages_to(chat)) == outs >= len(first)


def test_telegram_429_is_waited_out_and_retried(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = chat_id()
    calls = telegram.calls.get("sendMessage", 0)
    telegram.fail_429 = 1  # Telegram says "retry after 1"
    start = time.monotonic()
    telegram.push(telegram.make_update(chat, "cảm ơn nhé"))
    replies = telegram.wait_for(chat, 1)
    assert time.monotonic() - start >= 1.0  # it waited retry_after
    assert telegram.calls["sendMessage"] >= calls + len(replies) + 1


def test_photo_unknown_command_and_erasure(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = chat_id()
    telegram.push(telegram.make_update(chat, photo=True))
    telegram.wait_text(chat, "hình ảnh")
    telegram.push(telegram.make_update(chat, "/lenhla"))
    telegram.wait_text(chat, "/xoadulieu", after=1)
    telegram.push(telegram.make_update(chat, "số căn cước của tôi 001203004567, đổi ở đâu"))
    telegram.wait_for(chat, 3)
    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, "/xoadulieu"))
    confirm = telegram.wait_text(chat, "Bạn muốn xoá", after=seen)[-1]
    assert [b["callback_data"] for b in telegram.buttons(confirm)] == ["#erase:yes", "#erase:no"]
    telegram.push(telegram.make_update(chat, callback_data="#erase:yes"))
    telegram.wait_text(chat, "Đã xoá", after=seen + 1)
    with session_scope(gateway["settings"].database_url) as s:
        request = s.scalars(select(DataRequest).order_by(DataRequest.id.desc())).first()
        assert request.kind == "erasure" and request.detail["conversation_turns"] >= 1
        stored = " ".join(r.text for r in s.scalars(select(InboundUpdate)).all())
    assert "001203004567" not in stored
    # Rasa's copy of the conversation is gone too (a /restart would have kept the texts)
    tracker = httpx.get(f"{gateway['rasa_url']}/conversations/tg:{chat}/tracker",
                        params={"include_events": "ALL",
                                "token": gateway["settings"].rasa_api_token()}, timeout=10).json()
    assert "001203004567" not in json.dumps(tracker, ensure_ascii=False)
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    # ... and the citizen can go on as a new conversation
    seen = len(telegram.messages_to(chat))
    telegram.push(telegram.make_update(chat, "phí cấp lại căn cước bao nhiêu"))
    telegram.wait_for(chat, seen + 1)
    time.sleep(2)  # the whole reply (it may be several messages)
    answer = " ".join(html.unescape(m["text"]) for m in telegram.messages_to(chat)[seen:]).lower()
    assert "căn cước" in answer and "gặp lỗi" not in answer and "sự cố" not in answer


def test_zalo_signed_events_replies_buttons_and_errors(gateway, fakes) -> None:
    zalo = fakes[2]
    webhook = f"{gateway['url']}/webhooks/zalo"
    user = f"z{uuid.uuid4().hex[:10]}"
    event = zalo.event(user, "phi cap lai can cuoc bao nhieu")
    assert FakeZalo.post_event(webhook, event).status_code == 200
    assert FakeZalo.post_event(webhook, event).json()["result"] == "duplicate"
    zalo.wait_for(user, 1)
    time.sleep(2)  # the whole reply (it may be several messages)
    answer = zalo.messages_to(user)
    assert "căn cước" in " ".join(m["message"]["text"] for m in answer).lower()
    body = next(m["message"] for m in answer if "attachment" in m["message"])
    buttons = body["attachment"]["payload"]["buttons"]
    assert buttons and all(b["type"] == "oa.query.hide" for b in buttons)
    time.sleep(1.5)
    assert len(zalo.messages_to(user)) == len(answer)  # the duplicate was not answered
    # A button press comes back as a text event carrying the payload.
    guide = next(b for b in buttons if b["title"] == "Hướng dẫn từng bước")
    FakeZalo.post_event(webhook, zalo.event(user, guide["payload"]))
    zalo.wait_text(user, "Bước 1/", after=len(answer))
    # Images are not understood yet: a polite reply.
    count = len(zalo.messages_to(user))
    FakeZalo.post_event(webhook, zalo.event(user, name="user_send_image"))
    zalo.wait_text(user, "hình ảnh", after=count)


def test_zalo_rejects_bad_signatures_old_events_and_malformed_bodies(gateway, fakes) -> None:
    zalo = fakes[2]
    webhook = f"{gateway['url']}/webhooks/zalo"
    user = f"z{uuid.uuid4().hex[:10]}"
    event = zalo.event(user, "xin chào")
    assert FakeZalo.post_event(webhook, event, signature="mac=" + "a" * 64).status_code == 401
    assert httpx.post(webhook, json=event, timeout=5).status_code == 401  # no signature
    old = zalo.event(user, "xin chào", age_seconds=600)
    assert FakeZalo.post_event(webhook, old).status_code == 401
    assert FakeZalo.post_event(webhook, {}, raw=b"{not json").status_code == 400
    unknown = zalo.event(user, "x", name="user_did_something_new")
    assert FakeZalo.post_event(webhook, unknown).json()["result"] == "ignored"
    time.sleep(1)
    with session_scope(gateway["settings"].database_url) as s:
        assert s.scalar(select(func.count()).select_from(InboundUpdate)
                        .where(InboundUpdate.sender_id == f"zalo:{user}")) == 0
    assert zalo.messages_to(user) == []


def test_zalo_token_refresh_rotates_and_send_errors_are_visible(gateway, fakes) -> None:
    zalo = fakes[2]
    webhook = f"{gateway['url']}/webhooks/zalo"
    zalo.access["access-0"] = 0  # the first token has expired
    user = f"z{uuid.uuid4().hex[:10]}"
    FakeZalo.post_event(webhook, zalo.event(user, "cam on ban"))
    zalo.wait_for(user, 1)
    assert zalo.refreshes >= 1
    with session_scope(gateway["settings"].database_url) as s:
        token = s.get(ChannelToken, "zalo")
        assert token.refresh_token == zalo.refresh  # the rotated refresh token was stored
    blocked = f"z{uuid.uuid4().hex[:10]}"
    zalo.outside_window.add(blocked)
    FakeZalo.post_event(webhook, zalo.event(blocked, "cam on ban"))
    deadline = time.monotonic() + 20
    out = subprocess.run
    while time.monotonic() < deadline:
        listed = out([".venv/bin/govbot", "gateway", "failures", "--json"], capture_output=True, text=True,
                     env={**os.environ, **gateway["env"]}, check=True)
        if "-213" in listed.stdout:
            break
        time.sleep(0.5)
    assert "zalo error -213" in listed.stdout


def test_rate_limit_and_long_text(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = chat_id()
    telegram.push(telegram.make_update(chat, "chữ " * 1500))  # 6,000 characters
    telegram.wait_text(chat, "2.000 ký tự đầu")
    for i in range(25):
        telegram.push(telegram.make_update(chat, f"xin chao {i}"))
    deadline = time.monotonic() + 90  # replies leave at Telegram's ~1 message/s per chat
    while "gửi hơi nhanh" not in unescaped(telegram.messages_to(chat)) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(4)
    texts = unescaped(telegram.messages_to(chat))
    assert texts.count("gửi hơi nhanh") == 1  # told once, the rest dropped quietly


def test_gateway_killed_with_updates_in_flight_answers_each_once(gateway, fakes) -> None:
    telegram = fakes[0]
    settings = gateway["settings"]
    process = gateway["process"]
    chats = [chat_id() for _ in range(12)]
    updates = [telegram.push(telegram.make_update(c, "cảm ơn")) for c in chats]
    ids = {str(u["update_id"]) for u in updates}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # kill as soon as the updates are stored
        with session_scope(settings.database_url) as s:
            stored = s.scalar(select(func.count()).select_from(InboundUpdate)
                              .where(InboundUpdate.delivery_id.in_(ids)))
        if stored >= 6:
            break
        time.sleep(0.01)
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait()
    restarted = start_gateway(gateway["port"], rasa_url=gateway["rasa_url"], env=gateway["env"],
                              log_dir=gateway["logs"])
    gateway["process"] = restarted
    for c in chats:
        telegram.wait_for(c, 1, timeout=40)
    time.sleep(3)
    with session_scope(settings.database_url) as s:
        rows = s.scalars(select(InboundUpdate).where(InboundUpdate.delivery_id.in_(ids))).all()
        assert len(rows) == 12 and {r.status for r in rows} == {"done"}
        for row in rows:
            outs = s.scalar(select(func.count()).select_from(OutboundMessage)
                            .where(OutboundMessage.update_id == row.id))
            assert len(telegram.messages_to(int(row.chat_id))) == outs  # each answered once


def test_rasa_slow_then_down_gives_degraded_answers(stack, fakes, tmp_path_factory) -> None:
    _, action_url, settings = stack
    telegram, tg_url, _, zalo_url = fakes
    logs = tmp_path_factory.mktemp("degraded")
    rasa = start_rasa(free_port(), action_url=action_url, env={
        "GOVBOT_DATA_DIR": str(settings.data_dir), "GOVBOT_DATABASE_URL": settings.database_url},
        log_dir=logs)
    gw = start_gateway(free_port(), rasa_url=rasa.url, log_dir=logs,
                       env=gateway_env(settings, tg_url, zalo_url, GOVBOT_TELEGRAM_BOT_TOKEN="",
                                       GOVBOT_ZALO_APP_ID=""))
    try:
        chat = f"u{uuid.uuid4().hex[:8]}"

        def ask(text: str) -> tuple[str, float]:
            start = time.monotonic()
            r = httpx.post(f"{gw.url}/api/chat", json={"user_id": chat, "text": text}, timeout=30)
            return "\n".join(m["text"] for m in r.json()["messages"]), time.monotonic() - start

        # Ready: the knowledge base (for degraded answers) has loaded; Rasa's API answers the
        # gateway (the token it was started with reached the gateway)
        health = httpx.get(f"{gw.url}/healthz", timeout=60).json()
        assert health["ok"] is True and health["rasa"] == "ok", health
        assert health["query_encoder"] == "onnx"
        normal, _ = ask("lam sao kich hoat vneid")
        assert "Kích hoạt tài khoản" in normal and "hệ thống đang chậm" not in normal
        os.killpg(rasa.popen.pid, signal.SIGSTOP)  # Rasa hangs: slower than 5 s
        slow, seconds = ask("quen mat khau vneid")
        assert "hệ thống đang chậm" in slow and "mật khẩu" in slow.lower() and seconds < 6.5
        os.killpg(rasa.popen.pid, signal.SIGCONT)
        rasa.stop()  # Rasa is down: connection refused
        down, seconds = ask("doi can cuoc o dau")
        assert "hệ thống đang chậm" in down and seconds < 6
        nothing, _ = ask("asdkjh qwe")
        assert "1900 0368" in nothing  # no KB answer: apology and a way to reach a person
    finally:
        gw.stop()
        rasa.stop()
