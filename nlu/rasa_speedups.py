"""A speed-up for Rasa 3.6's server, installed when Rasa loads our NLU component.

Rasa checks every action-server response against a JSON schema with `jsonschema.validate`,
which first validates the schema itself against the JSON Schema meta-schema, on every call.
Profiling a 20-conversation load (py-spy on `rasa run`) showed it as the largest single
item of the server's CPU time. The schema never changes, so it is checked once and its validator kept: the
responses are validated exactly as before (the same schema, the same errors).
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


def install() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
