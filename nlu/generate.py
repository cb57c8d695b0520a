"""Generate the part of the NLU training data that is derived, not written by hand.

Writes nlu/generated/ (ignored by git; `make train` runs this first):
- service synonyms: every KB title and alias (and its diacritic-free form) -> catalogue id;
- ask_procedure / start_guide examples for every KB topic from its aliases (English catalogue
  phrases only as they are, aliases that ask for a person or a walk-through left out);
- out_of_scope examples: every one of knowledge/out_of_scope.yml (but those that are small
  talk with an intent of their own), and near-miss topics (OOS_MENTIONS) in the same question
  templates as the aliases;
- share_secret examples (messages carrying an OTP or password; the codes are random);
- nlu/variants/: every example without diacritics (folded.yml) and hand-written ones with
  abbreviations (abbreviated.yml), for the diacritic-free cross-validation.
An example whose normalised form is already an example (of any intent) is dropped, so no
example is labelled twice.

Run in the application environment: `.venv/bin/python -m nlu.generate`.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import yaml

from core.settings import get_settings
from core.text import fold_diacritics, normalize
from knowledge.schema import load_entries, load_out_of_scope

ROOT = Path(__file__).resolve().parent
HAND = ROOT / "data" / "nlu"
OUT = ROOT / "generated"
VARIANTS = ROOT / "variants"  # not training data: the diacritic-free evaluation copy
SEED = 13
ALIASES_PER_TOPIC = 12  # ask_procedure examples per topic: every alias (topics have 8-12)

# Reverse abbreviations (full form -> what people type), applied to whole words.
SHORTEN = [("không", "ko"), ("được", "đc"), ("căn cước công dân", "cccd"),
           ("bảo hiểm y tế", "bhyt"), ("bảo hiểm xã hội", "bhxh"), ("giấy phép lái xe", "gplx"),
           ("số điện thoại", "sdt"), ("mật khẩu", "mk"), ("dịch vụ công", "dvc"),
           ("như thế nào", "ntn"), ("gì", "j"), ("với", "vs"), ("rồi", "r"), ("mình", "mik"),
           ("đăng ký", "đk"), ("tài khoản", "tk"), ("hồ sơ", "hs")]
ASK_TEMPLATES = ["{s}", "cho mình hỏi {s}", "{s} thế nào ạ", "{s} làm sao", "mình muốn hỏi {s}",
                 "hỏi về {s}", "{s} cần gì", "{s} ở đâu", "{s} mất bao lâu", "phí {s} bao nhiêu"]
ASPECT_OF = {"{s} cần gì": ("cần gì", "documents"), "{s} ở đâu": ("ở đâu", "where"),
             "{s} mất bao lâu": ("mất bao lâu", "processing_time"),
             "phí {s} bao nhiêu": ("bao nhiêu", "fee")}
# Things citizens ask about that sound administrative but are no catalogue topic (banks,
# telecoms, private schools and exams, driving schools, inspections, trademarks, travel...).
# They get question templates like the KB aliases do: otherwise "... cần gì", "... ở đâu",
# "phí ... bao nhiêu" would only ever be seen on ask_procedure and would pull every
# out-of-scope question phrased that way into it. Each mention lists the aspects that make
# sense for it (d documents "cần gì", w where "ở đâu", t time "mất bao lâu", f fee "phí ...
# bao nhiêu"); the general templates suit every one.
OOS_GENERAL = ["cho mình hỏi {s}", "{s} thế nào ạ", "{s} làm sao", "mình muốn hỏi {s}",
               "hỏi về {s}"]
OOS_ASPECT = {"d": "{s} cần gì", "w": "{s} ở đâu", "t": "{s} mất bao lâu",
              "f": "phí {s} bao nhiêu"}
OOS_MENTIONS = {"mở tài khoản ngân hàng": "dwf", "làm thẻ atm": "dwtf", "mở thẻ tín dụng": "dwtf",
                "vay tín chấp": "dw", "vay mua nhà": "dw", "gửi tiết kiệm": "w",
                "đổi ngoại tệ": "wf", "chuyển tiền ra nước ngoài": "dtf", "mở ví momo": "d",
                "đăng ký sim chính chủ": "dw", "chuyển mạng giữ số": "dtf", "lắp wifi": "tf",
                "lắp truyền hình cáp": "f", "đăng ký gói cước 4g": "", "sửa điện thoại": "wf",
                "học bằng lái xe máy": "dwtf", "học lái ô tô b2": "dwtf",
                "thi sát hạch lái xe": "dwf", "đăng kiểm ô tô": "dwtf",
                "bảo hiểm xe máy bắt buộc": "wf", "mua bảo hiểm nhân thọ": "d",
                "đăng ký nhãn hiệu": "dwtf", "đăng ký bản quyền tác giả": "dwtf",
                "bảo hộ sáng chế": "dtf", "công chứng hợp đồng mua bán nhà": "dwf",
                "làm di chúc": "dwf", "thủ tục ly hôn": "dwtf", "xin visa hàn quốc": "dtf",
                "xin visa du lịch nhật": "dtf", "đi xuất khẩu lao động": "df", "du học úc": "df",
                "thi ielts": "wf", "thi toeic": "wf", "thi chứng chỉ tin học": "dwf",
                "xin học trường tư thục": "d", "xin học bổng": "d", "đặt vé máy bay": "w",
                "đặt phòng khách sạn": "w", "thuê xe du lịch": "wf",
                "khám sức khỏe ở bệnh viện tư": "df", "đặt lịch khám bệnh viện": "",
                "tiêm vắc xin dịch vụ": "wf", "mua thuốc": "w", "mua nhà chung cư": "d",
                "thuê phòng trọ": "w", "chữ ký số doanh nghiệp": "dwf", "hóa đơn điện tử": "f",
                "mở shop trên shopee": "df", "tra cứu vận đơn": "", "gửi hàng đi nước ngoài": "tf",
                "tổ chức đám cưới": "d", "đăng ký học lái xe": "dwf", "mua xe trả góp": "d",
                "sửa xe máy": "w", "thay nhớt xe": "wf", "kiện công ty nợ lương": "dw",
                "xin nghỉ việc": "d", "tìm việc làm thêm": "w", "đăng ký tình nguyện viên": "w",
                "nạp tiền điện thoại": ""}
GUIDE_TEMPLATES = ["hướng dẫn từng bước {s}", "chỉ mình từng bước {s} với",
                   "hướng dẫn tôi {s} từng bước một"]
SECRET_TEMPLATES = ["mã otp của em là {otp}", "otp {otp} nhé", "ma otp la {otp}",
                    "mật khẩu vneid của tôi là {pw}", "mk của em là {pw} bạn đăng nhập giúp",
                    "passcode là {otp}", "đây là mã xác thực {otp} bạn kích hoạt hộ mình",
                    "mat khau la {pw}", "tôi gửi mã {otp} rồi đó", "password: {pw}",
                    "mã xác nhận vừa nhận được là {otp}", "passcode của tôi {otp} có đúng không",
                    "em nhập otp {otp} mà ko được", "mk vneid {pw} đúng ko", "ma xac thuc {otp}"]
QUESTION_WORDS = {"gì", "sao", "không", "nào", "đâu", "bao", "thế", "làm", "được", "có"}
PROBLEM_WORDS = {"bị", "lỡ", "mất", "quên", "sai", "lỗi", "chưa", "ko", "k"}
# Words that mark an alias as an English catalogue phrase ("renew citizen ID card"): such an
# alias is a plausible message on its own, but wrapped in a Vietnamese template ("phí renew
# citizen ID card bao nhiêu") it is not something anyone types.
ENGLISH_WORDS = {"a", "an", "the", "of", "for", "in", "on", "or", "and", "to", "with", "after",
                 "at", "by", "from", "its", "my", "how", "can", "new", "renew", "register",
                 "registration", "certificate", "card", "account", "application", "apply",
                 "pay", "claim", "benefit", "number", "police", "vietnam", "change", "phone",
                 "login", "log", "forgot", "activate", "add", "submit", "track", "file",
                 "confirm", "replace", "lost", "update", "transfer", "extend", "split",
                 "correct", "copy", "building", "permit", "land", "insurance", "maternity",
                 "voluntary", "personal", "household", "vehicle", "motorbike", "birth",
                 "death", "marriage", "passport", "seal", "bundle", "international",
                 "criminal", "unemployment", "electricity", "car", "school", "monthly",
                 "military", "water", "hotline", "community", "foreigner", "foreigners",
                 "scam", "level", "sign", "face", "verification", "failed", "error",
                 "received", "fees", "fee", "online", "request", "information", "status",
                 "traffic", "fine", "camera"}
OTHER_INTENT_ALIAS = re.compile(r"\b(gap|nho nguoi|tung buoc)\b")
SOCIAL_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help",
                  "feedback_positive", "feedback_negative", "request_human"}
ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]+\)|\{[^}]+\})")


def _fold_example(example: str) -> str:
    """Fold diacritics of the text but keep annotation JSON values (ids) as they are."""
    def repl(m: re.Match[str]) -> str:
        return f"[{fold_diacritics(m.group(1))}]{m.group(2)}"
    parts = ANNOTATION.split(example)
    if len(parts) == 1:
        return fold_diacritics(example)
    out, last = [], 0
    for m in ANNOTATION.finditer(example):
        out.append(fold_diacritics(example[last:m.start()]))
        out.append(repl(m))
        last = m.end()
    out.append(fold_diacritics(example[last:]))
    return "".join(out)


def _shorten(example: str) -> str:
    out = example
    for full, short in SHORTEN:
        out = re.sub(rf"(?<![\w]){re.escape(full)}(?![\w])", short, out)
    return out


def _other_intent_alias(alias: str) -> bool:
    """An alias that is another intent's message: asking for a person ("gặp tổ công nghệ
    số" is request_human) or for a walk-through ("... từng bước" is start_guide)."""
    return bool(OTHER_INTENT_ALIAS.search(normalize(alias)))


