"""Memory of a conversation in Rasa's tracker store: live (nlu.tracker_store.LiveTrackerStore
keeps `hot_conversations` of them) and serialised (its cold tier, and Rasa's in-memory store);
and how long a full garbage collection takes with that many live conversations (it stops the
server: the price of keeping them live).

Runs in the Rasa environment: `.venv-rasa/bin/python -m benchmarks.tracker_memory`
(part of `make bench`).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # core.settings needs pydantic 2
QUESTION = "lam sao kich hoat vneid muc 2 cho nguoi gia"
ANSWER = "Bước 1: mở ứng dụng VNeID, chọn Kích hoạt tài khoản định danh điện tử. " * 6


def conversation(domain: Domain, turns: int) -> DialogueStateTracker:
    """A conversation shaped like the assistant's: each turn a parsed question, the answer
    action, an answer with buttons, a slot, listening again."""
    t = DialogueStateTracker("bench", domain.slots)
    for event in (ActionExecuted("action_session_start"), SessionStarted(),
                  ActionExecuted("action_listen")):
        t.update(event)
    parse = {"intent": {"name": "ask_procedure", "confidence": 0.9}, "entities": [],
             "text": QUESTION, "intent_ranking": [{"name": "ask_procedure", "confidence": 0.9}] * 10}
    for _ in range(turns):
        t.update(UserUttered(QUESTION, parse["intent"], [], parse_data=parse))
        t.update(ActionExecuted("action_answer"))
        t.update(BotUttered(ANSWER, {"buttons": [{"title": "Bước tiếp", "payload": "/next"}] * 3}))
        t.update(SlotSet("topic", "EID03"))
        t.update(ActionExecuted("action_listen"))
    return t


def main() -> None:
    domain = Domain.load(PROJECT_ROOT / "nlu" / "domain.yml")
    print("\nTracker store memory per conversation (50 conversations each)")
    print(f"{'turns':>6}{'events':>8}{'live KB':>10}{'serialised KB':>15}{'10,000 live MB':>16}")
    for turns in (3, 13, 30):
        tracemalloc.start()
        trackers = [conversation(domain, turns) for _ in range(50)]
        live = tracemalloc.get_traced_memory()[0] / 50 / 1024
        tracemalloc.stop()
        serialised = len(InMemoryTrackerStore.serialise_tracker(trackers[0]).encode()) / 1024
        print(f"{turns:>6}{len(trackers[0].events):>8}{live:>10.1f}{serialised:>15.1f}"
              f"{live * 10_000 / 1024:>16.0f}")
    print("\nFull garbage collection with live conversations of 13 turns (best of 3; the rest "
          "of the process frozen, as `rasa run` is after loading: nlu/rasa_speedups.py)")
    gc.collect()
    gc.freeze()
    for count in (1_000, 2_000, 5_000, 10_000):
        trackers = [conversation(domain, 13) for _ in range(count)]
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            gc.collect()
            best = min(best, time.perf_counter() - started)
        print(f"{count:>7,} live conversations: {best * 1000:6.0f} ms")
        del trackers
        gc.collect()


if __name__ == "__main__":
    main()
