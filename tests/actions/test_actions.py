"""Custom actions with real tracker and dispatcher objects from rasa-sdk, the real knowledge
service and a real database (the application environment does not import `rasa`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.conversation import ActionFeedback, ActionGreet, ActionSafetyWarning
from actions.escalation import ActionCreateEscalation, ValidateEscalationForm
from actions.guide import (
    ActionNextStep,
    ActionPreviousStep,
    ActionRepeatStep,
    ActionResumeGuide,
    ActionStartGuide,
    ActionStuck,
)
from actions.knowledge_answers import OFFER, ActionAnswer
from actions.records import ConversationRecords
from core.migrate import upgrade
from core.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def store(tmp_path, service) -> ConversationRecords:
    url = f"sqlite:///{tmp_path / 'conv.db'}"
    upgrade(url)
    records = ConversationRecords(url)
    common.set_services(service, records)
    yield records
    common.set_services(None, None)


def tracker(text: str, intent: str = "ask_procedure", *, sender: str = "web:alice",
            entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None,
            events: list[dict[str, Any]] | None = None, confidence: float = 0.9) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence},
               "entities": entities or []}
    return Tracker(sender, slots or {}, message, events or [], False, None, {}, "action_listen")


def button(intent: str, **entities: Any) -> Tracker:
    ents = [{"entity": k, "value": v} for k, v in entities.items()]
    return tracker(f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}", intent,
                   entities=ents)


def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def slots(events) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_answer_with_buttons_and_record(store) -> None:
    msgs, events = run(ActionAnswer(), tracker("phí đổi cccd bao nhiêu, sdt em 0912345678"))
    assert "Lệ phí" in msgs[0]["text"]
    payloads = [b["payload"] for b in msgs[0]["buttons"]]
    assert '/start_guide{"service": "S02"}' in payloads and "/request_human" in payloads
    assert slots(events)["topic"] == "S02"
    turn = store.turns()[0]
    assert turn["status"] == "answered" and turn["topic"] == "S02" and turn["aspect"] == "fee"
    assert "0912345678" not in turn["text"] and "[SĐT]" in turn["text"]


def test_follow_up_stays_on_the_topic(store) -> None:
    msgs, _ = run(ActionAnswer(), tracker("thế cần mang giấy tờ gì", slots={"topic": "S12"}))
    assert msgs[0]["text"].startswith("Cấp, cấp lại") and "Cần chuẩn bị" in msgs[0]["text"]


AMBIGUOUS = ["tạm trú", "khai tạm trú online", "bảo hiểm xã hội", "đăng ký xe", "giấy phép lái xe",
             "khai sinh", "hộ tịch", "đất đai"]


def test_clarify_offers_candidate_buttons(store, service) -> None:
    question = next(q for q in AMBIGUOUS if service.search(q).status == "clarify")
    msgs, _ = run(ActionAnswer(), tracker(question))
    assert "thủ tục nào" in msgs[0]["text"]
    assert all(b["payload"].startswith("/ask_procedure") for b in msgs[0]["buttons"])
    assert store.turns()[0]["status"] == "clarified"


def test_fallback_ladder_rephrase_then_offer_a_person(store) -> None:
    msgs, events = run(ActionAnswer(), tracker("qwxz zzkq vvbn", "nlu_fallback",
                                               confidence=0.2))
    assert "chưa hiểu" in msgs[0]["text"] and slots(events)["fallback_count"] == 1
    msgs, events = run(ActionAnswer(), tracker("vvbn qqxx", "nlu_fallback",
                                               slots={"fallback_count": 1}, confidence=0.2))
    assert msgs[0]["text"] == OFFER and slots(events)["human_offered"] is True
    assert [t["status"] for t in store.turns()] == ["unresolved", "unresolved"]


def test_out_of_scope_is_polite(store) -> None:
    msgs, _ = run(ActionAnswer(), tracker("quên mật khẩu zalo lấy lại sao"))
    assert "ngoài phạm vi" in msgs[0]["text"]
    assert store.turns()[0]["status"] == "out_of_scope"


def test_forged_payload_gets_a_polite_reply(store) -> None:
    for t in (button("ask_procedure", service="X99"), button("start_guide", service="'; drop"),
              button("ask_procedure", service="S02", aspect="hack")):
        msgs, _ = run(ActionAnswer() if "ask" in t.latest_message["text"] else ActionStartGuide(), t)
        assert msgs[0]["text"] == common.FORGED_REPLY


def test_guided_mode_through_steps_and_resume_later(store) -> None:
    msgs, events = run(ActionStartGuide(), button("start_guide", service="EID03"))
    assert "Bước 1/4" in msgs[1]["text"] and slots(events)["guide_step"] == 1.0
    msgs, _ = run(ActionNextStep(), tracker("xong rồi", "next_step"))
    assert msgs[0]["text"].startswith("Bước 2/4: Nhập mã OTP")
    msgs, _ = run(ActionRepeatStep(), tracker("nói lại", "repeat_step"))
    assert msgs[0]["text"].startswith("Bước 2/4")
    msgs, events = run(ActionStuck(), tracker("không nhận được mã", "stuck"))
    assert "Không nhận được mã OTP" in msgs[0]["text"] and slots(events)["human_offered"]
    msgs, _ = run(ActionPreviousStep(), tracker("quay lại bước trước", "previous_step"))
    assert msgs[0]["text"].startswith("Bước 1/4")
    run(ActionNextStep(), tracker("xong", "next_step"))
    # A digression is answered, then the citizen is brought back to the step.
    msgs, _ = run(ActionAnswer(), tracker("phí làm hộ chiếu bao nhiêu"))
    assert "Bạn đang ở Bước 2/4" in msgs[0]["text"]
    assert msgs[0]["buttons"][0]["payload"] == "/next_step"
    # Days later, a new session with an empty tracker: "tiếp tục" resumes at step 2.
    msgs, _ = run(ActionResumeGuide(), tracker("tiếp tục", "resume_guide"))
    assert msgs[0]["text"].startswith("Bước 2/4")
    for _ in range(2):
        run(ActionNextStep(), tracker("xong", "next_step"))
    msgs, _ = run(ActionNextStep(), tracker("xong", "next_step"))
    assert "làm xong tất cả các bước" in msgs[0]["text"]
    assert store.progress("web:alice") is None


def test_next_step_without_a_guide(store) -> None:
    msgs, _ = run(ActionNextStep(), tracker("bước tiếp", "next_step", sender="web:bob"))
    assert "chưa bắt đầu" in msgs[0]["text"]


def test_escalation_with_consent_creates_a_redacted_case(store) -> None:
    events = [
        {"event": "user", "text": "vneid báo lỗi, sdt tôi 0987654321, cccd 001203004567",
         "parse_data": {"intent": {"name": "ask_procedure"}}},
        {"event": "bot", "text": "Mình chưa tìm được câu trả lời."},
        {"event": "user", "text": "gặp người hỗ trợ", "parse_data": {"intent": {"name": "request_human"}}},
    ]
    form = ValidateEscalationForm()
    d = CollectingDispatcher()
    said = tracker("phường Bến Thành, TP HCM", "give_location")
    assert form.validate_location("TP HCM", d, said, {}) == {"location": "phường Bến Thành, TP HCM"}
    assert form.validate_location("", d, tracker("/affirm", "affirm"), {}) == {"location": None}
    assert form.validate_consent(False, d, tracker("x"), {})["requested_slot"] is None
    t = tracker("đồng ý", "affirm", events=events,
                slots={"consent": True, "location": "phường Bến Thành, TP HCM", "topic": "EID03"})
    from teams.cases import Cases
    from teams.directory import load_directory
    from teams.store import TeamStore

    TeamStore(store.url).import_directory(load_directory(PROJECT_ROOT / "teams" / "demo_directory.yml"))
    msgs, _ = run(ActionCreateEscalation(), t)
    assert "#1" in msgs[0]["text"] and "Tổ công nghệ số cộng đồng phường Bến Thành" in msgs[0]["text"]
    assert "Tổ đang làm việc" in msgs[0]["text"] or "ngoài giờ làm việc" in msgs[0]["text"]
    (case,) = store.escalations()
    assert case["route_level"] == "commune" and case["team_id"]
    assert [e["kind"] for e in Cases(store.url).history(case["id"])] == ["created", "routed"]
    assert case["topic"] == "EID03" and case["sender_id"] == "web:alice"
    blob = json.dumps(case, ensure_ascii=False)
    assert "0987654321" not in blob and "001203004567" not in blob
    assert case["question"].startswith("vneid báo lỗi")


def test_no_consent_no_case(store) -> None:
    msgs, _ = run(ActionCreateEscalation(), tracker("không", "deny", slots={"consent": False}))
    assert "không chia sẻ" in msgs[0]["text"] and store.escalations() == []


def test_safety_warning_and_redacted_record(store) -> None:
    msgs, _ = run(ActionSafetyWarning(), tracker("mã otp của em là 482913", "share_secret"))
    assert "OTP" in msgs[0]["text"]
    assert "482913" not in store.turns()[0]["text"]


def test_feedback_is_recorded_against_the_last_answer(store) -> None:
    run(ActionAnswer(), tracker("đổi cccd ở đâu"))
    msgs, events = run(ActionFeedback(), tracker("trả lời sai rồi", "feedback_negative"))
    assert slots(events)["human_offered"] is True
    from sqlalchemy import select

    from core.db import session_scope
    from core.models import Feedback

    with session_scope(store.url) as s:
        (fb,) = s.scalars(select(Feedback)).all()
        assert fb.positive is False and fb.turn_id == store.turns(status="answered")[0]["id"]


def test_greeting_gives_the_privacy_notice_once(store) -> None:
    msgs, _ = run(ActionGreet(), tracker("chào bạn", "greet", sender="web:new"))
    assert any("🔒" in m["text"] for m in msgs)
    msgs, _ = run(ActionGreet(), tracker("alo", "greet", sender="web:new"))
    assert not any("🔒" in m["text"] for m in msgs)


def test_a_failing_dependency_gives_an_apology(store, monkeypatch) -> None:
    class Broken:
        def search(self, *a, **k):
            raise RuntimeError("index gone")

    common.set_services(Broken(), store)
    msgs, events = run(ActionAnswer(), tracker("đổi cccd"))
    assert msgs[0]["text"] == common.APOLOGY and slots(events)["human_offered"] is True


def test_a_slow_dependency_gives_an_apology_within_budget(store, monkeypatch) -> None:
    import time

    class Slow:
        def search(self, *a, **k):
            time.sleep(5)

    common.set_services(Slow(), store)
    monkeypatch.setattr(common, "TIME_BUDGET_SECONDS", 0.5)
    started = time.perf_counter()
    msgs, _ = run(ActionAnswer(), tracker("đổi cccd"))
    assert msgs[0]["text"] == common.APOLOGY and time.perf_counter() - started < 2
