"""Escalation request: ask the commune/ward and the consent to share, then create the case.

Routing to a team and notifying it is the escalation issue; here the case is recorded
(`govbot escalations list --json`) and the citizen is told what happens next.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import common
from core.models import utcnow

TRANSCRIPT_TURNS = 20
SKIP_INTENTS = {"request_human", "affirm", "deny", "give_location", "greet", "thank"}


class ValidateEscalationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_escalation_form"

    def validate_location(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> dict[str, Any]:
        # The whole answer ("xã Tân Lập, Thái Nguyên") says more than one extracted entity.
        said = common.latest_text(tracker).strip()
        text = said if said and not said.startswith("/") and len(said) <= 200 else str(value or "")
        text = text.strip()
        if len(text) < 2 or text.startswith("/"):
            dispatcher.utter_message(text="Bạn cho mình biết tên xã/phường và tỉnh/thành phố "
                                          "nhé (ví dụ: xã Tân Lập, Thái Nguyên).")
            return {"location": None}
        return {"location": text[:200]}

    def validate_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> dict[str, Any]:
        if value is True:
            return {"consent": True}
        if value is False:
            return {"consent": False, "requested_slot": None}
        dispatcher.utter_message(text="Bạn bấm \"Đồng ý\" hoặc \"Không\" giúp mình nhé.")
        return {"consent": None}


def transcript(tracker: Tracker) -> list[dict[str, str]]:
    turns = []
    for event in tracker.events:
        if event.get("event") == "user" and event.get("text") and not event["text"].startswith("/"):
            turns.append({"who": "citizen", "text": event["text"]})
        elif event.get("event") == "bot" and event.get("text"):
            turns.append({"who": "assistant", "text": event["text"]})
    return turns[-TRANSCRIPT_TURNS:]


def last_question(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") != "user" or not event.get("text") or event["text"].startswith("/"):
            continue
        if (event.get("parse_data", {}).get("intent") or {}).get("name") not in SKIP_INTENTS:
            return event["text"]
    return ""


class ActionCreateEscalation(Action):
    def name(self) -> str:
        return "action_create_escalation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        reset = [SlotSet("consent", None), SlotSet("human_offered", False),
                 SlotSet("requested_slot", None)]
        who = common.sender(tracker)
        if tracker.get_slot("consent") is not True:
            dispatcher.utter_message(
                text="Vâng, mình sẽ không chia sẻ cuộc trò chuyện. Bạn có thể đến bộ phận một cửa "
                     "của xã/phường, hoặc gọi tổng đài VNeID 1900 0368, Cổng Dịch vụ công "
                     "1800 1096 để được hỗ trợ.")
            return reset
        location = tracker.get_slot("location") or ""
        progress = common.record_safely(lambda: common.records().progress(who))
        topic = tracker.get_slot("topic") or (progress[0] if progress else None)
        step = progress[1] if progress and progress[0] == topic else None
        try:
            case_id = common.within_budget(lambda: common.records().create_escalation(
                who, location=location, topic=topic, step=step, question=last_question(tracker),
                transcript=transcript(tracker), consent_at=utcnow()))
        except common.DependencyError:
            dispatcher.utter_message(
                text="Xin lỗi, hệ thống đang gặp sự cố nên chưa chuyển được yêu cầu. Bạn vui lòng "
                     "thử lại sau ít phút, hoặc gọi tổng đài VNeID 1900 0368.")
            return reset
        buttons, ask = [], ""
        try:
            routed = common.within_budget(lambda: common.cases().route(case_id, location))
            told = routed.citizen_text(location)
            if routed.team is not None and not routed.open_now:
                # Out of working hours: a call-back number, with consent (bot/teamdesk.py).
                ask = "\nBạn có muốn để lại số điện thoại để tổ gọi lại không?"
                buttons = [{"title": "Để lại số gọi lại", "payload": f"#callback:{case_id}"},
                           {"title": "Không cần", "payload": f"#nocallback:{case_id}"}]
        except common.DependencyError:  # the case exists: the central queue sees it unrouted
            told = (f"Mình đã ghi nhận yêu cầu của bạn (mã #{case_id}) cho tổ công nghệ số cộng "
                    f"đồng ở {location}. Thành viên của tổ sẽ nhắn cho bạn trong cuộc trò chuyện này.")
        dispatcher.utter_message(
            text=f"{told}\nSố căn cước, số điện thoại và mã OTP đã được che đi trước khi chia sẻ.{ask}",
            buttons=buttons)
        common.record_safely(lambda: common.records().record_turn(
            who, common.latest_text(tracker), status="escalated", topic=topic,
            detail={"escalation": case_id}))
        return reset


class ActionOfferDeclined(Action):
    def name(self) -> str:
        return "action_offer_declined"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_no_problem")
        return [SlotSet("human_offered", False)]
