"""The one text normaliser for everything that reads citizen text.

Standard library only: the Rasa environment (Python 3.10) imports this module for its NLU
component, so the knowledge base and the NLU see text exactly the same way.

Steps: Unicode NFC, lower case, emoji/symbol clean-up, abbreviation expansion, diacritic
folding (including đ -> d), whitespace clean-up.
"""

from __future__ import annotations

import re
import unicodedata

# Abbreviations and teencode citizens type, mapped to their full form (with diacritics).
# Keys are diacritic-folded, lower case, single tokens. Ambiguous shortenings ("bn" = bạn or
# bao nhiêu, "ca" = công an or cá) are deliberately absent.
ABBREVIATIONS: dict[str, str] = {
    "ko": "không", "k": "không", "kh": "không", "khg": "không", "kg": "không",
    "hok": "không", "hong": "không", "hem": "không", "kô": "không",
    "dc": "được", "dk": "đăng ký", "dky": "đăng ký", "dki": "đăng ký",
    "cccd": "căn cước công dân", "cmnd": "chứng minh nhân dân", "cmt": "chứng minh nhân dân",
    "bhyt": "bảo hiểm y tế", "bhxh": "bảo hiểm xã hội", "bhtn": "bảo hiểm thất nghiệp",
    "gplx": "giấy phép lái xe", "sdt": "số điện thoại", "dt": "điện thoại",
    "mk": "mật khẩu", "pass": "mật khẩu", "password": "mật khẩu",
    "dvc": "dịch vụ công", "dvcqg": "dịch vụ công quốc gia",
    "lltp": "lý lịch tư pháp", "tncn": "thu nhập cá nhân", "mst": "mã số thuế",
    "dkkd": "đăng ký kinh doanh", "hkd": "hộ kinh doanh",
    "tk": "tài khoản", "tkdd": "tài khoản định danh", "ddcn": "định danh cá nhân",
    "ubnd": "ủy ban nhân dân", "tthc": "thủ tục hành chính", "hs": "hồ sơ",
    "gcn": "giấy chứng nhận", "qsdd": "quyền sử dụng đất", "nvqs": "nghĩa vụ quân sự",
    "xm": "xe máy", "oto": "ô tô", "tp": "thành phố", "tx": "thị xã",
    "ntn": "như thế nào", "sao": "sao", "j": "gì", "gi": "gì", "vs": "với", "r": "rồi",
    "lm": "làm", "ms": "mới", "trc": "trước", "bh": "bao giờ", "ng": "người", "wa": "qua",
    "mik": "mình", "mn": "mọi người", "ad": "admin", "sms": "tin nhắn",
    "vneid": "vneid", "vn": "việt nam",
}

_TOKEN_SPLIT = re.compile(r"[^\w]+", re.UNICODE)
_DIGIT_GROUPS = re.compile(r"(?<=\d)[ .\-](?=\d)")


def nfc_lower(text: str) -> str:
    """NFC and lower case; the form shown back to people."""
    return unicodedata.normalize("NFC", text or "").lower()


def fold_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks; đ becomes d ("Đăng ký" -> "Dang ky")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


_FOLDED_ABBREVIATIONS = {fold_diacritics(k): v for k, v in ABBREVIATIONS.items()}


def clean_tokens(text: str) -> list[str]:
    """NFC, lower case, split on anything that is not a letter or digit (drops emoji)."""
    text = nfc_lower(text)
    text = _DIGIT_GROUPS.sub("", text)  # "1900 0368" -> "19000368"
    return [tok for tok in _TOKEN_SPLIT.split(text) if tok and tok != "_"]


def expand_abbreviations(tokens: list[str]) -> list[str]:
    """Replace abbreviation tokens by their full form (keeps diacritics of the expansion)."""
    out: list[str] = []
    for tok in tokens:
        full = _FOLDED_ABBREVIATIONS.get(fold_diacritics(tok))
        out.extend(full.split() if full else [tok])
    return out


def normalize(text: str) -> str:
    """Folded, expanded, single-spaced text: the form every matcher compares."""
    return fold_diacritics(" ".join(expand_abbreviations(clean_tokens(text))))


def normalize_keep_diacritics(text: str) -> str:
    """Like `normalize` but keeping diacritics (for multilingual embedding models)."""
    return " ".join(expand_abbreviations(clean_tokens(text)))


def syllables(text: str) -> list[str]:
    """Normalised syllables (Vietnamese words are written as space-separated syllables)."""
    return normalize(text).split()


def syllables_and_bigrams(text: str) -> list[str]:
    """Syllables plus adjacent syllable bigrams ("dang_ky"), the lexical index terms."""
    syl = syllables(text)
    return syl + [f"{a}_{b}" for a, b in zip(syl, syl[1:], strict=False)]


def has_letters_or_digits(text: str) -> bool:
    return bool(normalize(text))
