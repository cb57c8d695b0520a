"""Speed-ups for Rasa 3.6's server, installed when Rasa loads our NLU components.

1. Rasa checks every action-server response against a JSON schema with `jsonschema.validate`,
which first validates the schema itself against the JSON Schema meta-schema, on every call.
Profiling a 20-conversation load (py-spy on `rasa run`) showed it as the largest single
item of the server's CPU time. The schema never changes, so it is checked once and its validator kept: the
responses are validated exactly as before (the same schema, the same errors).

2. Every event of a conversation is rebuilt from its dict whenever the tracker is read
(`InMemoryTrackerStore` deserialises the whole conversation for each message), and
`Event.resolve_by_type` finds each event's class by walking every subclass of `Event` again
(`all_subclasses`, with `inspect.isabstract` on each). In a py-spy profile of `rasa run`
under the gateway benchmark's 50 conversations that walk was about 8% of the server's CPU,
growing with the length of the conversation. The class of a type name is the same for the
life of the process, so it is looked up once; unknown names (and the "topic" legacy name)
still go the original way.
"""

from __future__ import annotations

from typing import Any

_VALIDATOR: Any = None


def _validate_action_result(self, result: dict[str, Any]) -> bool:
    global _VALIDATOR
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.shared.constants import DOCS_BASE_URL

    if _VALIDATOR is None:
        schema = self.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _VALIDATOR = cls(schema)
    try:
        _VALIDATOR.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your "
                      "response from the Action endpoint is valid. For more information about "
                      f"the format visit {DOCS_BASE_URL}/custom-actions")
        raise


_EVENT_CLASSES: dict[str, Any] = {}
_original_resolve_by_type: Any = None


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    cls = _EVENT_CLASSES.get(type_name)
    if cls is None:
        cls = _original_resolve_by_type(type_name, default)
        if cls is not None and cls is not default:
            _EVENT_CLASSES[type_name] = cls
    return cls


def install() -> None:
    global _original_resolve_by_type
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = _validate_action_result
    if _original_resolve_by_type is None:
        _original_resolve_by_type = Event.resolve_by_type
        Event.resolve_by_type = staticmethod(_resolve_by_type)
