"""The web page, served at / with a Content-Security-Policy that lets only its own code run."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from groovesheet_api.routes import add_get_and_head
from groovesheet_api.security import page_csp

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": page_csp(PAGE)}
router = APIRouter(include_in_schema=False)


def index() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=PAGE_HEADERS)


add_get_and_head(router, "/", index)
