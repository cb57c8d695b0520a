"""Schema validation: clear errors with file, line and field; nothing loaded on failure."""

from pathlib import Path

import pytest

from knowledge.errors import ValidationFailed
from knowledge.schema import load_entries, parse_entry

GOOD = (Path(__file__).parents[2] / "knowledge" / "topics" / "EID03.yml").read_text("utf-8")


def test_the_model_entry_is_valid() -> None:
    entry = parse_entry(GOOD, "EID03.yml")
    assert entry.id == "EID03"
    assert entry.steps[0].title
    assert "fees" in entry.unverified_facts


def _problems(text: str, name: str = "EID03.yml") -> list:
    with pytest.raises(ValidationFailed) as info:
        parse_entry(text, name)
    return info.value.problems


def test_wrong_type_reports_line_and_field() -> None:
    bad = GOOD.replace("  verified: true\n  source: https://vietnamlawmagazine",
                       "  verified: maybe\n  source: https://vietnamlawmagazine", 1)
    (problem,) = _problems(bad)
    assert problem.field == "eligibility.verified"
    expected_line = bad.splitlines().index("  verified: maybe") + 1
    assert problem.line == expected_line
    assert "EID03.yml:" in str(problem)


def test_missing_field_and_unknown_field() -> None:
    bad = GOOD.replace("category: dinh_danh_dien_tu\n", "categry: dinh_danh_dien_tu\n")
    fields = {p.field for p in _problems(bad)}
    assert {"category", "categry"} <= fields


def test_bad_step_is_located_inside_the_list() -> None:
    bad = GOOD.replace("  - title: Nhập mã OTP\n", "  - title: ''\n")
    (problem,) = _problems(bad)
    assert problem.field == "steps[1].title"
    assert bad.splitlines()[problem.line - 1].strip().startswith("- title")


def test_unknown_topic_id_and_file_name_mismatch() -> None:
    assert _problems(GOOD.replace("id: EID03", "id: EID99"))[0].field == "id"
    assert "file name" in _problems(GOOD, "S01.yml")[0].message


def test_yaml_syntax_error_has_a_line() -> None:
    (problem,) = _problems(GOOD.replace("title: Kích hoạt", "title: [Kích hoạt", 1))
    assert problem.line is not None and "YAML" in problem.message


def test_folder_with_one_bad_file_rejects_all(tmp_path: Path) -> None:
    (tmp_path / "EID03.yml").write_text(GOOD, "utf-8")
    (tmp_path / "S01.yml").write_text("id: S01\ntitle: x\n", "utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_entries(tmp_path)
    assert all(p.file.endswith("S01.yml") for p in info.value.problems)


def test_duplicate_alias_is_rejected() -> None:
    bad = GOOD.replace("  - kích hoạt VNeID\n", "  - kích hoạt VNeID\n  - Kích hoạt VNeID\n")
    assert "duplicate alias" in _problems(bad)[0].message
