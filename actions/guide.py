"""Guided mode: "Bước k/N" through a procedure's steps, with next / previous / repeat, the
step's common problems when stuck, and progress kept per citizen across sessions and days."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from knowledge.schema import Entry

NO_GUIDE = ("Bạn chưa bắt đầu hướng dẫn thủ tục nào. Bạn muốn mình hướng dẫn từng bước thủ tục "
            "gì ạ? (ví dụ: \"hướng dẫn kích hoạt VNeID\")")
WHICH = "Bạn muốn mình hướng dẫn từng bước thủ tục nào ạ?"


def guide_buttons(step: int) -> list[dict[str, str]]:
    buttons = [{"title": "Xong, bước tiếp", "payload": "/next_step"},
               {"title": "Bị kẹt / báo lỗi", "payload": "/stuck"},
               {"title": "Nói lại", "payload": "/repeat_step"}]
    if step > 1:
        buttons.append({"title": "Bước trước", "payload": "/previous_step"})
    return buttons


def step_text(entry: Entry, step: int) -> str:
    s = entry.steps[step - 1]
    lines = [f"Bước {step}/{len(entry.steps)}: {s.title}", s.instructions]
    lines += [f"💡 {tip}" for tip in s.tips[:2]]
    return "\n".join(lines)


def back_to_step_text(entry: Entry, step: int) -> str:
    return (f"Bạn đang ở Bước {step}/{len(entry.steps)} của \"{entry.title}\". Khi xong, bấm "
            "\"Xong, bước tiếp\" hoặc gõ \"tiếp\".")


def show_step(dispatcher: CollectingDispatcher, tracker: Tracker, entry: Entry, step: int,
              intent: str | None) -> list[dict[str, Any]]:
    step = max(1, min(step, len(entry.steps)))
    dispatcher.utter_message(text=step_text(entry, step), buttons=guide_buttons(step))
    who = common.sender(tracker)
    common.record_safely(lambda: common.records().save_progress(who, entry.id, step,
                                                                len(entry.steps)))
    common.record_safely(lambda: common.records().record_turn(
        who, common.latest_text(tracker), status="guided", intent=intent, topic=entry.id,
        detail={"step": step, "total": len(entry.steps)}))
    return [SlotSet("topic", entry.id), SlotSet("guide_step", float(step)),
            SlotSet("guide_total", float(len(entry.steps)))]


def current_guide(tracker: Tracker) -> tuple[Entry, int] | None:
    progress = common.within_budget(lambda: common.records().progress(common.sender(tracker)))
    if not progress:
        return None
    entry = common.entry_or_none(progress[0])
    return (entry, progress[1]) if entry else None


class GuideMove:
    """Moves within the running guide by `delta` steps (a mixin: rasa-sdk registers every
    Action subclass, so only the concrete actions below are Actions)."""

    delta = 0

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent, _ = common.latest_intent(tracker)
        try:
            guide = current_guide(tracker)
        except common.DependencyError:
            return common.apologise(dispatcher)
        if guide is None:
            dispatcher.utter_message(text=NO_GUIDE)
            return []
        entry, step = guide
        target = step + self.delta
        if target > len(entry.steps):
            return self._finished(dispatcher, tracker, entry)
        if target < 1:
            dispatcher.utter_message(text="Bạn đang ở bước đầu tiên rồi ạ.")
            target = 1
        return show_step(dispatcher, tracker, entry, target, intent)

    def _finished(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  entry: Entry) -> list[dict[str, Any]]:
        who = common.sender(tracker)
        common.record_safely(lambda: common.records().clear_progress(who))
        common.record_safely(lambda: common.records().record_turn(
            who, common.latest_text(tracker), status="guided", intent="next_step", topic=entry.id,
            detail={"finished": True}))
        dispatcher.utter_message(
            text=f"Bạn đã làm xong tất cả các bước của \"{entry.title}\". 🎉 Hướng dẫn có giúp "
                 "được bạn không?",
            buttons=[{"title": "Có, hữu ích", "payload": "/feedback_positive"},
                     {"title": "Chưa được", "payload": "/feedback_negative"}])
        return [SlotSet("guide_step", None), SlotSet("guide_total", None)]


class ActionNextStep(GuideMove, Action):
    delta = 1

    def name(self) -> str:
        return "action_next_step"


class ActionPreviousStep(GuideMove, Action):
    delta = -1

    def name(self) -> str:
        return "action_previous_step"


class ActionRepeatStep(GuideMove, Action):
    delta = 0

    def name(self) -> str:
        return "action_repeat_step"


class ActionResumeGuide(GuideMove, Action):
    """"tiếp tục" / /tiep: resume where the citizen stopped, even days later."""

    delta = 0

    def name(self) -> str:
        return "action_resume_guide"


class ActionStartGuide(Action):
    def name(self) -> str:
        return "action_start_guide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent, _ = common.latest_intent(tracker)
        if common.forged_payload(tracker):
            dispatcher.utter_message(text=common.FORGED_REPLY)
            return []
        topics = common.valid_topics(common.entity_values(tracker, "service"))
        topic = topics[0] if topics else None
        try:
            if topic is None and not common.is_button(tracker):
                result = common.within_budget(
                    lambda: common.knowledge().search(common.latest_text(tracker)))
                if result.status == "answered":
                    topic = result.top.id
                elif result.status == "clarify":
                    dispatcher.utter_message(text=WHICH, buttons=[
                        {"title": h.title[:60], "payload": common.payload("start_guide",
                                                                          service=h.id)}
                        for h in result.candidates])
                    return []
            topic = topic or tracker.get_slot("topic")
            entry = common.entry_or_none(topic)
        except common.DependencyError:
            return common.apologise(dispatcher)
        if entry is None:
            dispatcher.utter_message(text=WHICH)
            return []
        dispatcher.utter_message(text=f"Mình hướng dẫn bạn \"{entry.title}\" gồm "
                                      f"{len(entry.steps)} bước nhé.")
        return show_step(dispatcher, tracker, entry, 1, intent)


class ActionStuck(Action):
    """The current step's common problems and fixes, then the offer of a person."""

    def name(self) -> str:
        return "action_stuck"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            guide = current_guide(tracker)
        except common.DependencyError:
            return common.apologise(dispatcher)
        if guide is None:
            dispatcher.utter_message(
                text="Bạn đang gặp khó ở thủ tục nào ạ? Bạn mô tả lỗi đang thấy (ví dụ: "
                     "\"VNeID báo sai mật khẩu\") để mình tìm cách khắc phục nhé.")
            return []
        entry, step = guide
        problems = entry.steps[step - 1].problems
        if problems:
            fixes = "\n".join(f"• {p.problem}: {p.fix}" for p in problems)
            text = f"Ở Bước {step} người dân hay gặp:\n{fixes}"
        else:
            text = f"Bước {step} chưa có hướng dẫn xử lý lỗi."
        dispatcher.utter_message(text=text + "\n\nNếu vẫn chưa được, bạn có muốn gặp tổ công "
                                 "nghệ số cộng đồng nơi bạn ở không?",
                                 buttons=common.yes_no_buttons())
        common.record_safely(lambda: common.records().record_turn(
            common.sender(tracker), common.latest_text(tracker), status="guided", intent="stuck",
            topic=entry.id, detail={"step": step, "stuck": True}))
        return [SlotSet("human_offered", True)]
