"""BM25 against a brute-force oracle written straight from the formula."""

import math
from collections import Counter

import numpy as np
import pytest

from core.text import syllables_and_bigrams
from knowledge.lexical import BM25Index

DOCS = [
    "Kích hoạt tài khoản định danh điện tử VNeID",
    "Không nhận được mã OTP khi kích hoạt",
    "Cấp đổi, cấp lại thẻ căn cước",
    "Đăng ký khai sinh cho con",
    "Đổi giấy phép lái xe hết hạn",
    "Đăng ký thường trú, tạm trú",
]


def oracle(query: str, docs: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    toks = [syllables_and_bigrams(d) for d in docs]
    n = len(toks)
    avgdl = sum(max(len(t), 1) for t in toks) / n
    q_terms = list(dict.fromkeys(syllables_and_bigrams(query)))
    out = []
    for t in toks:
        tf = Counter(t)
        dl = max(len(t), 1)
        score = 0.0
        for term in q_terms:
            df = sum(term in set(x) for x in toks)
            if df == 0 or tf[term] == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * dl / avgdl))
        out.append(score)
    return out


@pytest.mark.parametrize("query", ["kich hoat vneid", "ko nhận đc otp", "đổi cccd",
                                   "khai sinh", "dang ky tam tru", "thời tiết", ""])
def test_bm25_matches_oracle(query: str) -> None:
    index = BM25Index(DOCS)
    scores, _ = index.scores(query)
    np.testing.assert_allclose(scores, oracle(query, DOCS), rtol=1e-9, atol=1e-12)


def test_normalised_scores_are_bounded_and_penalise_unknown_words() -> None:
    index = BM25Index(DOCS)
    known = index.normalised_scores("kích hoạt vneid")
    with_unknown = index.normalised_scores("kích hoạt vneid thời tiết bóng đá")
    assert 0 < known.max() <= 1
    assert with_unknown.max() < known.max()
    assert index.normalised_scores("xyz qwerty").max() == 0


def test_diacritics_do_not_matter() -> None:
    index = BM25Index(DOCS)
    np.testing.assert_allclose(index.scores("Đăng ký khai sinh")[0],
                               index.scores("dang ky khai sinh")[0])


def test_empty_corpus_is_refused() -> None:
    with pytest.raises(ValueError):
        BM25Index([])
