"""Schema of a knowledge-base entry and a validator that reports file, line and field.

Run `python -m knowledge.schema FILE...` (or `govbot kb validate PATH`) to check files.
The schema is documented for authors in docs/kb_schema.md.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from knowledge.errors import Problem, ValidationFailed

TOPIC_ID = re.compile(r"^(S(0[1-9]|[1-4]\d|5[0-3])|EID(0[1-9]|1[0-4])|P0[1-6]|T01)$")
ALL_TOPIC_IDS: tuple[str, ...] = (
    tuple(f"S{i:02d}" for i in range(1, 54))
    + tuple(f"EID{i:02d}" for i in range(1, 15))
    + tuple(f"P{i:02d}" for i in range(1, 7))
    + ("T01",)
)

Category = Literal[
    "cu_tru", "giay_to_tuy_than", "giao_thong", "ho_tich", "tu_phap", "con_dau", "bao_hiem",
    "thue", "dat_dai_xay_dung", "kinh_doanh", "giao_duc", "lao_dong_xa_hoi", "quoc_phong",
    "xuat_nhap_canh", "dien_nuoc", "dinh_danh_dien_tu", "cong_dich_vu_cong", "ho_tro",
]
Channel = Literal["portal", "vneid", "office", "app", "website", "post", "phone"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=1500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    text: Text
    verified: bool
    source: Url | None = None


class FactList(_Strict):
    items: list[ShortText] = Field(min_length=1)
    verified: bool
    source: Url | None = None


class Where(_Strict):
    channels: list[Channel] = Field(min_length=1)
    text: Text


class Problem_(_Strict):
    problem: ShortText
    fix: Text


class Step(_Strict):
    title: ShortText
    instructions: Text
    tips: list[Text] = Field(default_factory=list)
    problems: list[Problem_] = Field(default_factory=list)


class Faq(_Strict):
    q: ShortText
    a: Text


class Entry(_Strict):
    """One topic of the knowledge base."""

    id: str = Field(pattern=TOPIC_ID.pattern)
    title: ShortText
    category: Category
    agency: ShortText
    aliases: list[ShortText] = Field(min_length=5)
    summary: Text
    eligibility: Fact
    documents: FactList
    fees: Fact
    processing_time: Fact
    where: Where
    steps: list[Step] = Field(min_length=3, max_length=12)
    faq: list[Faq] = Field(min_length=3)
    legal_basis: list[Fact]
    sources: list[Url]
    related: list[Annotated[str, Field(pattern=TOPIC_ID.pattern)]] = Field(default_factory=list)
    last_reviewed: dt.date
    review_notes: str | None = None

    @field_validator("aliases")
    @classmethod
    def _unique_aliases(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for alias in value:
            key = alias.casefold()
            if key in seen:
                raise ValueError(f"duplicate alias {alias!r}")
            seen.add(key)
        return value

    @property
    def unverified_facts(self) -> list[str]:
        """Names of the facts that need an admin's review."""
        names = [n for n in ("eligibility", "documents", "fees", "processing_time")
                 if not getattr(self, n).verified]
        names += [f"legal_basis[{i}]" for i, f in enumerate(self.legal_basis) if not f.verified]
        return names

    def to_data(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings), the form stored in the database."""
        return self.model_dump(mode="json", exclude_none=True)


class OutOfScopeGroup(_Strict):
    """Questions the assistant must not answer from the KB (knowledge/out_of_scope.yml)."""

    label: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
    description: ShortText
    examples: list[ShortText] = Field(min_length=1)


class OutOfScopeFile(_Strict):
    groups: list[OutOfScopeGroup]


def load_out_of_scope(path: Path) -> list[OutOfScopeGroup]:
    """The out-of-scope groups; none when the file does not exist."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    try:
        data = OutOfScopeFile.model_validate(yaml.safe_load(text) or {"groups": []})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValidationFailed([Problem(str(path), None, "", str(exc).splitlines()[0])]) from exc
    labels = [g.label for g in data.groups]
    if len(labels) != len(set(labels)):
        raise ValidationFailed([Problem(str(path), None, "groups", "labels must be unique")])
    return data.groups


# --- line-aware validation -------------------------------------------------------------


def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _node_lines(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, path + (i,), out)


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _field_name(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def parse_entry(text: str, filename: str) -> Entry:
    """Parse and validate one YAML entry; raise ValidationFailed with file/line/field."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ValidationFailed([Problem(filename, line, "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict) or node is None:
        raise ValidationFailed([Problem(filename, 1, "", "expected a mapping of fields")])
    lines: dict[tuple[Any, ...], int] = {}
    _node_lines(node, (), lines)
    try:
        entry = Entry.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(filename, _line_for(tuple(err["loc"]), lines), _field_name(tuple(err["loc"])),
                    err["msg"])
            for err in exc.errors()
        ]
        raise ValidationFailed(problems) from exc
    stem = Path(filename).stem
    if stem != entry.id and stem.upper() != entry.id:
        raise ValidationFailed(
            [Problem(filename, lines.get(("id",)), "id",
                     f"id {entry.id!r} does not match the file name {Path(filename).name!r}")]
        )
    return entry


def entry_files(path: Path) -> list[Path]:
    """The entry files of a folder (sorted), or the file itself."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"})
    return [path]


def load_entries(path: Path) -> list[Entry]:
    """Validate every file under `path`; raise ValidationFailed listing all problems."""
    if not path.exists():
        raise ValidationFailed([Problem(str(path), None, "", "no such file or folder")])
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for file in entry_files(path):
        try:
            entry = parse_entry(file.read_text(encoding="utf-8"), str(file))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            continue
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(file), None, "", f"not UTF-8 text: {exc}"))
            continue
        if entry.id in seen:
            problems.append(Problem(str(file), 1, "id", f"{entry.id} is also in {seen[entry.id]}"))
            continue
        seen[entry.id] = str(file)
        entries.append(entry)
    if problems:
        raise ValidationFailed(problems)
    if not entries:
        raise ValidationFailed([Problem(str(path), None, "", "no .yml entry files found")])
    return entries


def main(argv: list[str]) -> int:
    problems = 0
    for arg in argv or ["knowledge/topics"]:
        try:
            entries = load_entries(Path(arg))
            print(f"ok: {arg} ({len(entries)} entries)")
        except ValidationFailed as exc:
            problems += len(exc.problems)
            print(exc, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
