"""Shared pieces of the actions: lazily built services, a time budget, buttons, replies.

Nothing heavy is built at import time: the knowledge service (index and model) and the
records store are created on first use and reused by every request of the process.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.records import ConversationRecords
from core.redaction import pseudonym
from core.settings import get_settings
from knowledge.answers import ASPECTS
from knowledge.schema import ALL_TOPIC_IDS, Entry

log = logging.getLogger(__name__)
T = TypeVar("T")

TIME_BUDGET_SECONDS = 3.0
ASPECT_VALUES = set(ASPECTS)

_lock = threading.Lock()
_service: Any = None
_records: ConversationRecords | None = None
_cases: Any = None
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb")


class DependencyError(RuntimeError):
    """The knowledge service or the database failed or was too slow."""


def knowledge():
    """The process-wide KnowledgeService (built on first use)."""
    global _service
    with _lock:
        if _service is None:
            from knowledge.service import KnowledgeService

            _service = KnowledgeService.from_settings(get_settings(), server=True)
        return _service


def records() -> ConversationRecords:
    global _records
    with _lock:
        if _records is None:
            _records = ConversationRecords(get_settings().resolved_database_url)
        return _records


def cases():
    """Routing of cases to teams (teams/cases.py), one per process."""
    global _cases
    url = records().url  # the same database as the records (tests inject theirs)
    with _lock:
        if _cases is None or _cases.url != url:
            from teams.cases import Cases

            _cases = Cases(url)
        return _cases


def set_services(service: Any, store: ConversationRecords) -> None:
    """Inject services (tests, the benchmark)."""
    global _service, _records
    with _lock:
        _service, _records = service, store


def within_budget(fn: Callable[[], T], seconds: float | None = None) -> T:
    """Run fn in the worker pool; DependencyError if it fails or takes longer than allowed."""
    seconds = TIME_BUDGET_SECONDS if seconds is None else seconds
    future = _pool.submit(fn)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError as exc:
        raise DependencyError(f"took longer than {seconds:.0f} s") from exc
    except DependencyError:
        raise
    except Exception as exc:  # any failure of a dependency becomes one apology path
        raise DependencyError(f"{type(exc).__name__}: {exc}") from exc


def record_safely(fn: Callable[[], Any]) -> Any:
    """Recording must never break a reply: failures are logged (without personal data)."""
    try:
        return within_budget(fn, 2.0)
    except DependencyError as exc:
        log.error("could not record the turn: %s", exc)
        return None


def payload(intent: str, **entities: Any) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def person_button() -> dict[str, str]:
    return {"title": "Gặp người hỗ trợ", "payload": "/request_human"}


def topic_buttons(topic: str) -> list[dict[str, str]]:
    return [
        {"title": "Hướng dẫn từng bước", "payload": payload("start_guide", service=topic)},
        {"title": "Giấy tờ cần có", "payload": payload("ask_procedure", service=topic,
                                                        aspect="documents")},
        {"title": "Lệ phí", "payload": payload("ask_procedure", service=topic, aspect="fee")},
        person_button(),
    ]


def yes_no_buttons() -> list[dict[str, str]]:
    return [{"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]


APOLOGY = ("Xin lỗi, hệ thống tra cứu đang chậm hoặc gặp sự cố. Bạn thử lại sau ít phút, "
           "hoặc mình chuyển bạn đến tổ công nghệ số cộng đồng nhé?")


def apologise(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    from rasa_sdk.events import SlotSet

    dispatcher.utter_message(text=APOLOGY, buttons=yes_no_buttons())
    return [SlotSet("human_offered", True)]


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> tuple[str | None, float | None]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def is_button(tracker: Tracker) -> bool:
    return latest_text(tracker).startswith("/")


def entity_values(tracker: Tracker, name: str) -> list[str]:
    return [str(e.get("value")) for e in tracker.latest_message.get("entities", [])
            if e.get("entity") == name and e.get("value") is not None]


def valid_topics(values: list[str]) -> list[str]:
    return [v.upper() for v in values if v.upper() in ALL_TOPIC_IDS]


def requested_aspect(tracker: Tracker) -> str | None:
    for value in entity_values(tracker, "aspect"):
        if value in ASPECT_VALUES:
            return value
    return None


def forged_payload(tracker: Tracker) -> bool:
    """A button payload naming a topic or aspect that does not exist."""
    if not is_button(tracker):
        return False
    services = entity_values(tracker, "service")
    aspects = entity_values(tracker, "aspect")
    return (bool(services) and not valid_topics(services)) or any(
        a not in ASPECT_VALUES for a in aspects)


FORGED_REPLY = ("Xin lỗi, lựa chọn này không còn hợp lệ. Bạn gõ câu hỏi của mình, hoặc gõ "
                "\"menu\" để xem mình giúp được gì nhé.")


def sender(tracker: Tracker) -> str:
    return tracker.sender_id or "anonymous"


def log_id(tracker: Tracker) -> str:
    return pseudonym(sender(tracker))


def entry_or_none(topic: str | None) -> Entry | None:
    if not topic:
        return None
    return knowledge().get_entry(topic)
