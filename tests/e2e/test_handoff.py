"""Escalation to a team end to end: real Rasa and action servers, a real gateway process,
the fake Telegram and Zalo servers. A citizen on Zalo asks for a person, types the commune
without diacritics, consents; the team's card arrives; two members claim at the same moment
(one wins); messages are relayed both ways; the case is closed and rated; the assistant
answers again. Then the out-of-hours path with a call-back number."""

from __future__ import annotations

import html
import json
import time
import uuid

import pytest

from teams.cases import Cases
from tests.fakes.server import wait_until

pytestmark = pytest.mark.slow

TAN_LAP, DONG_HY = -1009000000101, -1009000000102
AN, BINH = 9101, 9102


def _text(message: dict) -> str:
    return html.unescape(message["text"])


def _zalo_texts(messages: list[dict]) -> str:
    return "\n".join(m["message"]["text"] for m in messages)


def _zalo_payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages
            for b in m["message"].get("attachment", {}).get("payload", {}).get("buttons", [])]


class ZaloCitizen:
    def __init__(self, gateway, zalo):
        self.url = f"{gateway['url']}/webhooks/zalo"
        self.zalo, self.id = zalo, f"z{uuid.uuid4().hex[:10]}"

    def say(self, text: str, needle: str | None = None) -> list[dict]:
        before = len(self.zalo.messages_to(self.id))
        assert self.zalo.post_event(self.url, self.zalo.event(self.id, text)).status_code == 200
        if needle is None:
            return self.zalo.wait_for(self.id, before + 1)[before:]
        return self.zalo.wait_text(self.id, needle, after=before, timeout=40)


def _cards(telegram, group: int, after: int = 0) -> list[dict]:
    return [m for m in telegram.messages_to(group)[after:] if "Yêu cầu hỗ trợ #" in m["text"]]


def test_escalation_card_claim_race_relay_resolve(gateway, fakes) -> None:
    telegram, _, zalo, _ = fakes
    citizen = ZaloCitizen(gateway, zalo)
    seen_cards = len(telegram.messages_to(TAN_LAP))
    citizen.say("ứng dụng vneid cứ báo lỗi hệ thống khi em quét mã qr, số cccd 012345678901")
    assert "xã/phường" in _zalo_texts(citizen.say("cho em gặp người hỗ trợ", "xã/phường"))
    consent = citizen.say("xa tan lap thai nguyen", "đồng ý")
    assert "/affirm" in _zalo_payloads(consent)
    asked = time.monotonic()
    done = _zalo_texts(citizen.say("/affirm", "mã #"))
    assert "Tổ công nghệ số cộng đồng xã Tân Lập" in done and "đang làm việc" in done
    card = wait_until(lambda: _cards(telegram, TAN_LAP, seen_cards), timeout=30, what="the team's card")[0]
    latency = card["at"] - asked
    text = _text(card)
    case_id = int(text.split("#", 1)[1].split()[0])
    assert "012345678901" not in text and "Zalo" in text and "quét mã qr" in text
    assert [b["text"] for b in telegram.buttons(card)] == ["Nhận xử lý", "Chuyển"]
    assert latency < 5, latency

    # Both members press "Nhận xử lý" in the same getUpdates batch.
    presses = {user: telegram.make_update(TAN_LAP, callback_data=f"#claim:{case_id}", from_id=user,
                                          from_name=name, message_id=card["message_id"])
               for user, name in ((AN, "An"), (BINH, "Bình"))}
    for update in presses.values():
        telegram.push(update)
    answers = {u: wait_until(lambda u=u: telegram.callback_texts.get(presses[u]["callback_query"]["id"]),
                           timeout=30, what="callback answer") for u in presses}
    winner = next(u for u, a in answers.items() if a.startswith("Bạn đã nhận"))
    loser = BINH if winner == AN else AN
    name = {AN: "Nguyễn Văn An", BINH: "Trần Thị Bình"}[winner]
    assert f"đã được {name} nhận" in answers[loser]
    wait_until(lambda: f"Đang xử lý: {name}" in _text(telegram.messages_to(TAN_LAP)[seen_cards]),
               timeout=30, what="the card showing who claimed")
    telegram.wait_text(winner, f"Bạn đã nhận ca #{case_id}")
    zalo.wait_text(citizen.id, f"{name} (Tổ công nghệ số cộng đồng xã Tân Lập) đã nhận")

    # Relay: citizen on Zalo -> member on Telegram (redacted), member -> citizen.
    after = len(telegram.messages_to(winner))
    before = len(zalo.messages_to(citizen.id))
    zalo.post_event(citizen.url, zalo.event(citizen.id, "em cài lại rồi vẫn lỗi, sđt 0912345678"))
    relayed = telegram.wait_text(winner, "em cài lại rồi vẫn lỗi", after=after)
    assert "0912345678" not in _text(relayed[-1])
    telegram.push(telegram.make_update(winner, "Bạn cập nhật VNeID lên bản mới nhất rồi quét lại nhé"))
    got = zalo.wait_text(citizen.id, "bản mới nhất", after=before)
    assert len(got) == 1 and got[0]["message"]["text"].startswith(f"👤 {name}")  # assistant quiet

    # Close with a note; rating; the assistant answers again.
    telegram.push(telegram.make_update(winner, "/xong Đã hướng dẫn cập nhật ứng dụng"))
    closing = zalo.wait_text(citizen.id, "chấm điểm", after=before + 1)
    assert "Đã hướng dẫn cập nhật ứng dụng" in _zalo_texts(closing)
    assert f"#rate:{case_id}:5" in _zalo_payloads(closing)
    assert "Cảm ơn bạn đã chấm 5/5" in _zalo_texts(citizen.say(f"#rate:{case_id}:5", "5/5"))
    member_count = len(telegram.messages_to(winner))
    answer = _zalo_texts(citizen.say("phí cấp lại căn cước bao nhiêu", "căn cước"))
    assert "đồng" in answer.lower() or "phí" in answer.lower()
    assert len(telegram.messages_to(winner)) == member_count  # not relayed any more
    cases = Cases(gateway["settings"].database_url)
    kinds = [e["kind"] for e in cases.history(case_id)]
    assert kinds == ["created", "routed", "notified", "claimed", "resolved", "rated"]
    print(f"\nescalation -> team card: {latency * 1000:.0f} ms")


