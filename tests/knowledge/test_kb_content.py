"""The knowledge base itself: every catalogue topic, valid, sourced where it gives numbers."""

import re
from pathlib import Path

import yaml

from core.settings import PROJECT_ROOT
from core.text import normalize
from knowledge.evaluation import load_questions
from knowledge.schema import ALL_TOPIC_IDS

CATALOG = PROJECT_ROOT.parent / "shared" / "domain" / "catalog.yml"
MONEY = re.compile(r"\d{1,3}(\.\d{3})+\s*(đ|đồng|vnd)|\d+\s*(nghìn|triệu) đồng", re.I)
OTP_REQUEST = re.compile(r"(gửi|nhắn|cung cấp)( cho)? (mình|chúng tôi|bot|trợ lý)[^.]*(otp|mật khẩu|passcode)",
                         re.I)


def test_every_catalogue_id_has_exactly_one_entry(kb_entries) -> None:
    assert sorted(e.id for e in kb_entries) == sorted(ALL_TOPIC_IDS)
    if CATALOG.exists():
        catalog = yaml.safe_load(CATALOG.read_text("utf-8"))
        ids = {item["id"] for group in catalog.values() for item in group}
        assert ids == set(ALL_TOPIC_IDS)


def test_money_amounts_are_sourced(kb_entries) -> None:
    for e in kb_entries:
        if MONEY.search(e.fees.text):
            assert e.fees.verified and e.fees.source, f"{e.id}: fee amount without a source"


def test_verified_facts_name_a_source(kb_entries) -> None:
    for e in kb_entries:
        for name in ("fees", "processing_time"):
            fact = getattr(e, name)
            if fact.verified:
                assert fact.source or e.sources, f"{e.id}.{name} verified without a source"


def test_entries_never_ask_for_secrets(kb_entries) -> None:
    for e in kb_entries:
        text = yaml.safe_dump(e.to_data(), allow_unicode=True)
        assert not OTP_REQUEST.search(text), e.id


def test_steps_are_complete(kb_entries) -> None:
    for e in kb_entries:
        assert 3 <= len(e.steps) <= 12
        assert any(step.problems for step in e.steps), f"{e.id}: no common problems"


def test_evaluation_questions_are_not_kb_text(kb_entries) -> None:
    """No test question is an FAQ question of the KB; only 1-4 word keyword queries
    ("short" style) may coincide with a title or alias, as real keyword searches do."""
    faq = {normalize(f.q) for e in kb_entries for f in e.faq}
    names = {normalize(t) for e in kb_entries for t in [e.title, *e.aliases]}
    for name in ("retrieval_eval.jsonl", "retrieval_dev.jsonl"):
        for q in load_questions(PROJECT_ROOT / "knowledge" / "eval" / name):
            assert normalize(q.q) not in faq, f"{name}: {q.q!r} is an FAQ question of the KB"
            if q.style != "short":
                assert normalize(q.q) not in names, f"{name}: {q.q!r} is a KB title/alias"


def test_evaluation_sets_cover_every_topic() -> None:
    for name, per_id, oos in (("retrieval_eval.jsonl", 4, 40), ("retrieval_dev.jsonl", 3, 30)):
        qs = load_questions(PROJECT_ROOT / "knowledge" / "eval" / name)
        for topic in ALL_TOPIC_IDS:
            assert sum(q.expected == topic for q in qs) >= per_id, (name, topic)
        assert sum(q.expected is None for q in qs) >= oos
        assert not {q.expected for q in qs} - set(ALL_TOPIC_IDS) - {None}


def test_files_are_named_by_id() -> None:
    for path in Path(PROJECT_ROOT / "knowledge" / "topics").glob("*.yml"):
        assert yaml.safe_load(path.read_text("utf-8"))["id"] == path.stem
