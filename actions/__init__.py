"""The Rasa custom action server (rasa-sdk), using `knowledge` in-process.

Run: `python -m rasa_sdk --actions actions`. rasa-sdk registers every Action subclass in
these modules. The knowledge index and model load once per process, in a background thread
started here, so the first citizen does not wait for them (set GOVBOT_ACTIONS_WARMUP=0 to
skip, as the unit tests do). May import `knowledge` and `core`, never `bot`.
"""

import os
import threading


def _warm_up() -> None:
    from actions import common

    try:
        common.knowledge()
    except Exception as exc:  # reported again, with the fix, on the first request
        import logging

        logging.getLogger(__name__).error("knowledge service not ready: %s", exc)


if os.environ.get("GOVBOT_ACTIONS_WARMUP", "1") != "0":
    threading.Thread(target=_warm_up, name="kb-warm-up", daemon=True).start()
