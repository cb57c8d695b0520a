"""The team's side through an in-process gateway (real HTTP to fake Telegram and Zalo servers,
real databases, no Rasa): the card, two members claiming at once, the relay both ways
(citizen on Zalo or the web chat, member on Telegram), closing and rating, forwarding,
the out-of-hours call-back number, and reminders / moves with a controlled clock."""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from actions.records import ConversationRecords
from bot.gateway import create_app
from core.settings import Settings
from teams.cases import Cases
from teams.routing import VIETNAM
from teams.store import TeamStore
from tests.fakes import zalo_api
from tests.fakes.server import BackgroundServer, free_port, wait_until
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.teams.sample import sample_directory

TOKEN = "42:DESK-test"
TAN_LAP = -1000000000101
TICH_LUONG = -1000000000102
PROVINCE = -1000000000100
AN, BINH = 2101, 2102
MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=VIETNAM)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def desk(tmp_path, db_url):
    telegram, zalo = FakeTelegram(TOKEN), FakeZalo()
    with BackgroundServer(telegram.app) as tg, BackgroundServer(zalo.app) as zl:
        settings = Settings(
            data_dir=tmp_path / "var", database_url=db_url, telegram_bot_token=TOKEN,
            telegram_api_url=f"{tg.url}/bot", public_url="https://bot.example.vn",
            zalo_app_id=zalo_api.APP_ID, zalo_app_secret=zalo_api.APP_SECRET,
            zalo_oa_secret_key=zalo_api.OA_SECRET, zalo_access_token="access-0",
            zalo_refresh_token="refresh-0", zalo_api_url=zl.url, zalo_oauth_url=zl.url,
            rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout_seconds=1,
            case_poll_seconds=0.1, case_sweep_seconds=3600, telegram_chat_per_second=50,
            telegram_chat_burst=50)
        TeamStore(db_url).import_directory(sample_directory())
        app = create_app(settings)
        clock = Clock(MONDAY_10)
        with TestClient(app) as client:
            app.state.gateway["desk"].clock = clock
            yield Desk(client, telegram, zalo, settings, clock, app)


