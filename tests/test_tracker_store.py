"""Run in the Rasa environment: nlu.tracker_store.LiveTrackerStore answers as Rasa's
InMemoryTrackerStore does (same trackers after the same saves), without rebuilding a live
conversation, and forgets a turn that was never saved."""

from __future__ import annotations

import pytest

from tests.rasa_env import run_in_rasa_env

pytestmark = pytest.mark.slow

SCRIPT = """
import asyncio
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import EventVerbosity
from rasa.utils.endpoints import EndpointConfig
from nlu.tracker_store import LiveTrackerStore

domain = Domain.load("nlu/domain.yml")


class Broker(EventBroker):
    def __init__(self):
        self.published = []

    def publish(self, event):
        self.published.append(event)


def turn(tracker, text, topic):
    tracker.update(UserUttered(text, {"name": "ask_procedure", "confidence": 0.9}))
    tracker.update(ActionExecuted("action_answer"))
    tracker.update(BotUttered(f"answer to {text}"))
    tracker.update(SlotSet("topic", topic))
    tracker.update(ActionExecuted("action_listen"))


def session(tracker):
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))


def state(tracker):
    data = tracker.current_state(EventVerbosity.ALL)
    for e in data["events"]:
        e.pop("timestamp", None)
    data.pop("latest_event_time", None)
    return data


async def main():
    store = TrackerStore.create(
        EndpointConfig(type="nlu.tracker_store.LiveTrackerStore", hot_conversations=2), domain)
    assert isinstance(store, LiveTrackerStore) and store.hot_conversations == 2
    store.event_broker = broker = Broker()
    reference = InMemoryTrackerStore(domain)
    for s in (store, reference):
        for sender in ("a", "b", "c"):  # three conversations, two kept live
            t = await s.get_or_create_tracker(sender)
            session(t)
            turn(t, f"hello {sender}", "EID03")
            await s.save(t)
    assert sorted(await store.keys()) == ["a", "b", "c"]
    assert "a" in store._cold and set(store._hot) == {"b", "c"}
    for sender in ("a", "b", "c"):
        assert state(await store.retrieve(sender)) == state(await reference.retrieve(sender))
    assert await store.retrieve("nobody") is None

    # the first retrieval cuts the tracker to its last session (the action_listen before
    # the first session start counts as one, for Rasa); once that is saved back, the live
    # tracker is handed out as it is: no rebuild
    live = await store.retrieve("c")
    await store.save(live)
    assert live is await store.retrieve("c")
    turn(live, "second", "EID05")
    await store.save(live)
    assert (await store.retrieve("c")).get_slot("topic") == "EID05"

    # a turn that changed the tracker but never saved it is forgotten, as it is with
    # a store that deserialises each time
    broken = await store.retrieve("c")
    turn(broken, "never saved", "HT01")
    again = await store.retrieve("c")
    assert again is not broken and again.get_slot("topic") == "EID05"
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["hello c", "second"]

    # an expired session: only the last session comes back; saving it drops the earlier ones
    for s in (store, reference):
        t = await s.retrieve("b")
        session(t)
        turn(t, "next day", "EID05")
        await s.save(t)
    last = await store.retrieve("b")
    assert state(last) == state(await reference.retrieve("b"))
    assert [e.text for e in last.events if isinstance(e, UserUttered)] == ["next day"]
    assert len((await store.retrieve_full_tracker("b")).events) > len(last.events)
    await store.save(last)
    assert (await store.retrieve_full_tracker("b")).events == last.events

    # the event broker gets each new event once
    users = [e["text"] for e in broker.published if e["event"] == "user"]
    assert users == ["hello a", "hello b", "hello c", "second", "next day"], users

    # a new model's domain: live trackers are serialised, then rebuilt with it
    store.domain = domain
    assert not store._hot and (await store.retrieve("c")).get_slot("topic") == "EID05"

asyncio.run(main())
print("ok")
"""


def test_live_tracker_store_answers_as_rasas_in_memory_store() -> None:
    run_in_rasa_env(SCRIPT)
