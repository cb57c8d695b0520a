"""The Python API of the knowledge base, used in-process by the action server and the CLI.

    service = KnowledgeService.from_settings()
    service.search("lam sao kich hoat vneid")      # SearchResult
    service.answer("phí đổi cccd bao nhiêu")       # Answer with the text to send
    service.get_entry("S02"); service.list_entries()

The service loads the current index once and, when a newer index is built (for example
after `govbot kb publish`), loads it in the background and swaps it in: queries running at
that moment finish on the old index, later ones use the new one, none fails.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.gc_pauses import freeze_long_lived
from core.settings import Settings, get_settings
from knowledge.answers import compose
from knowledge.errors import IndexNotBuiltError
from knowledge.index import POINTER, load_current
from knowledge.onnx_encoder import OnnxSentenceEncoder
from knowledge.retrieval import Retriever, SearchResult
from knowledge.schema import Entry

log = logging.getLogger(__name__)


@dataclass
class Answer:
    text: str
    status: str
    topic: str | None
    aspect: str | None
    result: SearchResult

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "status": self.status, "topic": self.topic,
                "aspect": self.aspect, **{"results": self.result.as_dict()["results"]}}


class KnowledgeService:
    """Thread-safe access to the current search index with hot reload."""

    def __init__(self, settings: Settings, *, server: bool = False):
        """`server`: a long-running server (gateway, action server) owns this service: the
        loaded model and index are frozen out of the garbage collector's full collections
        (core/gc_pauses.py), after the first load and after each reload."""
        self.settings, self.server = settings, server
        self._name, self._retriever = load_current(settings)
        if server:
            freeze_long_lived(f"loading search index {self._name}")
        self._pointer_seen = self._read_pointer()
        # One watcher per service: it loads a newly built index off the request path and
        # swaps the reference, so queries never wait for a reload.
        threading.Thread(target=self._watch, name="kb-index-watch", daemon=True).start()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, server: bool = False
                      ) -> KnowledgeService:
        return cls(settings or get_settings(), server=server)

    # --- reload -------------------------------------------------------------------------

    def _read_pointer(self) -> str:
        try:
            return (self.settings.index_dir / POINTER).read_text().strip()
        except OSError:
            return ""

    def _watch(self) -> None:
        while True:
            time.sleep(self.settings.reload_check_seconds)
            pointer = self._read_pointer()
            if not pointer or pointer == self._pointer_seen:
                continue
            try:
                name, retriever = load_current(self.settings)
            except IndexNotBuiltError as exc:
                log.error("could not load the new search index: %s", exc)
                continue
            self._retriever, self._name = retriever, name  # one reference swap
            self._pointer_seen = pointer
            log.info("switched to search index %s", name)
            if self.server:
                freeze_long_lived(f"switching to search index {name}")

    # --- API ----------------------------------------------------------------------------

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    @property
    def index_name(self) -> str:
        return self._name

    def search(self, question: str, *, k: int = 5, hint_ids: tuple[str, ...] = ()
               ) -> SearchResult:
        return self.retriever.search(question, k=k, hint_ids=hint_ids)

    def answer(self, question: str, *, hint_ids: tuple[str, ...] = ()) -> Answer:
        retriever = self.retriever
        result = retriever.search(question, k=5, hint_ids=hint_ids)
        text, aspect = compose(result, retriever.entries, question, retriever.max_chars)
        topic = result.top.id if result.status == "answered" and result.top else None
        return Answer(text, result.status, topic, aspect, result)

    def get_entry(self, topic_id: str) -> Entry | None:
        return self.retriever.entries.get(topic_id)

    def list_entries(self) -> list[Entry]:
        r = self.retriever
        return [r.entries[i] for i in r.entry_ids]

    def info(self) -> dict[str, Any]:
        r = self._retriever
        return {"index": self._name, "kb_version": r.kb_version, "entries": len(r.entries),
                "passages": len(r.passages), "calibration": r.calibration.as_dict(),
                # "torch" while ONNX is configured: the graph was unusable (see the log)
                "query_encoder": "onnx" if isinstance(r.model, OnnxSentenceEncoder) else "torch"}
