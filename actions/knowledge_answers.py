"""Answers from the knowledge base: the asked aspect or a summary, clarification between close
topics, and the fallback ladder (rephrase once, then record and offer a person)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.guide import back_to_step_text, guide_buttons
from core.redaction import contains_secret
from knowledge.answers import clarify_text, detect_aspect, entry_answer, unresolved_text

log = logging.getLogger(__name__)

FOLLOW_UP_MAX_WORDS = 8  # "thế phí bao nhiêu?", "cần mang gì" stay on the current topic
REPHRASE = ("Mình chưa hiểu rõ câu hỏi. Bạn nói cụ thể hơn giúp mình nhé, ví dụ tên thủ tục và "
            "việc bạn đang làm (\"kích hoạt VNeID không nhận được OTP\").")
OFFER = ("Xin lỗi, mình chưa tìm được câu trả lời. Mình đã ghi lại câu hỏi để cải thiện. Bạn có "
         "muốn được tổ công nghệ số cộng đồng nơi bạn ở hỗ trợ không?")
SECRET_WARNING = ("⚠️ Bạn đừng gửi mã OTP, mật khẩu hay passcode cho bất kỳ ai, kể cả trợ lý này. "
                  "Mình không lưu lại mã đó.")


class ActionAnswer(Action):
    """ask_procedure and nlu_fallback: search the KB and answer, clarify or fall back."""

    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        intent, confidence = common.latest_intent(tracker)
        if common.forged_payload(tracker):
            dispatcher.utter_message(text=common.FORGED_REPLY)
            return []
        if contains_secret(text):
            dispatcher.utter_message(text=SECRET_WARNING)
        topics = common.valid_topics(common.entity_values(tracker, "service"))
        aspect = common.requested_aspect(tracker) or (
            None if common.is_button(tracker) else detect_aspect(text))
        current = tracker.get_slot("topic")
        try:
            service = common.within_budget(common.knowledge)
            if common.is_button(tracker) and topics:
                return self._answer(dispatcher, tracker, topics[0], aspect, intent, confidence,
                                    {"source": "button"})
            result = common.within_budget(lambda: service.search(text, hint_ids=tuple(topics)))
        except common.DependencyError as exc:
            log.error("knowledge search failed for %s: %s", common.log_id(tracker), exc)
            return common.apologise(dispatcher)
        detail = {"scores": [h.as_dict() for h in result.results[:3]], "reason": result.reason,
                  "kb_version": result.kb_version}
        follow_up = (current and aspect and not topics and len(text.split()) <= FOLLOW_UP_MAX_WORDS
                     and (result.status != "answered" or result.top.id == current))
        if follow_up:
            return self._answer(dispatcher, tracker, current, aspect, intent, confidence,
                                {**detail, "follow_up": True})
        if result.status == "answered":
            return self._answer(dispatcher, tracker, result.top.id, aspect, intent, confidence,
                                detail)
        if result.status == "clarify":
            buttons = [{"title": h.title[:60], "payload": common.payload(
                "ask_procedure", service=h.id, **({"aspect": aspect} if aspect else {}))}
                for h in result.candidates]
            dispatcher.utter_message(text=clarify_text(result), buttons=buttons)
            common.record_safely(lambda: common.records().record_turn(
                common.sender(tracker), text, status="clarified", intent=intent,
                confidence=confidence, aspect=aspect, detail=detail))
            return []
        return self._fallback(dispatcher, tracker, result, intent, confidence, detail)

    def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, topic: str,
                aspect: str | None, intent: str | None, confidence: float | None,
                detail: dict[str, Any]) -> list[dict[str, Any]]:
        entry = common.entry_or_none(topic)
        if entry is None:
            dispatcher.utter_message(text=common.FORGED_REPLY)
            return []
        text = entry_answer(entry, aspect)
        progress = common.record_safely(lambda: common.records().progress(common.sender(tracker)))
        buttons = common.topic_buttons(topic)
        if progress and progress[0] != topic:  # a digression: bring the citizen back
            guide_entry = common.entry_or_none(progress[0])
            if guide_entry is not None:
                text += "\n\n" + back_to_step_text(guide_entry, progress[1])
                buttons = guide_buttons(progress[1])
        dispatcher.utter_message(text=text, buttons=buttons)
        common.record_safely(lambda: common.records().record_turn(
            common.sender(tracker), common.latest_text(tracker), status="answered", intent=intent,
            confidence=confidence, topic=topic, aspect=aspect, detail=detail))
        return [SlotSet("topic", topic), SlotSet("aspect", aspect), SlotSet("fallback_count", 0)]

    def _fallback(self, dispatcher: CollectingDispatcher, tracker: Tracker, result: Any,
                  intent: str | None, confidence: float | None,
                  detail: dict[str, Any]) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        guess = result.top.id if result.top else None
        if result.reason == "out_of_scope" or intent == "out_of_scope":
            dispatcher.utter_message(text=unresolved_text("out_of_scope", 0))
            status, events = "out_of_scope", []
        elif (tracker.get_slot("fallback_count") or 0) < 1:
            reason = result.reason
            dispatcher.utter_message(text=REPHRASE if reason == "low_score"
                                     else unresolved_text(reason, 1000))
            status, events = "unresolved", [SlotSet("fallback_count", 1)]
            detail = {**detail, "ladder": "rephrase"}
        else:
            dispatcher.utter_message(text=OFFER, buttons=common.yes_no_buttons())
            status = "unresolved"
            events = [SlotSet("fallback_count", 0), SlotSet("human_offered", True)]
            detail = {**detail, "ladder": "offered_person"}
        common.record_safely(lambda: common.records().record_turn(
            common.sender(tracker), text, status=status, intent=intent, confidence=confidence,
            detail={**detail, "topic_guess": guess}))
        return events
