"""The gateway's search API and pages through the ASGI test client (no Rasa needed)."""

import pytest
from fastapi.testclient import TestClient

from bot.gateway import create_app


@pytest.mark.slow
def test_search_ask_topics_and_health(built_index) -> None:
    with TestClient(create_app(built_index)) as client:
        assert client.get("/healthz").json()["ok"] is True
        r = client.get("/api/search", params={"q": "lam sao kich hoat vneid"}).json()
        assert r["results"][0]["id"] == "EID03" and r["status"] in {"answered", "clarify"}
        a = client.get("/api/ask", params={"q": "🙏"}).json()
        assert a["status"] == "unresolved" and a["text"]
        topics = client.get("/api/topics").json()
        assert len(topics) == 74
        assert client.get("/api/topics/s02").json()["id"] == "S02"
        assert client.get("/api/topics/X9").status_code == 404
        page = client.get("/")
        assert page.status_code == 200 and "/api/chat" in page.text  # the web chat
        search = client.get("/search")
        assert search.status_code == 200 and "/api/ask" in search.text


def test_no_index_gives_503_with_a_polite_message(tmp_path) -> None:
    from core.settings import Settings

    s = Settings(data_dir=tmp_path / "none", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with TestClient(create_app(s)) as client:
        r = client.get("/api/search", params={"q": "vneid"})
        assert r.status_code == 503
        assert "govbot kb build-index" in r.json()["detail"]
        assert r.json()["message"]
        assert client.get("/healthz").status_code == 503
