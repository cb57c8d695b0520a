"""The ONNX query encoder embeds exactly like the PyTorch model, or is not used."""

from __future__ import annotations

import copy
import logging
import sys

import numpy as np
import pytest
import torch

from knowledge.dense import QueryBatcher, encode, load_model, resolve_model_path
from knowledge.onnx_encoder import OnnxSentenceEncoder, model_files_key, query_encoder

pytestmark = pytest.mark.slow

TEXTS = [
    "lam sao kich hoat vneid",
    "Cấp lại căn cước bị mất cần giấy tờ gì ạ?",
    "😭😭 ko dang nhap dc dichvucong",
    "",
    "x",
    "dang ky thuong tru cho con moi sinh " * 60,  # past the model's 256-token limit
]


@pytest.fixture(scope="module")
def model_and_path():
    path = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    return load_model(path, threads=1), path


def test_embeddings_equal_pytorch_single_and_batched(model_and_path, tmp_path) -> None:
    model, path = model_and_path
    encoder = query_encoder(model, path, tmp_path)
    assert isinstance(encoder, OnnxSentenceEncoder)
    assert len(list(tmp_path.glob("query-encoder-*.onnx"))) == 1
    reference = encode(model, TEXTS)
    assert np.abs(encode(encoder, TEXTS) - reference).max() < 1e-5
    for text, row in zip(TEXTS, reference, strict=True):
        assert np.abs(encode(encoder, [text])[0] - row).max() < 1e-5
    # The service path: concurrent single queries go through the batcher.
    assert np.abs(QueryBatcher(encoder).encode(TEXTS[1])[0] - reference[1]).max() < 1e-5
    assert encoder.get_sentence_embedding_dimension() == reference.shape[1]


def test_a_corrupt_cached_graph_is_exported_again(model_and_path, tmp_path) -> None:
    model, path = model_and_path
    graph = tmp_path / f"query-encoder-{model_files_key(path)}.onnx"
    graph.write_bytes(b"not an onnx graph")
    encoder = query_encoder(model, path, tmp_path)
    assert isinstance(encoder, OnnxSentenceEncoder)
    assert graph.stat().st_size > 1_000_000
    assert np.abs(encode(encoder, TEXTS[:2]) - encode(model, TEXTS[:2])).max() < 1e-5


def test_a_graph_that_disagrees_is_never_used(model_and_path, tmp_path, caplog) -> None:
    """A cached graph of other weights (here: one layer perturbed) must not serve queries;
    a fresh export of the right weights replaces it."""
    model, path = model_and_path
    other = copy.deepcopy(model)
    with torch.no_grad():
        layer = other[0].auto_model.encoder.layer[0].output.dense
        layer.weight.add_(torch.randn_like(layer.weight) * 0.05)
    wrong = query_encoder(other, path, tmp_path)  # exports the perturbed weights
    assert isinstance(wrong, OnnxSentenceEncoder)
    assert np.abs(encode(wrong, TEXTS[:1]) - encode(model, TEXTS[:1])).max() > 1e-3

    with caplog.at_level(logging.WARNING, logger="knowledge.onnx_encoder"):
        encoder = query_encoder(model, path, tmp_path)
    assert "cached ONNX query encoder differs" in caplog.text
    assert isinstance(encoder, OnnxSentenceEncoder)
    assert np.abs(encode(encoder, TEXTS) - encode(model, TEXTS)).max() < 1e-5


def test_without_onnx_runtime_the_pytorch_model_serves(model_and_path, tmp_path, monkeypatch,
                                                        caplog) -> None:
    model, path = model_and_path
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    with caplog.at_level(logging.WARNING, logger="knowledge.onnx_encoder"):
        assert query_encoder(model, path, tmp_path / "elsewhere") is model
    assert "ONNX Runtime is not installed" in caplog.text
