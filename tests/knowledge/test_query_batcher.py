"""Concurrent single-query encodes share forward passes and give the same vectors."""

from __future__ import annotations

import threading

import numpy as np

from knowledge.dense import QueryBatcher, encode, load_model, resolve_model_path


class CountingModel:
    """The real model, counting its forward passes."""

    def __init__(self, model):
        self.model, self.calls, self.sizes = model, 0, []

    def encode(self, texts, **kwargs):
        self.calls += 1
        self.sizes.append(len(texts))
        return self.model.encode(texts, **kwargs)


def test_concurrent_queries_are_batched_and_equal_to_single_encodes() -> None:
    model = load_model(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"), threads=2)
    counting = CountingModel(model)
    batcher = QueryBatcher(counting)
    queries = [f"lam sao kich hoat vneid lan {i}" for i in range(24)] + ["cấp lại căn cước"]
    results: dict[str, np.ndarray] = {}
    barrier = threading.Barrier(len(queries))

    def ask(q: str) -> None:
        barrier.wait()
        results[q] = batcher.encode(q)

    threads = [threading.Thread(target=ask, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counting.sizes) == len(queries) and counting.calls < len(queries)
    for q in queries:
        alone = encode(model, [q])
        assert results[q].shape == alone.shape
        assert np.allclose(results[q], alone, atol=1e-5)


def test_an_error_reaches_every_waiter() -> None:
    class Broken:
        def encode(self, texts, **kwargs):
            raise RuntimeError("model gone")

    batcher = QueryBatcher(Broken())
    try:
        batcher.encode("x")
    except RuntimeError as exc:
        assert "model gone" in str(exc)
    else:
        raise AssertionError("no error")
    assert batcher._running is False and batcher._waiting == []
