"""Run in the Rasa environment: the speed-ups (nlu/rasa_speedups.py) keep validating
action-server responses on the real RemoteAction and resolve event names to the same classes
as Rasa's own walk; overlapping entities are reduced to the most
confident one per span (nlu.components.OverlappingEntityFilter)."""

from __future__ import annotations

import pytest

from tests.rasa_env import run_in_rasa_env

pytestmark = pytest.mark.slow

SCRIPT = """
import nlu.components  # installs the speed-up, as `rasa run` does when loading the model
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from nlu import rasa_speedups
assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
action = RemoteAction.__new__(RemoteAction)
assert action._validate_action_result({"events": [{"event": "slot", "name": "topic", "value": "EID03"}],
                                       "responses": [{"text": "xin chao"}]})
for bad in ({"events": "nope"}, {"events": [{"event": "slot", "name": 3}]}, {"responses": [1]}):
    try:
        action._validate_action_result(bad)
    except ValidationError as error:
        assert "Failed to validate Action server response" in error.message
    else:
        raise SystemExit(f"accepted {bad}")
from rasa.shared.core.events import Event, UserUttered, SlotSet, ActionExecuted
from rasa.shared.utils.common import all_subclasses
assert rasa_speedups._original_resolve_by_type is not None
for cls in all_subclasses(Event):  # the cached lookup answers as the original walk does
    assert Event.resolve_by_type(cls.type_name) is rasa_speedups._original_resolve_by_type(cls.type_name)
    assert Event.resolve_by_type(cls.type_name) is Event.resolve_by_type(cls.type_name)
assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("slot") is SlotSet
assert Event.resolve_by_type("no_such_event", default=ActionExecuted) is ActionExecuted
assert Event.resolve_by_type("topic") is None
try:
    Event.resolve_by_type("no_such_event")
except ValueError:
    pass
else:
    raise SystemExit("an unknown event name resolved")
event = Event.from_parameters({"event": "slot", "name": "topic", "value": "EID03"})
assert isinstance(event, SlotSet) and event.value == "EID03"
from nlu.components import disjoint_entities
same_span = [{"start": 0, "end": 4, "entity": "service", "confidence_entity": 0.6},
             {"start": 0, "end": 4, "entity": "aspect", "confidence_entity": 0.9},
             {"start": 2, "end": 9, "entity": "location", "confidence_entity": 0.7},
             {"start": 10, "end": 14, "entity": "service", "confidence_entity": 0.5}]
assert [e["entity"] for e in disjoint_entities(same_span)] == ["aspect", "service"]
print("ok")
"""


def test_action_responses_are_still_validated_and_entities_disjoint() -> None:
    run_in_rasa_env(SCRIPT)


KEPT_SESSION = """
import asyncio
import nlu.components  # installs the speed-ups
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig
from nlu import rasa_speedups

rasa_speedups.KEEPALIVE_SECONDS = 0.5
peers = []

async def webhook(request):
    peers.append(request.transport.get_extra_info("peername"))
    return web.json_response({"events": [], "responses": [{"text": (await request.json())["n"]}]})

async def main():
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    for n in range(5):  # one action call after another: one connection
        reply = await endpoint.request(json={"n": str(n)}, method="post")
        assert reply["responses"][0]["text"] == str(n), reply
    assert len(set(peers)) == 1, peers
    async with endpoint.session() as session:  # Rasa's other callers still work
        async with session.post(endpoint.url, json={"n": "x"}) as r:
            assert (await r.json())["responses"][0]["text"] == "x"
    assert not session.closed  # kept for the next call
    await asyncio.sleep(1.0)  # idle past the keep-alive: the client drops the connection
    await endpoint.request(json={"n": "late"}, method="post")
    assert len(set(peers)) == 2, peers
    results = await asyncio.gather(*(endpoint.request(json={"n": str(i)}, method="post")
                                     for i in range(20)))  # concurrent calls share the pool
    assert [r["responses"][0]["text"] for r in results] == [str(i) for i in range(20)]
    await runner.cleanup()

asyncio.run(main())
print("ok")
"""


def test_action_calls_reuse_a_kept_alive_connection() -> None:
    run_in_rasa_env(KEPT_SESSION)


LOG_PRIVACY = """
import io, logging
logging.basicConfig(level=logging.INFO)  # as `rasa run` configures its handlers first
stream = io.StringIO()
logging.getLogger().handlers[0].stream = stream
import nlu.components  # installs the filter, as loading the model does
import structlog
from rasa.utils.log_utils import configure_structlog
configure_structlog(logging.INFO)
structlog.get_logger().error("rest.message.received.timeout",
                             text="mật khẩu của tôi là Abc12345, số căn cước 001203004567")
logging.getLogger("rasa.core.processor").error("user 0912345678 wrote: OTP 482913")
logging.getLogger("rasa.x").info("Starting Rasa server on %s", "http://127.0.0.1:5005")
out = stream.getvalue()
for secret in ("Abc12345", "001203004567", "0912345678", "482913"):
    assert secret not in out, out
assert "rest.message.received.timeout" in out and "http://127.0.0.1:5005" in out, out
print("ok")
"""


