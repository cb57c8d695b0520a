"""Redaction of personal data before anything is stored, logged or shown to a team member.

Covers 12-digit personal identification numbers (CCCD), old 9-digit ID numbers (CMND),
Vietnamese phone numbers, OTP/passcodes (4-8 digits near a cue word), passwords given after
a cue word, and e-mail addresses. Also strips CR/LF so a redacted text is safe to log.
"""

from __future__ import annotations

import hashlib
import re

from core.text import fold_diacritics

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)[\s.\-]?[35789](?:[\s.\-]?\d){8}(?!\d)")
_CITIZEN_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_OLD_ID = re.compile(r"(?<!\d)\d{9}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SECRET_CUE = r"(?:otp|ma xac (?:thuc|nhan)|ma|passcode|pass|mat khau|mk|password|pin)"
_OTP = re.compile(rf"({_SECRET_CUE}\W{{0,3}}(?:cua \w+ )?(?:la|:|=)?\s*)(\d{{4,8}})(?!\d)", re.I)
_PASSWORD = re.compile(r"((?:mat khau|mk|password|pass|passcode)\W{0,3}(?:cua \w+ )?(?:la|:|=)\s*)(\S+)",
                       re.I)
_BARE_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def _spans(pattern: re.Pattern[str], folded: str, group: int = 0) -> list[tuple[int, int]]:
    return [m.span(group) for m in pattern.finditer(folded)]


def find_personal_data(text: str) -> dict[str, list[tuple[int, int]]]:
    """Spans of personal data by kind (on the original text; folding keeps offsets)."""
    folded = fold_diacritics(text).lower() if len(fold_diacritics(text)) == len(text) else text
    return {
        "phone": _spans(_PHONE, folded),
        "citizen_id": _spans(_CITIZEN_ID, folded),
        "old_id": _spans(_OLD_ID, folded),
        "email": _spans(_EMAIL, folded),
        "otp": _spans(_OTP, folded, 2),
        "password": _spans(_PASSWORD, folded, 2),
    }


LABELS = {"phone": "[SĐT]", "citizen_id": "[SỐ ĐỊNH DANH]", "old_id": "[SỐ CMND]",
          "email": "[EMAIL]", "otp": "[MÃ]", "password": "[MẬT KHẨU]"}


def redact(text: str) -> str:
    """The text with personal data replaced by labels, and without CR/LF."""
    text = (text or "").replace("\r", " ").replace("\n", " ")
    spans = sorted(((s, e, kind) for kind, found in find_personal_data(text).items()
                    for s, e in found), key=lambda x: (x[0], -(x[1] - x[0])))
    out, pos = [], 0
    for start, end, kind in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(LABELS[kind])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def contains_secret(text: str) -> bool:
    """An OTP, passcode or password given in the message (what the citizen must never share)."""
    found = find_personal_data(text or "")
    return bool(found["otp"] or found["password"])


def pseudonym(sender_id: str) -> str:
    """A stable pseudonymous id for a sender (for analytics and logs)."""
    return hashlib.sha256(f"govbot:{sender_id}".encode()).hexdigest()[:20]
