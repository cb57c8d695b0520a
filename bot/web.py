"""The HTTP service: a search page for people, `/api/search`, `/api/ask` and `/healthz`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, JSONResponse

from core.settings import Settings, get_settings
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Trợ lý dịch vụ công", docs_url="/api/docs", openapi_url="/api/openapi.json")
    state: dict[str, Any] = {"service": None, "error": None}

    def service():
        if state["service"] is None:
            from knowledge.service import KnowledgeService

            try:
                state["service"] = KnowledgeService.from_settings(settings)
                state["error"] = None
            except KnowledgeError as exc:
                state["error"] = str(exc)
                return None
        return state["service"]

    def unavailable() -> JSONResponse:
        return JSONResponse(status_code=503, content={
            "error": "search_unavailable", "detail": state["error"],
            "message": "Hệ thống tra cứu đang bảo trì, bạn vui lòng thử lại sau ít phút."})

    @app.on_event("startup")
    def _warm() -> None:
        if service() is None:
            log.error("search is unavailable: %s", state["error"])

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        svc = service()
        if svc is None:
            return JSONResponse(status_code=503, content={"ok": False, "error": state["error"]})
        return JSONResponse({"ok": True, **svc.info()})

    @app.get("/api/search")
    def api_search(q: str = Query("", max_length=20000), k: int = Query(5, ge=1, le=50)):
        svc = service()
        if svc is None:
            return unavailable()
        return svc.search(q, k=k).as_dict()

    @app.get("/api/ask")
    def api_ask(q: str = Query("", max_length=20000)):
        svc = service()
        if svc is None:
            return unavailable()
        return svc.answer(q).as_dict()

    @app.get("/api/topics")
    def api_topics():
        svc = service()
        if svc is None:
            return unavailable()
        return [{"id": e.id, "title": e.title, "category": e.category,
                 "unverified": e.unverified_facts} for e in svc.list_entries()]

    @app.get("/api/topics/{topic_id}")
    def api_topic(topic_id: str):
        svc = service()
        if svc is None:
            return unavailable()
        entry = svc.get_entry(topic_id.upper())
        if entry is None:
            return JSONResponse(status_code=404, content={"error": "unknown_topic"})
        return entry.to_data()

    return app
