"""The web chat: `POST /api/chat` on a real gateway process, and the page in headless Chromium."""

from __future__ import annotations

import os
import shutil
import uuid

import httpx
import pytest

pytestmark = pytest.mark.slow


def chat(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/api/chat", json=body, timeout=30)


def test_api_chat_answers_with_buttons_and_takes_payloads(gateway) -> None:
    user = f"t{uuid.uuid4().hex[:8]}"
    r = chat(gateway["url"], user_id=user, text="lam sao kich hoat vneid").json()
    assert "Kích hoạt tài khoản" in r["messages"][0]["text"]
    buttons = {b["title"]: b["payload"] for m in r["messages"] for b in m["buttons"]}
    step = chat(gateway["url"], user_id=user, payload=buttons["Hướng dẫn từng bước"]).json()
    assert "Bước 1/4" in "\n".join(m["text"] for m in step["messages"])


@pytest.mark.parametrize("body, status", [
    ({"user_id": "bad id with spaces", "text": "x"}, 422),
    ({"text": "x"}, 422),
    ({"user_id": "u1", "text": 5}, 422),
])
def test_api_chat_rejects_bad_requests(gateway, body, status) -> None:
    r = chat(gateway["url"], **body)
    assert r.status_code == status and r.json()["message"]


def test_api_chat_bad_json_and_odd_messages(gateway) -> None:
    url = gateway["url"]
    r = httpx.post(f"{url}/api/chat", content=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"]
    user = f"t{uuid.uuid4().hex[:8]}"
    for text in ["", "🙏🙏🙏", "<script>alert(1)</script>", "**đậm** [link](http://x)", "x" * 5000,
                 "Привет как дела"]:
        messages = chat(url, user_id=user, text=text).json()["messages"]
        assert messages and all(m["text"] or m["buttons"] for m in messages), text
    forged = chat(url, user_id=user, payload='/ask_procedure{"service": "ZZ99"}').json()["messages"]
    assert forged and forged[0]["text"]
    assert "2.000 ký tự đầu" in chat(url, user_id=user, text="a " * 2500).json()["messages"][0]["text"]


def chromium_path() -> str:
    path = os.environ.get("GOVBOT_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is missing: run scripts/setup_browser.sh (make test does).")
    return path


def test_web_chat_page_in_a_real_browser(gateway) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(gateway["url"] + "/")
            page.fill("#q", "lam sao kich hoat vneid")
            page.press("#q", "Enter")
            button = page.get_by_role("button", name="Hướng dẫn từng bước")
            button.wait_for(timeout=30_000)
            assert "Kích hoạt tài khoản" in page.inner_text("#log")
            button.click()
            page.get_by_text("Bước 1/4").first.wait_for(timeout=30_000)
            # Text from the server is shown as text, never as HTML.
            page.fill("#q", "<img src=x onerror=alert(1)>")
            page.press("#q", "Enter")
            page.locator(".msg.me", has_text="<img src=x").wait_for(timeout=10_000)
            assert page.locator("#log img").count() == 0
        finally:
            browser.close()
