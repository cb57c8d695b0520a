"""Short full garbage collections in long-running servers.

CPython's full (generation 2) collection walks every object the process tracks. Once a
server has loaded its models (the embedding model's torch modules and tokenizer, the search
index's passages), those objects live as long as the process, yet every full collection
walks them again, holding the GIL: in the gateway benchmark's 50-citizen load the action
server stopped for 280-300 ms twice in 30 seconds (timed with a `gc.callbacks` probe), every
search in flight with it. `gc.freeze()` moves every existing object to a permanent
generation that collections skip, so later ones walk only what came after.

`freeze_long_lived()` is called when a server has loaded its models and again after a
reload (a newly published index): it unfreezes and collects first, so what was replaced and
any garbage of the loading are freed, not kept forever. That one collection is the only
long pause, off the request path (the loading thread), once per load.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)
_lock = threading.Lock()


def freeze_long_lived(reason: str) -> int:
    """Collect, then freeze every object that exists; returns how many were frozen."""
    with _lock:
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        frozen = gc.get_freeze_count()
    log.info("garbage collector: %d long-lived objects frozen after %s (%.0f ms)",
             frozen, reason, (time.perf_counter() - started) * 1000)
    return frozen
