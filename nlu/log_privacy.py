"""Personal data out of the Rasa server's log.

Rasa logs a citizen's message at ERROR level in some paths: the REST channel's
`rest.message.received.timeout` (the gateway gave up waiting and closed the request) and
`rest.message.received.failure` include the raw text, and so would any Rasa log line at
DEBUG. A filter on the log handlers rewrites every record that holds personal data (citizen
ID numbers, phone numbers, OTPs, passwords, e-mail addresses; core/redaction.py, the same
rules as the gateway's) before it is written. Rasa renders its structured events as JSON
with non-ASCII characters escaped, so those are decoded, redacted field by field and written
back as JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from core.redaction import find_personal_data, redact


def _has_personal_data(text: str) -> bool:
    return any(find_personal_data(text).values())


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value) if _has_personal_data(value) else value
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


def redact_log_message(message: str) -> str | None:
    """The message with personal data redacted, or None when it holds none."""
    if message.startswith("{"):
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if isinstance(data, dict):
            cleaned = _redact_value(data)
            return None if cleaned == data else json.dumps(cleaned, ensure_ascii=False)
    return redact(message) if _has_personal_data(message) else None


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        cleaned = redact_log_message(message)
        if cleaned is not None:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to every handler of the root logger (records from all loggers pass
    through them); idempotent."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactPersonalData) for f in handler.filters):
            handler.addFilter(RedactPersonalData())
