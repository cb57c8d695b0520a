"""Gateway building blocks without Rasa: rendering, limits, signatures, update parsing, store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import pytest

from bot.ratelimit import MemoryRateLimiter, RedisRateLimiter, TokenBucket
from bot.render import split_reply, split_text, telegram_html
from bot.store import GatewayStore, Incoming
from bot.telegram import parse_update
from bot.zalo import SignatureError, parse_event, signature, verify
from core.settings import Settings


def test_split_text_keeps_every_character_and_cuts_at_boundaries() -> None:
    text = "\n\n".join(f"Đoạn {i}. " + "chữ " * 300 for i in range(6))
    parts = split_text(text, 2000)
    assert all(len(p) <= 2000 for p in parts) and len(parts) >= 4
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert split_text("x" * 5000, 2000) == ["x" * 2000, "x" * 2000, "x" * 1000]
    assert split_text("", 10) == []


def test_telegram_rendering_escapes_and_stays_under_the_limit() -> None:
    reply = {"text": "<b>Hi</b> & <script>" * 400, "buttons": [{"title": "Có", "payload": "/affirm"}]}
    parts = split_reply(reply, 4096, telegram_html)
    assert len(parts) >= 2 and all(len(p["text"]) <= 4096 for p in parts)
    assert "<b>" not in "".join(p["text"] for p in parts) and "&lt;b&gt;" in parts[0]["text"]
    assert parts[-1]["buttons"] and not parts[0]["buttons"]
    only_buttons = split_reply({"text": "", "buttons": [{"title": "A", "payload": "/a"}]}, 100)
    assert only_buttons[0]["text"] and only_buttons[0]["buttons"]


def test_memory_rate_limiter_notifies_once_then_drops_until_the_window_passes() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(3, clock=lambda: now[0])
    verdicts = [asyncio.run(limiter.check("tg:1")) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.notify for v in verdicts] == [False, False, False, True, False]
    assert asyncio.run(limiter.check("tg:2")).allowed  # per citizen
    now[0] = 61.0
    assert asyncio.run(limiter.check("tg:1")).allowed


@pytest.mark.postgres
def test_redis_rate_limiter_shares_the_window() -> None:
    url = "redis://127.0.0.1:6379/0"

    async def run() -> list:
        key = f"test-{time.time_ns()}"
        a, b = RedisRateLimiter(url, 3), RedisRateLimiter(url, 3)  # two gateway replicas
        out = [await a.check(key), await b.check(key), await a.check(key), await b.check(key),
               await a.check(key)]
        await a.close()
        await b.close()
        return out

    verdicts = asyncio.run(run())
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.notify for v in verdicts] == [False, False, False, True, False]


def test_token_bucket_spaces_sends() -> None:
    async def run() -> float:
        bucket = TokenBucket(rate=20, burst=2)
        start = time.monotonic()
        for _ in range(6):
            await bucket.take()
        return time.monotonic() - start

    assert 0.15 <= asyncio.run(run()) < 1.0  # 2 at once, then 4 at 20/s


def _zalo_settings(**kw) -> Settings:
    return Settings(zalo_app_id="app1", zalo_oa_secret_key="secret1", **kw)


def test_zalo_signature_is_sha256_of_app_body_timestamp_secret() -> None:
    s = _zalo_settings()
    ts = str(int(time.time() * 1000))
    raw = json.dumps({"event_name": "user_send_text", "timestamp": ts}).encode()
    expected = hashlib.sha256(b"app1" + raw + ts.encode() + b"secret1").hexdigest()
    assert signature("app1", raw, ts, "secret1") == expected
    assert verify(s, raw, f"mac={expected}")["timestamp"] == ts
    with pytest.raises(SignatureError):
        verify(s, raw, "mac=" + "0" * 64)
    with pytest.raises(SignatureError):
        verify(s, raw, None)
    old = str(int((time.time() - 301) * 1000))
    raw_old = json.dumps({"timestamp": old}).encode()
    with pytest.raises(SignatureError, match="too old"):
        verify(s, raw_old, "mac=" + signature("app1", raw_old, old, "secret1"))
    with pytest.raises(ValueError):
        verify(s, b"{not json", "mac=00")


def test_zalo_events_are_parsed_or_ignored() -> None:
    text = parse_event({"event_name": "user_send_text", "sender": {"id": "u1"},
                        "message": {"msg_id": "m1", "text": "lam sao kich hoat vneid"}, "timestamp": "1"})
    assert (text.sender_id, text.kind, text.delivery_id) == ("zalo:u1", "text", "m1")
    image = parse_event({"event_name": "user_send_image", "sender": {"id": "u1"},
                         "message": {"msg_id": "m2"}, "timestamp": "1"})
    assert image.kind == "unsupported"
    assert parse_event({"event_name": "follow", "sender": {"id": "u1"}, "timestamp": "1"}) is None
    assert parse_event({"event_name": "user_send_text", "sender": {"id": "u1"},
                        "message": {"msg_id": "m3", "text": "#k:abc"}}).kind == "payload"


def test_telegram_updates_are_parsed_or_ignored() -> None:
    chat = {"id": 42, "type": "private"}
    cmd = parse_update({"update_id": 1, "message": {"chat": chat, "text": "/start",
                                                    "entities": [{"type": "bot_command", "offset": 0}]}})
    assert (cmd.kind, cmd.sender_id, cmd.chat_id) == ("command", "tg:42", "42")
    assert parse_update({"update_id": 2, "message": {"chat": chat, "text": "/ hi"}}).kind == "text"
    cb = parse_update({"update_id": 3, "callback_query": {"id": "c", "data": "/affirm",
                                                          "message": {"chat": chat}}})
    assert (cb.kind, cb.text, cb.detail["callback_id"]) == ("payload", "/affirm", "c")
    assert parse_update({"update_id": 4, "message": {"chat": chat, "sticker": {}}}).kind == "unsupported"
    assert parse_update({"update_id": 5, "edited_message": {"chat": chat, "text": "x"}}) is None
    assert parse_update({"update_id": 6, "message": {"chat": {"id": -5, "type": "group"}, "text": "x"}}) is None
    with pytest.raises(ValueError):
        parse_update({"message": {}})


def test_store_dedupes_orders_recovers_and_erases(db_url: str) -> None:
    store = GatewayStore(db_url)
    first = store.add(Incoming("telegram", "100", "tg:1", "1", "text", "số cccd 012345678901"))
    assert first and store.add(Incoming("telegram", "100", "tg:1", "1", "text", "again")) is None
    second = store.add(Incoming("telegram", "101", "tg:1", "1", "text", "tiếp"))
    assert [i for i, _ in store.pending()] == [first, second]
    item = store.claim(first)
    assert item.text.startswith("số cccd") and store.claim(first) is None  # claimed once
    assert store.recover() == (1, [])  # crash: back to pending
    item = store.claim(first)
    store.save_replies(first, [{"text": "a", "buttons": []}, {"text": "b", "buttons": []}])
    assert store.recover() == (0, [first])  # answered but not sent: sent after a restart
    outs = store.unsent(first)
    assert [o.body["text"] for o in outs] == ["a", "b"]
    store.mark_sent(outs[0].id)
    store.mark_failed(outs[1].id, "zalo error -213: outside the window")
    store.complete(first)
    assert store.failures()[0]["error"].startswith("zalo error -213")
    assert store.counts()["inbound_done"] == 1
    long = "/ask_procedure" + json.dumps({"service": "EID01", "aspect": "documents", "x": "y" * 80})
    key = store.short_payload(long)
    assert key.startswith("#k:") and len(key) < 64 and store.resolve_payload(key) == long
    store.set_consent("tg:1", False)
    assert store.consent("tg:1") is False
    removed = store.erase("tg:1")
    assert removed["consents"] == 1 and store.consent("tg:1") is None
    with __import__("core.db", fromlist=["session_scope"]).session_scope(db_url) as s:
        from core.models import DataRequest, InboundUpdate

        texts = [r.text for r in s.query(InboundUpdate).all()]
        assert s.query(DataRequest).count() == 1
    assert "012345678901" not in " ".join(texts)


def test_purge_forgets_old_finished_deliveries_and_uncollected_web_messages(db_url: str) -> None:
    import datetime as dt

    from sqlalchemy import update as sql_update

    from core.db import session_scope
    from core.models import InboundUpdate, OutboundMessage

    store = GatewayStore(db_url)
    old_id = store.add(Incoming("telegram", "1", "tg:1", "1", "text", "cũ"))
    store.save_replies(old_id, [{"text": "trả lời", "buttons": []}])
    store.complete(old_id)
    fresh_id = store.add(Incoming("telegram", "2", "tg:1", "1", "text", "mới"))
    web_old, web_new, relay = store.enqueue([
        {"text": "cán bộ trả lời", "_channel": "web", "_chat": "w1"},
        {"text": "cán bộ trả lời 2", "_channel": "web", "_chat": "w1"},
        {"text": "đến thành viên", "_channel": "telegram", "_chat": "9"}])
    store.mark_sent(relay)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=72)
    with session_scope(db_url) as s:
        s.execute(sql_update(InboundUpdate).where(InboundUpdate.id == old_id).values(received_at=long_ago))
        s.execute(sql_update(OutboundMessage).where(OutboundMessage.id.in_([web_old, relay]))
                  .values(created_at=long_ago))
    assert store.purge(48) == 1
    with session_scope(db_url) as s:
        assert s.get(InboundUpdate, fresh_id) is not None and s.get(InboundUpdate, old_id) is None
        left = {o.id for o in s.query(OutboundMessage).all()}
    assert left == {web_new}  # the fresh web message waits for the page
    assert [m["text"] for m in store.take_web("w1")] == ["cán bộ trả lời 2"]
    assert store.take_web("w1") == []
