"""Generate the part of the NLU training data that is derived, not written by hand.

Writes nlu/generated/ (ignored by git; `make train` runs this first):
- service synonyms: every KB title and alias (and its diacritic-free form) -> catalogue id;
- ask_procedure / start_guide examples for every KB topic from its aliases;
- out_of_scope examples from knowledge/out_of_scope.yml;
- share_secret examples (messages carrying an OTP or password; the codes are random);
- nlu/variants/: every example without diacritics (folded.yml) and hand-written ones with
  abbreviations (abbreviated.yml), for the diacritic-free cross-validation.
An example whose normalised form already belongs to another intent is dropped, so no
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

# Reverse abbreviations (full form -> what people type), applied to whole words.
SHORTEN = [("không", "ko"), ("được", "đc"), ("căn cước công dân", "cccd"),
           ("bảo hiểm y tế", "bhyt"), ("bảo hiểm xã hội", "bhxh"), ("giấy phép lái xe", "gplx"),
           ("số điện thoại", "sdt"), ("mật khẩu", "mk"), ("dịch vụ công", "dvc"),
           ("như thế nào", "ntn"), ("gì", "j"), ("với", "vs"), ("rồi", "r"), ("mình", "mik"),
           ("đăng ký", "đk"), ("tài khoản", "tk"), ("hồ sơ", "hs")]
ASK_TEMPLATES = ["{s}", "cho mình hỏi {s}", "{s} thế nào ạ", "{s} làm sao", "mình muốn {s}",
                 "hỏi về {s}", "{s} cần gì", "{s} ở đâu", "{s} mất bao lâu", "phí {s} bao nhiêu"]
ASPECT_OF = {"{s} cần gì": ("cần gì", "documents"), "{s} ở đâu": ("ở đâu", "where"),
             "{s} mất bao lâu": ("mất bao lâu", "processing_time"),
             "phí {s} bao nhiêu": ("bao nhiêu", "fee")}
GUIDE_TEMPLATES = ["hướng dẫn từng bước {s}", "chỉ mình từng bước {s} với",
                   "hướng dẫn tôi {s} từng bước một"]
SECRET_TEMPLATES = ["mã otp của em là {otp}", "otp {otp} nhé", "ma otp la {otp}",
                    "mật khẩu vneid của tôi là {pw}", "mk của em là {pw} bạn đăng nhập giúp",
                    "passcode là {otp}", "đây là mã xác thực {otp} bạn kích hoạt hộ mình",
                    "mat khau la {pw}", "tôi gửi mã {otp} rồi đó", "password: {pw}",
                    "mã xác nhận vừa nhận được là {otp}", "passcode của tôi {otp} có đúng không",
                    "em nhập otp {otp} mà ko được", "mk vneid {pw} đúng ko", "ma xac thuc {otp}"]
QUESTION_WORDS = {"gì", "sao", "không", "nào", "đâu", "bao", "thế", "làm", "được", "có"}
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
        if not key or owner.get(key, intent) != intent or "\n" in example or example in seen_raw:
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
        for alias in rng.sample(entry.aliases, k=min(4, len(entry.aliases))):
            mention = alias.lower().rstrip("?.! ")
            phrase_like = len(mention.split()) <= 5 and not QUESTION_WORDS & set(mention.split())
            template = rng.choice(ASK_TEMPLATES) if phrase_like else "{s}"
            service = f'[{mention}]{{"entity": "service", "value": "{entry.id}"}}'
            example = template.replace("{s}", service)
            if template in ASPECT_OF:
                phrase, value = ASPECT_OF[template]
                example = example.replace(
                    phrase, f'[{phrase}]{{"entity": "aspect", "value": "{value}"}}', 1)
            add("ask_procedure", example)
        alias = rng.choice(entry.aliases).lower().rstrip("?.! ")
        add("start_guide", rng.choice(GUIDE_TEMPLATES).replace(
            "{s}", f'[{alias}]{{"entity": "service", "value": "{entry.id}"}}'))

    for group in oos_groups:
        for example in group.examples[:4]:
            add("out_of_scope", example.replace("[", "(").replace("]", ")"))

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
