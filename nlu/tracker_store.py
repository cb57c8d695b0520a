"""A Rasa tracker store that keeps recent conversations as live objects between turns.

Rasa's `InMemoryTrackerStore` keeps every conversation as JSON text: each message deserialises
the whole conversation, replays every event into a new tracker, and serialises it all again
at the end of the turn. Under the gateway benchmark's 50 conversations that was about 10% of
the Rasa server's CPU in a py-spy profile, and it grows with the length of a conversation.

`LiveTrackerStore` keeps the tracker object of the `hot_conversations` most recently active
conversations and hands it out as it is; older conversations are serialised (as Rasa's store
keeps them) and become live again on their next turn. What Rasa sees is the same as with
`InMemoryTrackerStore`:

- `retrieve` returns the last conversation session only, as Rasa's in-memory store does
  (Rasa counts the `action_listen` before the first session start as a session of its
  own): the tracker is then cut once, and saving it back drops the earlier sessions;
- a turn that changed a tracker but never saved it (an error half-way) is forgotten: the
  next `retrieve` gives the tracker as last saved, rebuilt from its saved events;
- new events go to the event broker when one is configured.

Live trackers cost the garbage collector: every full collection walks their objects, about
30 ms per 1,000 conversations of 13 turns (`benchmarks/tracker_memory.py`), stopping the
server meanwhile. `nlu/endpoints.yml` keeps 2,000 live (a 2-core process answers about 35
messages a second, so that is every conversation of the last minute or more); the rest are
serialised strings, which the collector does not walk.

It lives in one process, like `InMemoryTrackerStore`: production with several Rasa
processes uses Rasa's SQL or Redis tracker store (see nlu/endpoints.yml).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from rasa.core.tracker_store import SerializedTrackerAsText, TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker, TrackerEventDiffEngine

log = logging.getLogger(__name__)


def _has_earlier_sessions(tracker: DialogueStateTracker) -> bool:
    """Whether a session starts after the first event (Rasa then splits the tracker)."""
    return any(isinstance(e, ActionExecuted) and e.action_name == ACTION_SESSION_START_NAME
               for i, e in enumerate(tracker.events) if i)


class _Saved:
    """A live tracker and what it held when it was saved."""

    __slots__ = ("tracker", "length", "last")

    def __init__(self, tracker: DialogueStateTracker):
        self.tracker = tracker
        self.length = len(tracker.events)
        self.last = tracker.events[-1] if tracker.events else None

    def unchanged(self) -> bool:
        events = self.tracker.events
        return len(events) == self.length and (events[-1] if events else None) is self.last

    def _saved_end(self, events: list[Any]) -> int | None:
        """Where the saved events end in `events` (None: the saved last event is gone, a
        bounded history rolled past it)."""
        if self.last is None:
            return 0
        for i in range(len(events) - 1, -1, -1):
            if events[i] is self.last:
                return i + 1
        return None

    def saved_events(self) -> list[Any]:
        """The events as saved (a turn that did not save appended after them)."""
        events = list(self.tracker.events)
        end = self._saved_end(events)
        return events if end is None else events[:end]

    def new_events(self) -> list[Any]:
        """The events appended since the save."""
        events = list(self.tracker.events)
        end = self._saved_end(events)
        return events if end is None else events[end:]


class LiveTrackerStore(TrackerStore, SerializedTrackerAsText):
    """In-process tracker store keeping recent conversations live (see the module doc)."""

    def __init__(self, domain: Domain | None = None, event_broker: Any = None,
                 host: str | None = None, hot_conversations: int = 2_000, **kwargs: Any):
        self._hot: OrderedDict[str, _Saved] = OrderedDict()  # least recently used first
        self._cold: dict[str, str] = {}  # serialised, as InMemoryTrackerStore keeps them
        self.hot_conversations = max(1, int(hot_conversations))
        super().__init__(domain, event_broker, **kwargs)

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        """A new model's domain: live trackers hold the old slots, so they are serialised
        and rebuilt with the new domain on their next turn."""
        self._domain = domain or Domain.empty()
        while getattr(self, "_hot", None):
            self._freeze_oldest()

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender = tracker.sender_id
        self._cold.pop(sender, None)
        self._hot[sender] = _Saved(tracker)
        self._hot.move_to_end(sender)
        while len(self._hot) > self.hot_conversations:
            self._freeze_oldest()

    def _freeze_oldest(self) -> None:
        sender, saved = self._hot.popitem(last=False)
        self._cold[sender] = self.serialise_tracker(self._as_saved(sender, saved))

    def _as_saved(self, sender: str, saved: _Saved) -> DialogueStateTracker:
        if saved.unchanged():
            return saved.tracker
        log.debug("a conversation changed after its last save: rebuilt as saved")
        return DialogueStateTracker.from_events(
            sender, saved.saved_events(), self.domain.slots,
            max_event_history=saved.tracker._max_event_history)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        tracker = self._live(sender_id)
        if tracker is None or not _has_earlier_sessions(tracker):
            return tracker
        from rasa.shared.core.trackers import get_trackers_for_conversation_sessions

        return get_trackers_for_conversation_sessions(tracker)[-1]

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return self._live(sender_id)

    def _live(self, sender: str) -> DialogueStateTracker | None:
        saved = self._hot.get(sender)
        if saved is None:
            serialised = self._cold.get(sender)
            return None if serialised is None else self.deserialise_tracker(sender, serialised)
        self._hot.move_to_end(sender)
        tracker = self._as_saved(sender, saved)
        if tracker is not saved.tracker:
            self._hot[sender] = _Saved(tracker)
        return tracker

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        saved = self._hot.get(tracker.sender_id)
        if saved is not None and saved.tracker is tracker:  # the live tracker: what it gained
            new_events = saved.new_events()
        else:
            old = await self.retrieve(tracker.sender_id)
            new_events = TrackerEventDiffEngine.event_difference(old, tracker)
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def keys(self) -> Iterable[str]:
        return [*self._hot, *self._cold]

