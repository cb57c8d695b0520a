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