def _is_english(phrase: str) -> bool:
    """An alias written in English (no Vietnamese letters, at least one English word)."""
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    return phrase == fold_diacritics(phrase) and bool(words & ENGLISH_WORDS)


def _is_description(phrase: str) -> bool:
    """An English catalogue description rather than a mention ("face, qr or nfc verification
    fails", "register a level-1 e-id account in the vneid app")."""
    return _is_english(phrase) and (any(ch in phrase for ch in ",;:()") or len(phrase.split()) > 6)


def _plain(example: str) -> str:
    return normalize(ANNOTATION.sub(lambda m: m.group(1), example))


def _read_hand_written() -> dict[str, list[str]]:
    intents: dict[str, list[str]] = {}
    for path in sorted(HAND.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" in block:
                lines = [ln.strip()[2:].strip() for ln in block["examples"].splitlines()
                         if ln.strip().startswith("- ")]
                intents.setdefault(block["intent"], []).extend(lines)
    return intents


def _nlu_file(blocks: dict[str, list[str]]) -> str:
    out = ['version: "3.1"', "nlu:"]
    for intent, examples in blocks.items():
        if not examples:
            continue
        out.append(f"- intent: {intent}")
        out.append("  examples: |")
        out += [f"    - {e}" for e in examples]
    return "\n".join(out) + "\n"


def generate() -> dict[str, int]:
    settings = get_settings()
    rng = random.Random(SEED)
    entries = load_entries(settings.kb_dir)
    oos_groups = load_out_of_scope(settings.out_of_scope_file)
    hand = _read_hand_written()
    owner: dict[str, str] = {}
    for intent, examples in hand.items():
        for e in examples:
            owner.setdefault(_plain(e), intent)

    generated: dict[str, list[str]] = {}

    seen_raw = {e for examples in hand.values() for e in examples}

    def add(intent: str, example: str) -> None:
        key = _plain(example)
        # Same normalised text as an example we have (of any intent): the tokenizer would
        # give it the same features, so it adds nothing but a copy that cross-validation
        # could find in the training folds.
        if not key or key in owner or "\n" in example or example in seen_raw:
            return
        owner[key] = intent
        seen_raw.add(example)
        generated.setdefault(intent, []).append(example)

    # Variants of the hand-written examples: without diacritics, and with abbreviations.
    # Our tokenizer normalises them to the same tokens, so they are not trained on; they are
    # the data of the "without diacritics" cross-validation (nlu/variants/), which checks
    # that claim. Another pipeline can train on them.
    variants: dict[str, list[str]] = {}
    for intent, examples in hand.items():
        for e in examples:
            for variant in (_fold_example(e), _shorten(e)):
                if variant != e and variant not in variants.get(intent, []):
                    variants.setdefault(intent, []).append(variant)

    # KB-derived examples: every topic, from its aliases.
    synonyms: dict[str, set[str]] = {}
    for entry in entries:
        names = [entry.title, *entry.aliases]
        synonyms[entry.id] = {n.lower() for n in names} | {fold_diacritics(n.lower()) for n in names}
        mentions = [a for a in entry.aliases if not _is_description(a.lower())
                    and not _other_intent_alias(a)] or entry.aliases
        for alias in rng.sample(mentions, k=min(ALIASES_PER_TOPIC, len(mentions))):
            mention = alias.lower().rstrip("?.! ")
            phrase_like = (len(mention.split()) <= 5 and not QUESTION_WORDS & set(mention.split())
                           and not _is_english(mention))
            template = rng.choice(ASK_TEMPLATES) if phrase_like else "{s}"
            service = f'[{mention}]{{"entity": "service", "value": "{entry.id}"}}'
            example = template.replace("{s}", service)
            if template in ASPECT_OF:
                phrase, value = ASPECT_OF[template]
                example = example.replace(
                    phrase, f'[{phrase}]{{"entity": "aspect", "value": "{value}"}}', 1)
            add("ask_procedure", example)
        # A walk-through is asked for a task ("chỉ mình từng bước gia hạn tạm trú"), not for
        # a problem ("... bị lừa đọc mã otp", "... mất thẻ căn cước"): those aliases are left out.
        guide_aliases = [a for a in entry.aliases if not _is_english(a.lower())
                         and not _is_description(a.lower()) and not _other_intent_alias(a)
                         and len(a.split()) <= 6 and not QUESTION_WORDS & set(a.lower().split())
                         and a.lower().split()[0] not in PROBLEM_WORDS]
        alias = rng.choice(guide_aliases or [entry.title]).lower().rstrip("?.! ")
        add("start_guide", rng.choice(GUIDE_TEMPLATES).replace(
            "{s}", f'[{alias}]{{"entity": "service", "value": "{entry.id}"}}'))

    # Every example of every out-of-scope group: many groups are near misses (bank apps, SIM
    # registration, notaries, divorce) phrased exactly like procedure questions ("... cần
    # gì", "... ở đâu"), and only their topic words tell them apart from ask_procedure.
    # Except the few that are small talk the NLU has its own intent for ("m la nguoi hay may
    # vay" is a bot_challenge): they would contradict the hand-written examples.
    social = [set(_plain(e).split()) for intent, examples in hand.items()
              if intent in SOCIAL_INTENTS for e in examples]

    def small_talk(example: str) -> bool:
        words = set(_plain(example).split())
        return any(len(words & s) / len(words | s) >= 0.5 for s in social)

    for group in oos_groups:
        for example in group.examples:
            if small_talk(example):
                continue
            add("out_of_scope", example.replace("[", "(").replace("]", ")"))

    for mention, aspects in OOS_MENTIONS.items():
        templates = [rng.choice(OOS_GENERAL)] + [OOS_ASPECT[a] for a in aspects]
        for template in rng.sample(templates, k=min(2, len(templates))):
            add("out_of_scope", template.replace("{s}", mention))

    for template in SECRET_TEMPLATES:
        for _ in range(4):
            otp = "".join(rng.choice("0123456789") for _ in range(6))
            pw = rng.choice(["Hoa", "Nam", "Lan", "Minh"]) + rng.choice("@#!") + str(rng.randint(100, 9999))
            add("share_secret", template.format(otp=otp, pw=pw))

    OUT.mkdir(exist_ok=True)
    (OUT / "examples.yml").write_text(_nlu_file(generated), encoding="utf-8")
    VARIANTS.mkdir(exist_ok=True)
    folded = {i: [_fold_example(e) for e in hand.get(i, []) + generated.get(i, [])]
              for i in sorted(set(hand) | set(generated))}
    (VARIANTS / "folded.yml").write_text(_nlu_file(folded), encoding="utf-8")
    (VARIANTS / "abbreviated.yml").write_text(_nlu_file(variants), encoding="utf-8")
    syn_lines = ['version: "3.1"', "nlu:"]
    for topic_id, names in sorted(synonyms.items()):
        syn_lines += [f"- synonym: {topic_id}", "  examples: |"]
        syn_lines += [f"    - {n}" for n in sorted(names) if n != topic_id.lower()]
    (OUT / "synonyms.yml").write_text("\n".join(syn_lines) + "\n", encoding="utf-8")
    return {intent: len(v) for intent, v in generated.items()}


if __name__ == "__main__":
    counts = generate()
    print("generated NLU examples:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
