"""Speed-ups for Rasa 3.6's server, installed when Rasa loads our NLU components.

1. Rasa checks every action-server response against a JSON schema with `jsonschema.validate`,
which first validates the schema itself against the JSON Schema meta-schema, on every call.
Profiling a 20-conversation load (py-spy on `rasa run`) showed it as the largest single
item of the server's CPU time. The schema never changes, so it is checked once and its validator kept: the
responses are validated exactly as before (the same schema, the same errors). Under the
50-conversation gateway load the validation itself was still about 5% of the server's CPU,
mostly trying each event against all 23 `oneOf` branches of Rasa's event schema; each event is
now checked against the branch of its own name first (the same verdict: see
`_event_validators`), and only a response not shown valid that way goes through the full
schema, which then reports the error as before.

2. Every event of a conversation is rebuilt from its dict whenever the tracker is read
(`InMemoryTrackerStore` deserialises the whole conversation for each message), and
`Event.resolve_by_type` finds each event's class by walking every subclass of `Event` again
(`all_subclasses`, with `inspect.isabstract` on each). In a py-spy profile of `rasa run`
under the gateway benchmark's 50 conversations that walk was about 8% of the server's CPU,
growing with the length of the conversation. The class of a type name is the same for the
life of the process, so it is looked up once; unknown names (and the "topic" legacy name)
still go the original way.

3. `EndpointConfig.request` opens a new aiohttp `ClientSession` (and so a new TCP connection
to the action server) for every action call: about 7% of the server's CPU in the same
profile, plus a connection accepted by the action server each time. Sessions are now kept,
one per event loop and endpoint settings, with their connections kept alive for 2 s of
idleness: shorter than any keep-alive of the servers they talk to (the action server's
Sanic keeps 120 s), so a connection is never reused just as the server closes it.
`async with endpoint.session()` still works; leaving the block no longer closes the
session.

4. A full (generation 2) garbage collection walks every object the process holds, and after
loading most of them belong to the model (TensorFlow graphs, the domain, the featurizers'
vocabularies), which live as long as the model does. Such a collection stopped the server's
event loop, and every conversation in flight, for 320-340 ms twice in a 30-second run of the
gateway benchmark's 50-citizen load (timed with a `gc.callbacks` probe), which was what its
p95 was made of. The first message after a model is loaded now collects once, then
freezes what exists (`gc.freeze()`, which only moves the collector's lists): later
collections walk only newer objects. Loading another model first unfreezes, so the old
model's cycles can be collected. (What is created later, the live trackers of
nlu/tracker_store.py above all, is still walked: that store keeps only 2,000 live.)
"""

from __future__ import annotations

import atexit
import gc
from typing import Any

from core.gc_pauses import freeze_long_lived

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
        _BY_EVENT.update(_event_validators(schema, cls))
    if _BY_EVENT and _valid_by_event(result):
        return True
    try:  # not shown valid by the quick path: the full schema decides, with its own errors
        _VALIDATOR.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your "
                      "response from the Action endpoint is valid. For more information about "
                      f"the format visit {DOCS_BASE_URL}/custom-actions")
        raise


_BY_EVENT: dict[str, Any] = {}


def _event_validators(schema: dict[str, Any], cls: Any) -> dict[str, Any]:
    """One validator per event name: the event schema's common part with the one `oneOf`
    branch for that name. Every branch of Rasa's event schema pins `event` to its own name
    (`{"const": name}`, names unique, `event` required), so an event fails every other
    branch and matches exactly one (what `oneOf` asks) iff it matches the branch of its own
    name: checking only that branch gives the same verdict without trying all 23. If the
    schema ever has another shape, the quick path is off (an empty dict)."""
    try:
        event_schema = schema["properties"]["events"]["items"]
        branches = event_schema["oneOf"]
        names = [b["properties"]["event"]["const"] for b in branches]
    except (KeyError, TypeError):
        return {}
    if len(set(names)) != len(names) or "event" not in event_schema.get("required", []):
        return {}
    common = {k: v for k, v in event_schema.items() if k != "oneOf"}
    return {name: cls({"allOf": [common, branch]}) for name, branch in zip(names, branches, strict=True)}


