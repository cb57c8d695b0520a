"""Hybrid retrieval on the real KB: fusion, thresholds, decisions and bad input."""

import numpy as np
import pytest

from knowledge.retrieval import ANSWERED, CLARIFY, UNRESOLVED, Calibration, decide_status, fuse


def test_fusion_is_a_weighted_sum() -> None:
    lex, dense = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(fuse(lex, dense, 0.75), [0.75, 0.25])
    np.testing.assert_allclose(fuse(lex, dense, 1.0), lex)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([0.9, 0.2], ANSWERED), ([0.5, 0.49], CLARIFY), ([0.1, 0.05], UNRESOLVED), ([], UNRESOLVED),
     ([0.6], ANSWERED)],
)
def test_decision(scores, expected) -> None:
    cal = Calibration(lexical_weight=0.7, min_score=0.3, margin=0.05)
    assert decide_status(scores, cal)[0] == expected



@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("lam sao kich hoat vneid", "EID03"),
        ("phí đổi cccd bao nhiêu", "S02"),
        ("vneid ko nhan dc otp", "EID06"),
        ("đăng ký khai sinh cho con", "S09"),
        ("gia hạn thẻ bhyt hộ gia đình", "S17"),
    ],
)
def test_known_questions_find_their_topic(service, question: str, topic: str) -> None:
    result = service.search(question)
    assert result.results[0].id == topic
    assert result.status in {ANSWERED, CLARIFY}


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   ", "🙏🙏😭", "!!!???", "x" * 10_000,
                                      "làm cccd " * 1200])
def test_bad_input_is_unresolved_never_a_crash(service, question: str) -> None:
    result = service.search(question)
    assert result.status == UNRESOLVED
    assert service.answer(question).text  # always a polite message


@pytest.mark.slow
def test_too_long_is_cut_at_the_documented_limit(service) -> None:
    result = service.search("a" * (service.settings.query_max_chars + 1))
    assert result.reason == "too_long"
    assert "1.000" in service.answer("a" * 5000).text


@pytest.mark.slow
def test_results_are_sorted_and_hint_boosts(service) -> None:
    result = service.search("cần mang giấy tờ gì", k=10)
    scores = [h.score for h in result.results]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10
    hinted = service.search("cần mang giấy tờ gì", k=10, hint_ids=("S11",))
    assert hinted.results[0].id == "S11"


@pytest.mark.slow
def test_answer_uses_the_asked_aspect(service) -> None:
    answer = service.answer("phí đổi căn cước bao nhiêu")
    assert answer.topic == "S02" and answer.aspect == "fee"
    assert "Lệ phí" in answer.text
    steps = service.answer("hướng dẫn kích hoạt vneid")
    assert steps.topic == "EID03" and "1." in steps.text
