"""The `govbot` CLI through typer's test runner, as an admin or another program uses it."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from govbot.cli import app

KB = Path(__file__).parents[1] / "knowledge" / "topics"
runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_admin_flow(env_settings, tmp_path: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    r = run("kb", "validate", str(KB))
    assert r.exit_code == 0 and "entries valid" in r.output
    r = run("kb", "import", str(KB), "--actor", "admin1", "--note", "first")
    assert r.exit_code == 0 and "draft version 1" in r.output, r.output
    r = run("kb", "publish", "--no-build", "--actor", "admin1")
    assert r.exit_code == 0 and "published version 1" in r.output

    # Edit one entry and import just that file.
    edited = tmp_path / "S02.yml"
    edited.write_text((KB / "S02.yml").read_text("utf-8").replace(
        "last_reviewed: 2026-12-01", "last_reviewed: 2026-12-02"), "utf-8")
    r = run("kb", "import", str(edited), "--actor", "admin2")
    assert "draft version 2" in r.output and "S02: last_reviewed" in r.output, r.output
    versions = json.loads(run("kb", "versions", "--json").output)
    assert [v["status"] for v in versions] == ["published", "draft"]

    history = json.loads(run("kb", "history", "s02", "--json").output)
    assert [h["actor"] for h in history] == ["admin1", "admin2"]

    out = tmp_path / "export"
    assert run("kb", "export", str(out)).exit_code == 0
    assert len(list(out.glob("*.yml"))) == len(list(KB.glob("*.yml")))
    r = run("kb", "rollback", "1", "--no-build", "--actor", "admin3")
    assert r.exit_code == 0 and "content of version 1" in r.output


def test_invalid_import_is_rejected_and_nothing_changes(env_settings, tmp_path: Path) -> None:
    run("db", "upgrade")
    assert run("kb", "import", str(KB)).exit_code == 0
    assert run("kb", "publish", "--no-build").exit_code == 0
    bad = tmp_path / "S02.yml"
    bad.write_text((KB / "S02.yml").read_text("utf-8").replace("category:", "categoryy:"),
                   "utf-8")
    r = run("kb", "import", str(bad))
    assert r.exit_code == 1
    assert "S02.yml:" in r.output and "categoryy" in r.output
    versions = json.loads(run("kb", "versions", "--json").output)
    assert len(versions) == 1 and versions[0]["status"] == "published"


def run_with_env(monkeypatch, env: dict[str, str], *args: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        return run(*args)
    finally:
        get_settings.cache_clear()


def test_unreachable_database_names_the_fix(monkeypatch, tmp_path) -> None:
    r = run_with_env(monkeypatch, {
        "GOVBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        "GOVBOT_DATA_DIR": str(tmp_path)}, "kb", "versions")
    assert r.exit_code == 1
    assert "GOVBOT_DATABASE_URL" in r.output and "govbot db upgrade" in r.output


def test_missing_index_names_the_fix(monkeypatch, tmp_path) -> None:
    r = run_with_env(monkeypatch, {"GOVBOT_DATA_DIR": str(tmp_path)}, "ask", "kích hoạt vneid")
    assert r.exit_code == 1 and "govbot kb build-index" in r.output


@pytest.fixture
def index_env(built_index, monkeypatch):
    monkeypatch.setenv("GOVBOT_DATA_DIR", str(built_index.data_dir))
    monkeypatch.setenv("GOVBOT_DATABASE_URL", built_index.database_url)
    monkeypatch.setenv("GOVBOT_USE_TUNED_MODEL", "false")
    get_settings.cache_clear()
    yield built_index
    get_settings.cache_clear()


@pytest.mark.slow
def test_search_json_interface(index_env) -> None:
    r = run("search", "--json", "--k", "3",
            input="lam sao kich hoat vneid\n\n🙏\nphí đổi cccd bao nhiêu\n")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 4
    for obj in lines:
        assert set(obj) == {"q", "status", "results"}
        assert obj["status"] in {"answered", "clarify", "unresolved"}
        assert all(set(h) == {"id", "title", "score"} for h in obj["results"])
    assert lines[0]["results"][0]["id"] == "EID03" and len(lines[0]["results"]) == 3
    assert lines[1]["status"] == lines[2]["status"] == "unresolved"


@pytest.mark.slow
def test_ask_prints_the_answer(index_env) -> None:
    r = run("ask", "phí đổi cccd bao nhiêu")
    assert r.exit_code == 0 and "Lệ phí" in r.stdout


@pytest.mark.slow
def test_eval_retrieval_prints_metrics_and_writes_misses(index_env, tmp_path) -> None:
    qs = tmp_path / "q.jsonl"
    qs.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"q": "kich hoat vneid", "expected": "EID03", "style": "no_diacritics"},
        {"q": "đổi căn cước", "expected": "S02", "style": "short"},
        {"q": "công thức nấu phở", "expected": None, "style": "unrelated"},
    ]), "utf-8")
    misses = tmp_path / "misses.jsonl"
    r = run("eval", "retrieval", str(qs), "--misses", str(misses))
    assert r.exit_code == 0, r.output
    for key in ("recall@1", "recall@3", "recall@5", "mrr", "out-of-scope unresolved",
                "no_diacritics"):
        assert key in r.stdout
    assert misses.exists()


def test_doctor_names_what_is_wrong_and_the_fix(env_settings, monkeypatch) -> None:
    from tests.fakes.server import free_port

    monkeypatch.setenv("GOVBOT_RASA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GOVBOT_PORT", str(free_port()))
    monkeypatch.setenv("ZALO_APP_ID", "123")  # half-configured Zalo
    get_settings.cache_clear()
    assert run("db", "upgrade").exit_code == 0
    r = run("doctor")
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert any(line.startswith("[ok  ] database") for line in lines), r.output
    assert "[FAIL] knowledge index" in r.output and "govbot kb setup" in r.output
    assert "[FAIL] rasa server" in r.output and "make run" in r.output
    assert "[FAIL] zalo: incomplete configuration" in r.output and "ZALO_OA_SECRET_KEY" in r.output
    assert "[warn] telegram" not in r.output and "telegram: not configured" in r.output
    assert "[warn] team directory: no teams" in r.output and "govbot teams import" in r.output
    assert run("teams", "import", "teams/demo_directory.yml").exit_code == 0
    assert "Telegram is off: no cards can be posted" in run("doctor").output


def test_setup_keeps_versions_made_after_the_files_were_imported(env_settings, monkeypatch,
                                                                  tmp_path: Path) -> None:
    """`kb setup` (run by every `make run`) imports the topic files only when they changed:
    an admin's later version (a draft from the unresolved queue, published) is not
    overwritten by the files it came after."""
    import govbot.cli as cli

    monkeypatch.setattr(cli, "kb_tune", lambda **_: None)  # not what this test is about
    monkeypatch.setattr(cli, "_build_index", lambda **_: None)
    r = run("kb", "setup", "--no-tune")
    assert r.exit_code == 0 and "imported version 1" in r.output, r.output
    edited = tmp_path / "S02.yml"
    edited.write_text((KB / "S02.yml").read_text("utf-8").replace(
        "last_reviewed: 2026-12-01", "last_reviewed: 2026-12-03"), "utf-8")
    assert run("kb", "import", str(edited), "--actor", "admin").exit_code == 0
    assert run("kb", "publish", "--no-build", "--actor", "admin").exit_code == 0

    r = run("kb", "setup", "--no-tune")
    assert r.exit_code == 0 and "imported" not in r.output, r.output
    versions = json.loads(run("kb", "versions", "--json").output)
    assert [(v["version"], v["status"]) for v in versions] == [(1, "archived"), (2, "published")]

    monkeypatch.setattr(get_settings(), "kb_dir", tmp_path / "files")  # the files change
    (tmp_path / "files").mkdir()
    for path in KB.glob("*.yml"):
        text = path.read_text("utf-8")
        if path.name == "S09.yml":
            text = text.replace("last_reviewed: 2026-12-01", "last_reviewed: 2026-12-04")
        (tmp_path / "files" / path.name).write_text(text, "utf-8")
    r = run("kb", "setup", "--no-tune")
    assert r.exit_code == 0 and "imported version 3" in r.output, r.output
    assert json.loads(run("kb", "versions", "--json").output)[-1]["status"] == "published"
