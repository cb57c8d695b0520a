"""Compose the Vietnamese answer the assistant sends, from an entry and the asked aspect.

Plain text (channels add their own formatting), short enough for a phone screen. Facts that
no source confirms carry a visible "chưa xác nhận" note.
"""

from __future__ import annotations

from core.text import normalize
from knowledge.retrieval import ANSWERED, CLARIFY, SearchResult
from knowledge.schema import Entry, Fact, FactList

ASPECTS = ("fee", "processing_time", "documents", "where", "eligibility", "steps")
# The entry field holding each aspect (the NLU's `aspect` entity uses the names above).
ASPECT_FIELDS = {"fee": "fees", "processing_time": "processing_time", "documents": "documents",
                 "eligibility": "eligibility"}

# Folded cue phrases per aspect, tried in order; the first aspect with a cue wins.
ASPECT_CUES: dict[str, tuple[str, ...]] = {
    "fee": ("le phi", "phi", "bao nhieu tien", "mat tien", "ton tien", "mien phi", "gia bao nhieu",
            "fee", "cost", "how much", "tien"),
    "processing_time": ("bao lau", "may ngay", "thoi gian", "bao nhieu ngay", "khi nao co",
                        "bao gio co", "bao gio xong", "how long", "mat bao lau"),
    "documents": ("giay to", "can gi", "mang gi", "mang theo", "chuan bi", "can nhung gi",
                  "ho so gom", "thanh phan ho so", "documents", "what do i need", "can mang"),
    "where": ("o dau", "noi nao", "cho nao", "nop o", "lam o", "den dau", "where"),
    "eligibility": ("ai duoc", "dieu kien", "doi tuong", "ai phai", "ai can", "who can",
                    "eligible"),
    "steps": ("cac buoc", "tung buoc", "huong dan", "cach lam", "lam sao", "lam the nao",
              "thu tuc", "how to", "how do", "steps"),
}

UNCONFIRMED_NOTE = "(thông tin này chưa được xác nhận chính thức, bạn nên kiểm tra lại khi nộp)"
ASPECT_LABELS = {
    "fee": "Lệ phí", "processing_time": "Thời gian giải quyết", "documents": "Cần chuẩn bị",
    "where": "Nộp ở đâu", "eligibility": "Ai được làm",
}


def detect_aspect(question: str) -> str | None:
    text = f" {normalize(question)} "
    for aspect, cues in ASPECT_CUES.items():
        if any(f" {cue} " in text for cue in cues):
            return aspect
    return None


def _fact_text(fact: Fact | FactList) -> str:
    if isinstance(fact, FactList):
        body = "\n".join(f"• {item}" for item in fact.items)
    else:
        body = fact.text
    return body if fact.verified else f"{body}\n{UNCONFIRMED_NOTE}"


def aspect_text(entry: Entry, aspect: str) -> str:
    """The section of an entry that answers one aspect."""
    if aspect == "steps":
        lines = [f"{i}. {s.title}" for i, s in enumerate(entry.steps, 1)]
        return "Các bước:\n" + "\n".join(lines)
    if aspect == "where":
        return f"{ASPECT_LABELS['where']}: {entry.where.text}"
    fact = getattr(entry, ASPECT_FIELDS[aspect])
    return f"{ASPECT_LABELS[aspect]}:\n{_fact_text(fact)}"


def entry_answer(entry: Entry, aspect: str | None = None) -> str:
    """Answer about one entry: the asked aspect, or a summary with the steps in brief."""
    if aspect and aspect != "steps":
        return f"{entry.title}\n\n{aspect_text(entry, aspect)}"
    parts = [entry.title, entry.summary, aspect_text(entry, "steps")]
    return "\n\n".join(parts)


def clarify_text(result: SearchResult) -> str:
    options = "\n".join(f"{i}. {h.title}" for i, h in enumerate(result.candidates, 1))
    return f"Bạn đang hỏi về thủ tục nào ạ?\n{options}"


def unresolved_text(reason: str, max_chars: int) -> str:
    if reason == "empty":
        return "Bạn vui lòng gõ câu hỏi bằng chữ, ví dụ: \"cách kích hoạt VNeID\" nhé."
    if reason == "out_of_scope":
        return ("Xin lỗi, câu hỏi này nằm ngoài phạm vi mình hỗ trợ. Mình giúp về tài khoản "
                "VNeID, Cổng Dịch vụ công và các thủ tục hành chính trực tuyến (căn cước, khai "
                "sinh, cư trú, hộ chiếu, bảo hiểm...).")
    if reason == "unknown_words":
        return ("Xin lỗi, mình chưa hiểu tin nhắn này. Bạn vui lòng viết câu hỏi bằng tiếng "
                "Việt (có dấu hoặc không dấu), ví dụ: \"lam sao kich hoat vneid\".")
    if reason == "too_long":
        return (f"Tin nhắn dài quá (tối đa {max_chars:,} ký tự). ".replace(",", ".")
                + "Bạn vui lòng hỏi ngắn gọn một câu nhé.")
    return ("Xin lỗi, mình chưa tìm thấy thông tin phù hợp. Bạn thử hỏi lại ngắn gọn hơn "
            "(ví dụ: \"đổi căn cước ở đâu\"), hoặc mình có thể chuyển bạn đến tổ công nghệ số "
            "cộng đồng nơi bạn ở.")


def compose(result: SearchResult, entries: dict[str, Entry], question: str,
            max_chars: int = 1000) -> tuple[str, str | None]:
    """(text, aspect) for a search result."""
    aspect = detect_aspect(question)
    if result.status == ANSWERED and result.top:
        return entry_answer(entries[result.top.id], aspect), aspect
    if result.status == CLARIFY:
        return clarify_text(result), aspect
    return unresolved_text(result.reason, max_chars), aspect