def test_personal_data_is_redacted_from_rasas_log() -> None:
    run_in_rasa_env(LOG_PRIVACY)


QUICK_VALIDATION = """
import nlu.components  # installs the speed-ups
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (ActionExecuted, ActiveLoop, AllSlotsReset, BotUttered,
    FollowupAction, Restarted, SessionStarted, SlotSet, UserUttered, ConversationPaused)
from nlu import rasa_speedups

action = RemoteAction.__new__(RemoteAction)
schema = action.action_response_format_spec()
full = validator_for(schema)(schema)
action._validate_action_result({"events": []})  # builds the validators
assert len(rasa_speedups._BY_EVENT) == 23, sorted(rasa_speedups._BY_EVENT)

good = [e.as_dict() for e in (
    SlotSet("topic", "EID03"), SlotSet("guide_step", 2.0), ActionExecuted("action_listen"),
    BotUttered("xin chào", {"buttons": [{"title": "Có", "payload": "/affirm"}]}),
    UserUttered("chào", {"name": "greet", "confidence": 1.0}), FollowupAction("action_x"),
    Restarted(), SessionStarted(), ActiveLoop("escalation_form"), ActiveLoop(None),
    AllSlotsReset(), ConversationPaused())]
results = [{"events": good, "responses": [{"text": "a"}, {"buttons": []}]}, {}, {"events": []},
           {"responses": []}]
bad = [{"events": "nope"}, {"events": [{"event": "slot", "name": 3}]}, {"responses": [1]},
       {"events": [{"event": "no_such_event"}]}, {"events": [{"name": "x"}]}, {"events": [3]},
       {"events": [{"event": "slot", "name": "x", "timestamp": "yesterday"}]},
       {"events": [{"event": "action", "name": 5}]}, {"responses": None}, [], "x",
       {"events": [{"event": "user", "text": 7}]}, {"events": [{"event": "bot", "metadata": 1}]},
       {"events": [{"event": ["slot"]}]}, {"events": [{"event": None}]}]
for r in results:
    assert full.is_valid(r) and rasa_speedups._valid_by_event(r), r  # valid: quick path says so
for r in bad:
    assert not full.is_valid(r), r
    assert not rasa_speedups._valid_by_event(r), r  # never valid by the quick path alone
for e in good:  # one event alone, and each common field broken
    assert rasa_speedups._valid_by_event({"events": [e]})
    for field, wrong in (("timestamp", "now"), ("metadata", [1]), ("event", 1)):
        broken = {**e, field: wrong}
        assert full.is_valid({"events": [broken]}) == rasa_speedups._valid_by_event({"events": [broken]}), broken
print("ok")
"""


def test_quick_validation_agrees_with_rasas_full_schema() -> None:
    run_in_rasa_env(QUICK_VALIDATION)


GC_FREEZE = """
import asyncio, gc, glob, os
from rasa.core.agent import Agent
model = max(glob.glob("nlu/models/*.tar.gz"), key=os.path.getmtime)
agent = Agent.load(model)  # imports nlu.components, which installs the speed-ups
from nlu import rasa_speedups
assert hasattr(Agent.handle_message, "__wrapped__") and hasattr(Agent.load_model, "__wrapped__")
assert gc.get_freeze_count() == 0

async def main():
    from rasa.core.channels.channel import UserMessage, CollectingOutputChannel
    out = CollectingOutputChannel()
    await agent.handle_message(UserMessage("xin chao", out, sender_id="gc-test"))
    tracker = await agent.tracker_store.retrieve("gc-test")  # the message was handled
    assert tracker.latest_message.intent.get("name"), tracker.latest_message
    frozen = gc.get_freeze_count()
    assert frozen > 100_000, frozen  # the loaded model's objects
    agent.load_model(model)  # a model replaced: the old one is collectable again
    assert gc.get_freeze_count() == 0
    await agent.handle_message(UserMessage("xin chao", out, sender_id="gc-test-2"))
    assert gc.get_freeze_count() > 100_000

asyncio.run(main())
print("ok")
"""


def test_the_loaded_model_is_frozen_out_of_full_collections() -> None:
    """A full collection in `rasa run` walked the whole model (320-340 ms pauses under load):
    the first message after a load freezes it; loading another model unfreezes."""
    run_in_rasa_env(GC_FREEZE)