def test_out_of_hours_asks_for_a_call_back_number(gateway, fakes) -> None:
    telegram = fakes[0]
    chat = int(uuid.uuid4().int % 10**9) + 10**9

    def say(text: str | None = None, needle: str = "", callback: str | None = None) -> list[dict]:
        before = len(telegram.messages_to(chat))
        telegram.push(telegram.make_update(chat, text, callback_data=callback))
        return telegram.wait_text(chat, needle, after=before, timeout=40)

    seen = len(telegram.messages_to(DONG_HY))
    say("tôi muốn gặp cán bộ hỗ trợ", "xã/phường")
    say("xa dong hy, thai nguyen", "đồng ý")
    done = say(callback="/affirm", needle="mã #")
    text = "\n".join(_text(m) for m in done)
    assert "ngoài giờ làm việc" in text and "gọi lại" in text
    buttons = {b["text"]: b["callback_data"] for m in done for b in telegram.buttons(m)}
    case_id = int(buttons["Để lại số gọi lại"].split(":")[1])
    card = wait_until(lambda: _cards(telegram, DONG_HY, seen), timeout=30, what="the card")[0]
    assert "Số gọi lại" not in _text(card)
    say(callback=buttons["Để lại số gọi lại"], needle="Bạn gõ số điện thoại")
    thanks = say("số của tôi là 0987 654 321", "gọi lại số ...321")
    assert "03:00" in _text(thanks[-1])  # the team's next working time (Sunday 03:00)
    follow = telegram.wait_text(DONG_HY, "0987654321", after=seen + 1)
    assert follow[-1]["reply_to"] == card["message_id"]
    events = Cases(gateway["settings"].database_url).history(case_id)
    assert [e["kind"] for e in events][-2:] == ["callback_asked", "callback"]
    assert "0987654321" not in json.dumps(events, ensure_ascii=False)
