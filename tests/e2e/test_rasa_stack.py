"""End to end through the REST channel of a real Rasa server and a real action server."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import httpx
import pytest

from core.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def say(rasa_url: str, sender: str, text: str) -> list[dict]:
    r = httpx.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                   timeout=30)
    r.raise_for_status()
    return r.json()


def texts(replies: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in replies)


def test_parse_endpoint_understands_unaccented_vietnamese(stack) -> None:
    rasa_url, _, settings = stack
    token = {"token": settings.rasa_api_token()}
    r = httpx.post(f"{rasa_url}/model/parse", json={"text": "lam sao kich hoat vneid"},
                   params=token, timeout=30)
    assert r.json()["intent"]["name"] == "ask_procedure"
    r = httpx.post(f"{rasa_url}/model/parse", json={"text": "chao ban"}, params=token, timeout=30)
    assert r.json()["intent"]["name"] == "greet"


def test_the_http_api_needs_the_token(stack) -> None:
    """Rasa's HTTP API reads and erases conversations: not without the token."""
    rasa_url, _, settings = stack
    for method, path in (("GET", "/status"), ("GET", "/conversations/tg:1/tracker"),
                         ("PUT", "/conversations/tg:1/tracker/events")):
        for params in ({}, {"token": "wrong"}):
            r = httpx.request(method, f"{rasa_url}{path}", params=params, json=[], timeout=30)
            assert r.status_code == 401, (method, path, params, r.status_code)
    r = httpx.get(f"{rasa_url}/status", params={"token": settings.rasa_api_token()}, timeout=30)
    assert r.status_code == 200 and r.json()["model_file"]
    # the channel citizens' messages come through needs none
    r = httpx.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": "web:t", "message": "chao"},
                   timeout=30)
    assert r.status_code == 200


def test_answer_guide_digression_and_resume(stack) -> None:
    rasa_url, _, _ = stack
    sender = f"web:{uuid.uuid4().hex[:8]}"
    replies = say(rasa_url, sender, "lam sao kich hoat vneid")
    assert "Kích hoạt tài khoản" in texts(replies)
    payloads = [b["payload"] for m in replies for b in m.get("buttons", [])]
    assert '/start_guide{"service": "EID03"}' in payloads
    assert "Bước 1/4" in texts(say(rasa_url, sender, '/start_guide{"service": "EID03"}'))
    assert "Bước 2/4" in texts(say(rasa_url, sender, "xong rồi, bước tiếp theo"))
    digression = texts(say(rasa_url, sender, "phí làm hộ chiếu bao nhiêu"))
    assert "hộ chiếu" in digression.lower() and "Bạn đang ở Bước 2/4" in digression
    say(rasa_url, sender, "/restart")  # a new session: the tracker is empty
    assert "Bước 2/4" in texts(say(rasa_url, sender, "tiếp tục phần hướng dẫn hôm qua"))


def test_escalation_flow_creates_a_case(stack, monkeypatch) -> None:
    rasa_url, _, settings = stack
    sender = f"tg:{uuid.uuid4().hex[:8]}"
    say(rasa_url, sender, "vneid báo lỗi, số của tôi 0912345678")
    ask_location = texts(say(rasa_url, sender, "cho tôi gặp người hỗ trợ"))
    assert "xã/phường" in ask_location
    assert "đồng ý" in texts(say(rasa_url, sender, "xã Tân Lập, Thái Nguyên")).lower()
    done = texts(say(rasa_url, sender, "/affirm"))
    assert "mã #" in done and "Tân Lập" in done
    env = {**os.environ, "GOVBOT_DATA_DIR": str(settings.data_dir),
           "GOVBOT_DATABASE_URL": settings.database_url}
    out = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "govbot"), "escalations", "list",
                          "--json"], env=env, capture_output=True, text=True, check=True).stdout
    cases = [c for c in json.loads(out) if c["sender_id"] == sender]
    assert len(cases) == 1 and "0912345678" not in json.dumps(cases, ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "   ", "🙏🙏🙏", "a" * 5000, "你好，我需要帮助",
                                  "<script>alert(1)</script>", "**đậm** [link](http://x.y)",
                                  '/ask_procedure{"service": "X99"}', '/start_guide{"service": 1}',
                                  "mã otp của em là 482913"])
def test_bad_input_gets_a_polite_reply(stack, text) -> None:
    rasa_url, _, _ = stack
    replies = say(rasa_url, f"web:{uuid.uuid4().hex[:8]}", text)
    assert replies and all(m.get("text") for m in replies)
    assert "<script>" not in texts(replies)


def test_conversation_tests_pass(stack, tmp_path) -> None:
    """Rasa's own conversation tests (tests/conversations) with the real action server."""
    _, action_url, _ = stack
    from govbot.processes import RASA_BIN, latest_model

    env = {**os.environ, "GOVBOT_ACTION_SERVER_URL": action_url, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [str(RASA_BIN), "test", "core", "--stories", "tests/conversations", "--model",
         str(latest_model()), "--endpoints", "nlu/endpoints.yml", "--out", str(tmp_path),
         "--fail-on-prediction-errors"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, detail


def _rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    from govbot.processes import RASA_BIN

    env = {**os.environ, "GOVBOT_ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
           "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([str(RASA_BIN), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validate_passes() -> None:
    result = _rasa("data", "validate", "--config", "nlu/config.yml", "--domain", "nlu/domain.yml",
                   "--data", "nlu/data", "nlu/generated")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def test_rasa_test_nlu_on_abbreviated_variants(tmp_path) -> None:
    """The trained model on the script-made abbreviated variants of the hand-written data."""
    from govbot.processes import latest_model

    result = _rasa("test", "nlu", "--nlu", "nlu/variants/abbreviated.yml", "--model",
                   str(latest_model()), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    assert report["weighted avg"]["f1-score"] >= 0.9, report["weighted avg"]
