"""The one normaliser: NFC, case, diacritic folding, abbreviations, emoji, whitespace."""

import unicodedata

import pytest

from core.text import fold_diacritics, normalize, syllables_and_bigrams


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Làm sao kích hoạt VNeID", "lam sao kich hoat vneid"),
        ("lam sao kich hoat vneid", "lam sao kich hoat vneid"),
        ("ĐĂNG KÝ KHAI SINH", "dang ky khai sinh"),
        ("đổi cccd ở đâu", "doi can cuoc cong dan o dau"),
        ("ko nhận đc otp", "khong nhan duoc otp"),
        ("k nhan dc mk", "khong nhan duoc mat khau"),
        ("gia hạn bhyt", "gia han bao hiem y te"),
        ("rút bhxh 1 lần", "rut bao hiem xa hoi 1 lan"),
        ("đổi gplx hết hạn", "doi giay phep lai xe het han"),
        ("đổi sdt vneid", "doi so dien thoai vneid"),
        ("nộp hs trên dvc", "nop ho so tren dich vu cong"),
        ("xin lltp", "xin ly lich tu phap"),
        ("😭😭 không vào được 🙏", "khong vao duoc"),
        ("  nhiều    khoảng\ttrắng \n ", "nhieu khoang trang"),
        ("gọi 1900 0368", "goi 19000368"),
        ("hoà / hòa / HÒA", "hoa hoa hoa"),
        ("🙏🙏🙏", ""),
        ("", ""),
        ("   ", ""),
        ("<b>Đăng nhập</b>", "b dang nhap b"),
    ],
)
def test_normalize_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_decomposed_and_composed_input_normalise_alike() -> None:
    composed = "Đăng ký thường trú"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert normalize(composed) == normalize(decomposed) == "dang ky thuong tru"


def test_fold_keeps_case_and_handles_d_stroke() -> None:
    assert fold_diacritics("Đường đi") == "Duong di"


def test_bigrams_follow_syllables() -> None:
    assert syllables_and_bigrams("Căn cước") == ["can", "cuoc", "can_cuoc"]
