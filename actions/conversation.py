"""Greeting with the privacy notice, feedback on the last answer, and the secret warning."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from core.text import normalize

WELCOME = ("Xin chào! Mình là trợ lý tự động hỗ trợ VNeID, Cổng Dịch vụ công và các thủ tục "
           "hành chính trực tuyến. Bạn cứ gõ câu hỏi, có dấu hay không dấu đều được.")
PRIVACY = ("🔒 Mình lưu câu hỏi (đã che số căn cước, số điện thoại, mã OTP) để cải thiện câu trả "
           "lời. Đừng gửi mật khẩu hay mã OTP cho bất kỳ ai. Nội dung chỉ được chia sẻ với tổ công "
           "nghệ số cộng đồng khi bạn đồng ý.")
WELCOME_BACK = "Chào bạn! Mình có thể giúp gì cho bạn hôm nay?"
SAFETY = ("⚠️ Bạn đừng bao giờ gửi mã OTP, mật khẩu hay passcode cho bất kỳ ai, kể cả trợ lý này "
          "hay người xưng là công an, cán bộ. Mình không lưu lại nội dung đó.\n"
          "Nếu đã lỡ đưa mã cho người khác: đổi mật khẩu VNeID ngay, kiểm tra tài khoản ngân "
          "hàng, và báo công an xã/phường hoặc gọi tổng đài 1900 0368.")


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        who = common.sender(tracker)
        seen = common.record_safely(lambda: common.records().has_history(who))
        progress = common.record_safely(lambda: common.records().progress(who))
        if seen:
            dispatcher.utter_message(text=WELCOME_BACK)
        else:
            dispatcher.utter_message(text=WELCOME)
            dispatcher.utter_message(text=PRIVACY)
        if progress:
            entry = common.entry_or_none(progress[0])
            if entry is not None:
                dispatcher.utter_message(
                    text=f"Bạn đang làm dở \"{entry.title}\" (Bước {progress[1]}/{progress[2]}).",
                    buttons=[{"title": "Tiếp tục", "payload": "/resume_guide"}])
        common.record_safely(lambda: common.records().record_turn(
            who, common.latest_text(tracker), status="small_talk", intent="greet",
            detail={"privacy_notice": not seen}))
        return []


SMALL_TALK = {"goodbye": "utter_goodbye", "thank": "utter_thank", "bot_challenge": "utter_iamabot",
              "help": "utter_help", "out_of_scope": "utter_out_of_scope",
              "give_location": "utter_location_noted", "affirm": "utter_no_problem",
              "deny": "utter_no_problem"}
OTHER_SCRIPT = ("Xin lỗi, mình chỉ hiểu tiếng Việt (có dấu hoặc không dấu) và một ít tiếng Anh. "
                "Sorry, I understand Vietnamese and some English only.")


class ActionSmallTalk(Action):
    """The fixed replies (goodbye, thank, bot challenge, help, out of scope), recorded."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent, confidence = common.latest_intent(tracker)
        text = common.latest_text(tracker)
        if text and not re.search(r"[a-z0-9]", normalize(text)):  # another script, emoji only
            dispatcher.utter_message(text=OTHER_SCRIPT)
        else:
            dispatcher.utter_message(response=SMALL_TALK.get(intent or "", "utter_help"))
        common.record_safely(lambda: common.records().record_turn(
            common.sender(tracker), common.latest_text(tracker),
            status="out_of_scope" if intent == "out_of_scope" else "small_talk",
            intent=intent, confidence=confidence))
        return []


class ActionFeedback(Action):
    """feedback_positive / feedback_negative, recorded against the last answer."""

    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent, _ = common.latest_intent(tracker)
        positive = intent == "feedback_positive"
        who = common.sender(tracker)
        common.record_safely(lambda: common.records().record_feedback(
            who, positive, common.latest_text(tracker)))
        if positive:
            dispatcher.utter_message(text="Cảm ơn bạn! Chúc bạn làm thủ tục thuận lợi.")
            return []
        dispatcher.utter_message(
            text="Xin lỗi vì câu trả lời chưa giúp được bạn. Mình đã ghi nhận để cải thiện. Bạn có "
                 "muốn được tổ công nghệ số cộng đồng hỗ trợ trực tiếp không?",
            buttons=common.yes_no_buttons())
        return [SlotSet("human_offered", True)]


class ActionSafetyWarning(Action):
    """A message with an OTP, password or passcode: warn, and store it only redacted."""

    def name(self) -> str:
        return "action_safety_warning"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=SAFETY, buttons=[
            {"title": "Cảnh báo lừa đảo", "payload": common.payload("ask_procedure",
                                                                    service="EID14")},
            common.person_button()])
        common.record_safely(lambda: common.records().record_turn(
            common.sender(tracker), common.latest_text(tracker), status="safety",
            intent="share_secret", topic="EID14"))
        return []