class Desk:
    def __init__(self, client, telegram, zalo, settings, clock, app):
        self.client, self.telegram, self.zalo = client, telegram, zalo
        self.settings, self.clock, self.app = settings, clock, app
        self.url = settings.database_url

    def case(self, sender: str, location: str = "xã Tân Lập, Thái Nguyên",
             question: str = "kích hoạt vneid báo lỗi, cccd 012345678901") -> int:
        """What action_create_escalation does: the case, then its routing."""
        case_id = ConversationRecords(self.url).create_escalation(
            sender, location=location, topic="EID03", step=3, question=question,
            transcript=[{"who": "citizen", "text": question},
                        {"who": "assistant", "text": "Bạn thử cập nhật ứng dụng nhé."}],
            consent_at=dt.datetime.now(dt.UTC))
        Cases(self.url).route(case_id, location, at=self.clock())
        return case_id

    def tg(self, update: dict) -> None:
        r = self.client.post("/webhooks/telegram", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": self.telegram.webhook["secret_token"]})
        assert r.status_code == 200, r.text

    def press(self, user: int, group: int, data: str, message_id: int, name: str = "Thành viên") -> str:
        update = self.telegram.make_update(group, callback_data=data, from_id=user, from_name=name,
                                           message_id=message_id)
        self.tg(update)
        return update["callback_query"]["id"]

    def zl(self, user: str, text: str) -> None:
        event = self.zalo.event(user, text)
        raw = json.dumps(event, ensure_ascii=False).encode()
        r = self.client.post("/webhooks/zalo", content=raw, headers={
            "Content-Type": "application/json",
            "X-ZEvent-Signature": zalo_api.sign(raw, event["timestamp"])})
        assert r.status_code == 200, r.text

    def card(self, group: int, index: int = 0) -> dict:
        """The card, once it is out and recorded on its case (the desk records it after
        Telegram's answer)."""
        card = self.telegram.wait_for(group, index + 1, timeout=15)[index]
        handoffs = self.app.state.gateway["desk"].handoffs
        wait_until(lambda: not handoffs.due_cards(), what="the card recorded")
        return card

    def answer(self, callback_id: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callback_id in self.telegram.callback_texts:
                return self.telegram.callback_texts[callback_id]
            time.sleep(0.05)
        raise AssertionError(f"callback {callback_id} not answered")

    def history(self, case_id: int) -> list[str]:
        return [e["kind"] for e in Cases(self.url).history(case_id)]


def _text(message: dict) -> str:
    return html.unescape(message["text"])


def test_claim_race_relay_both_ways_close_and_rate(desk) -> None:
    case_id = desk.case("zalo:z1")
    card = desk.card(TAN_LAP)
    text = _text(card)
    assert f"#{case_id}" in text and "Tân Lập" in text and "bước 3" in text
    assert "012345678901" not in text and "Zalo" in text
    assert [b["text"] for b in desk.telegram.buttons(card)] == ["Nhận xử lý", "Chuyển"]
    # Two members press "Nhận xử lý" at the same moment.
    ids: dict[int, str] = {}
    barrier = threading.Barrier(2)

    def press(user: int, name: str) -> None:
        barrier.wait()
        ids[user] = desk.press(user, TAN_LAP, f"#claim:{case_id}", card["message_id"], name)

    threads = [threading.Thread(target=press, args=(u, n)) for u, n in ((AN, "An"), (BINH, "Bình"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = {user: desk.answer(cb) for user, cb in ids.items()}
    winners = [u for u, a in answers.items() if a.startswith("Bạn đã nhận")]
    assert len(winners) == 1, answers
    winner = winners[0]
    loser = BINH if winner == AN else AN
    winner_name = {AN: "Nguyễn Văn An", BINH: "Trần Thị Bình"}[winner]
    assert winner_name in answers[loser] and "đã được" in answers[loser]
    wait_until(lambda: winner_name in _text(desk.telegram.messages_to(TAN_LAP)[0]), what="card shows who")
    assert desk.telegram.buttons(desk.telegram.messages_to(TAN_LAP)[0]) == []
    intro = desk.telegram.wait_text(winner, f"Bạn đã nhận ca #{case_id}")
    assert "012345678901" not in _text(intro[0]) and desk.telegram.buttons(intro[-1])[0]["text"] == "Đóng ca"
    assert desk.telegram.messages_to(loser) == []
    desk.zalo.wait_text("z1", f"{winner_name} (Tổ CNSCĐ xã Tân Lập (Thái Nguyên)) đã nhận")
    # Citizen (Zalo) -> member (Telegram), redacted; member -> citizen.
    desk.zl("z1", "em vẫn không vào được, sdt em 0912345678")
    relayed = desk.telegram.wait_text(winner, "em vẫn không vào được", after=1)
    assert "0912345678" not in _text(relayed[-1]) and f"ca #{case_id}" in _text(relayed[-1])
    before = len(desk.zalo.messages_to("z1"))
    desk.tg(desk.telegram.make_update(winner, "Bạn vào Cài đặt, chọn Quên mật khẩu nhé"))
    got = desk.zalo.wait_text("z1", "Quên mật khẩu", after=before)
    assert got[-1]["message"]["text"].startswith(f"👤 {winner_name}")
    assert len(desk.zalo.messages_to("z1")) == before + 1  # the assistant stayed quiet
    # Close with a note; the citizen gets it, a reopen button and the rating.
    desk.tg(desk.telegram.make_update(winner, "/xong Đã hướng dẫn đặt lại mật khẩu"))
    desk.telegram.wait_text(winner, f"Đã đóng ca #{case_id}")
    closing = desk.zalo.wait_text("z1", "chấm điểm", after=before + 1)
    assert "Đã hướng dẫn đặt lại mật khẩu" in closing[0]["message"]["text"]
    payloads = [b["payload"] for m in closing for b in m["message"].get("attachment", {})
                .get("payload", {}).get("buttons", [])]
    assert f"#reopen:{case_id}" in payloads and f"#rate:{case_id}:5" in payloads
    wait_until(lambda: "Đã xử lý xong" in _text(desk.telegram.messages_to(TAN_LAP)[0]), what="card closed")
    count = len(desk.zalo.messages_to("z1"))
    desk.zl("z1", f"#rate:{case_id}:5")
    desk.zalo.wait_text("z1", "Cảm ơn bạn đã chấm 5/5", after=count)
    # The assistant answers again (Rasa is absent here: its degraded answer), nothing relayed.
    member_messages = len(desk.telegram.messages_to(winner))
    count = len(desk.zalo.messages_to("z1"))
    desk.zl("z1", "cảm ơn")
    desk.zalo.wait_for("z1", count + 1)
    time.sleep(0.5)
    assert len(desk.telegram.messages_to(winner)) == member_messages
    assert desk.history(case_id) == ["created", "routed", "notified", "claimed", "resolved", "rated"]


def test_web_citizen_relay_and_reopen(desk) -> None:
    case_id = desk.case("web:w1")
    card = desk.card(TAN_LAP)
    cb = desk.press(AN, TAN_LAP, f"#claim:{case_id}", card["message_id"], "An")
    assert desk.answer(cb).startswith("Bạn đã nhận")
    inbox = wait_until(lambda: desk.client.get("/api/chat/inbox", params={"user_id": "w1"}).json()["messages"],
                  what="web inbox")
    assert "đã nhận hỗ trợ" in inbox[0]["text"]
    assert desk.client.get("/api/chat/inbox", params={"user_id": "w1"}).json()["messages"] == []
    reply = desk.client.post("/api/chat", json={"user_id": "w1", "text": "em cảm ơn, em đợi ạ"}).json()
    assert reply["messages"] == []  # nothing from the assistant: it goes to the member
    desk.telegram.wait_text(AN, "em cảm ơn, em đợi ạ")
    desk.tg(desk.telegram.make_update(AN, "Không có gì, bạn thử lại nhé"))
    got = wait_until(lambda: desk.client.get("/api/chat/inbox", params={"user_id": "w1"}).json()["messages"],
                what="member reply on the web")
    assert "Không có gì, bạn thử lại nhé" in got[0]["text"]
    # The "Đóng ca" button asks for the note; the next message is the note.
    desk.tg(desk.telegram.make_update(AN, callback_data=f"#close:{case_id}"))
    desk.telegram.wait_text(AN, "ghi chú")
    desk.tg(desk.telegram.make_update(AN, "Đã hướng dẫn cài lại ứng dụng"))
    closing = wait_until(lambda: desk.client.get("/api/chat/inbox", params={"user_id": "w1"}).json()["messages"],
                    what="closing on the web")
    assert any(b["payload"] == f"#reopen:{case_id}" for m in closing for b in m["buttons"])
    reopened = desk.client.post("/api/chat", json={"user_id": "w1", "payload": f"#reopen:{case_id}"}).json()
    assert "báo lại" in reopened["messages"][0]["text"]
    desk.telegram.wait_text(AN, f"ca #{case_id} vẫn chưa xong")
    assert desk.history(case_id)[-1] == "reopened"
    forged = desk.client.post("/api/chat", json={"user_id": "w2", "payload": f"#rate:{case_id}:1"}).json()
    assert forged["messages"][0]["text"] == "Nút này không còn dùng được."
    # Erasure in the middle of a handoff: the member is told, the case keeps no content.
    erased = desk.client.post("/api/chat", json={"user_id": "w1", "payload": "#erase:yes"}).json()
    assert erased["messages"][0]["text"].startswith("Đã xoá dữ liệu")
    desk.telegram.wait_text(AN, "đã xoá dữ liệu")
    case = desk.app.state.gateway["desk"].handoffs.get(case_id)
    assert case.status == "erased" and case.question == "" and case.sender_id.startswith("erased:")
    assert desk.history(case_id)[-1] == "erased"


def test_forward_from_the_card(desk) -> None:
    case_id = desk.case("tg:6001")
    card = desk.card(TAN_LAP)
    cb = desk.press(2201, TAN_LAP, f"#claim:{case_id}", card["message_id"], "Cường")
    assert "chưa có trong danh sách" in desk.answer(cb)  # Cường is Tích Lương's, not Tân Lập's
    desk.press(AN, TAN_LAP, f"#fwd:{case_id}", card["message_id"], "An")
    options = wait_until(lambda: [b for b in desk.telegram.buttons(desk.telegram.messages_to(TAN_LAP)[0])
                             if b["callback_data"].startswith("#to:")], what="forward options")
    target = next(b for b in options if "Tích Lương" in b["text"])
    desk.press(AN, TAN_LAP, target["callback_data"], card["message_id"], "An")
    new_card = desk.card(TICH_LUONG)
    assert f"#{case_id}" in _text(new_card)
    wait_until(lambda: "đã chuyển sang" in _text(desk.telegram.messages_to(TAN_LAP)[0]), what="old card")
    desk.telegram.wait_text(6001, "được chuyển đến Tổ CNSCĐ phường Tích Lương")
    stale = desk.press(BINH, TAN_LAP, f"#claim:{case_id}", card["message_id"], "Bình")
    assert "không còn ở tổ này" in desk.answer(stale)
    cb = desk.press(2201, TICH_LUONG, f"#claim:{case_id}", new_card["message_id"], "Cường")
    assert desk.answer(cb).startswith("Bạn đã nhận")
    assert desk.history(case_id) == ["created", "routed", "notified", "forwarded", "notified", "claimed"]


def test_out_of_hours_call_back_number(desk) -> None:
    desk.clock.now = dt.datetime(2026, 12, 6, 21, 0, tzinfo=VIETNAM)  # Sunday night
    case_id = desk.case("tg:6002")
    card = desk.card(TAN_LAP)
    desk.tg(desk.telegram.make_update(6002, callback_data=f"#callback:{case_id}"))
    desk.telegram.wait_text(6002, "Bạn gõ số điện thoại")
    desk.tg(desk.telegram.make_update(6002, "số em 0987 654 321 ạ"))
    thanks = desk.telegram.wait_text(6002, "Tổ sẽ gọi lại số ...321")
    assert "07:30 ngày mai" in _text(thanks[-1])
    follow = desk.telegram.wait_text(TAN_LAP, "0987654321", after=1)
    assert follow[-1]["reply_to"] == card["message_id"]
    assert desk.history(case_id)[-2:] == ["callback_asked", "callback"]
    desk.tg(desk.telegram.make_update(6003, callback_data=f"#callback:{case_id}"))  # not theirs
    desk.telegram.wait_text(6003, "Nút này không còn dùng được")


def test_reminder_then_move_to_the_province_with_a_controlled_clock(desk) -> None:
    case_id = desk.case("zalo:z2")
    card = desk.card(TAN_LAP)
    sweep = desk.app.state.gateway["desk"].sweep
    desk.clock.now = MONDAY_10 + dt.timedelta(minutes=10)
    assert desk.client.portal.call(sweep, desk.clock.now) == (0, 0)
    desk.clock.now = MONDAY_10 + dt.timedelta(minutes=16)
    assert desk.client.portal.call(sweep, desk.clock.now) == (1, 0)
    reminder = desk.telegram.wait_text(TAN_LAP, "chưa ai nhận", after=1)
    assert reminder[-1]["reply_to"] == card["message_id"] and "16 phút" in _text(reminder[-1])
    desk.clock.now = MONDAY_10 + dt.timedelta(minutes=61)
    assert desk.client.portal.call(sweep, desk.clock.now) == (0, 1)
    province_card = desk.card(PROVINCE)
    assert f"#{case_id}" in _text(province_card)
    wait_until(lambda: "đã chuyển lên" in _text(desk.telegram.messages_to(TAN_LAP)[0]), what="old card")
    desk.zalo.wait_text("z2", "chuyển lên Tổ hỗ trợ tỉnh Thái Nguyên")
    cb = desk.press(2001, PROVINCE, f"#claim:{case_id}", province_card["message_id"], "Tỉnh")
    assert desk.answer(cb).startswith("Bạn đã nhận")
    assert desk.history(case_id) == ["created", "routed", "notified", "reminded", "forwarded",
                                     "notified", "claimed"]


def test_member_hears_when_a_reply_cannot_reach_the_citizen(desk) -> None:
    case_id = desk.case("zalo:z9")
    card = desk.card(TAN_LAP)
    assert desk.answer(desk.press(AN, TAN_LAP, f"#claim:{case_id}", card["message_id"])).startswith("Bạn đã nhận")
    desk.zalo.wait_text("z9", "đã nhận hỗ trợ")
    desk.zalo.outside_window.add("z9")  # Zalo: no message from the citizen in 48 h (-213)
    desk.tg(desk.telegram.make_update(AN, "Bạn còn cần hỗ trợ không?"))
    warning = desk.telegram.wait_text(AN, "chưa đến được công dân")
    assert f"ca #{case_id}" in _text(warning[-1]) and "-213" in _text(warning[-1])
