"""Fine-tuning pairs come from the KB only; a short real run saves a versioned model and
records whether it beat the base model."""

import json

import pytest

from knowledge.tuning import _batches, make_pairs


def test_pairs_come_from_the_kb_and_batches_have_unique_entries(kb_entries) -> None:
    import random

    pairs = make_pairs(kb_entries)
    ids = {e.id for e in kb_entries}
    assert len(pairs) > 10 * len(kb_entries)
    assert {p[0] for p in pairs} == ids
    for batch in _batches(pairs, 32, random.Random(1)):
        assert len({p[0] for p in batch}) == len(batch)


def test_pairs_are_made_of_the_entrys_own_text(kb_entries) -> None:
    """Training text comes from the KB only (never from the evaluation sets): every anchor
    is a passage of its own entry with at most one word dropped or misspelt, and every
    positive is a passage of the same entry."""
    from knowledge.passages import build_passages

    texts: dict[str, set[str]] = {}
    words: dict[str, set[str]] = {}
    for p in build_passages(kb_entries):
        texts.setdefault(p.entry_id, set()).add(p.text)
        words.setdefault(p.entry_id, set()).update(p.text.split())
    for entry_id, anchor, positive in make_pairs(kb_entries):
        assert positive in texts[entry_id]
        assert len(set(anchor.split()) - words[entry_id]) <= 1, (entry_id, anchor)


@pytest.mark.slow
def test_short_tuning_run_produces_an_artefact(built_index, kb_entries, tmp_path) -> None:
    from knowledge.store import Snapshot
    from knowledge.tuning import tune_embeddings

    subset = [e for e in kb_entries if e.id.startswith("EID")]
    s = built_index.model_copy(update={"data_dir": tmp_path / "var"})
    report = tune_embeddings(Snapshot(1, "a" * 64, subset), s, epochs=1, batch_size=8)
    assert report.steps > 0 and report.path.exists()
    manifest = json.loads((s.models_dir / "tuned" / "current.json").read_text())
    assert manifest["use"] == (manifest["tuned_mrr"] > manifest["base_mrr"])
    again = tune_embeddings(Snapshot(1, "a" * 64, subset), s, epochs=1, batch_size=8)
    assert again.reused