def _valid_by_event(result: Any) -> bool:
    """True only when `result` is valid under the response schema (False: not shown)."""
    if not isinstance(result, dict):
        return False
    responses = result.get("responses", [])
    if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
        return False
    events = result.get("events", [])
    if not isinstance(events, list):
        return False
    for event in events:
        name = event.get("event") if isinstance(event, dict) else None
        validator = _BY_EVENT.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


KEEPALIVE_SECONDS = 2.0
_SESSIONS: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # settings -> (event loop, session)


class _KeptSession:
    """What `EndpointConfig.session()` returns: enters into a session kept for the running
    event loop (a session cannot move between loops)."""

    def __init__(self, endpoint: Any):
        self.endpoint = endpoint

    async def __aenter__(self) -> Any:
        import asyncio

        import aiohttp
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        e = self.endpoint
        loop = asyncio.get_running_loop()
        auth = (e.basic_auth or {}).get("username"), (e.basic_auth or {}).get("password")
        key = (tuple(sorted((e.headers or {}).items())), auth)
        kept = _SESSIONS.get(key)
        if kept is not None and kept[0] is loop and not kept[1].closed:
            return kept[1]
        if kept is not None and kept[1].connector is not None:  # another loop's (tests)
            kept[1].connector._close()
        if not _SESSIONS:
            atexit.register(_close_sessions)
        session = aiohttp.ClientSession(
            headers=e.headers,
            auth=aiohttp.BasicAuth(*auth) if e.basic_auth else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        _SESSIONS[key] = (loop, session)
        return session

    async def __aexit__(self, *_: Any) -> bool:
        return False


def _close_sessions() -> None:
    """At exit, after the server's loop stopped: close the kept sessions' connections, so
    that aiohttp does not report them as unclosed (an ERROR line in Rasa's log)."""
    for _loop, session in _SESSIONS.values():
        connector = session.connector
        if connector is not None and not connector.closed:
            connector._close()  # the synchronous part of `await connector.close()`
    _SESSIONS.clear()


def _kept_session(self: Any) -> _KeptSession:
    return _KeptSession(self)


_EVENT_CLASSES: dict[str, Any] = {}
_original_resolve_by_type: Any = None


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    cls = _EVENT_CLASSES.get(type_name)
    if cls is None:
        cls = _original_resolve_by_type(type_name, default)
        if cls is not None and cls is not default:
            _EVENT_CLASSES[type_name] = cls
    return cls


_freeze_pending = True


def _freezing_handle_message(original: Any) -> Any:
    async def handle_message(self: Any, message: Any) -> Any:
        global _freeze_pending
        if _freeze_pending and self.is_ready():
            _freeze_pending = False
            # once: the loading's garbage freed, the model's objects out of later collections
            freeze_long_lived("loading the Rasa model")
        return await original(self, message)

    handle_message.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_message


def _unfreezing_load_model(original: Any) -> Any:
    def load_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _freeze_pending
        gc.unfreeze()  # the model being replaced becomes collectable again
        _freeze_pending = True
        return original(self, *args, **kwargs)

    load_model.__wrapped__ = original  # type: ignore[attr-defined]
    return load_model


def install() -> None:
    global _original_resolve_by_type
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.shared.core.events import Event
    from rasa.utils.endpoints import EndpointConfig

    RemoteAction._validate_action_result = _validate_action_result
    EndpointConfig.session = _kept_session
    if _original_resolve_by_type is None:
        _original_resolve_by_type = Event.resolve_by_type
        Event.resolve_by_type = staticmethod(_resolve_by_type)
    if not hasattr(Agent.handle_message, "__wrapped__"):
        Agent.handle_message = _freezing_handle_message(Agent.handle_message)
        Agent.load_model = _unfreezing_load_model(Agent.load_model)
