"""How every response and every error is rendered: JSON for APIs, HTML for people."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gondulf.templating import render

API_PREFIXES = ("/health", "/.well-known/", "/token", "/introspect", "/revoke", "/userinfo")
ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def wants_json(request: web.Request) -> bool:
    if request.path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def page(request: web.Request, template: str, *, status: int = 200, **context: Any
         ) -> web.Response:
    from gondulf.web.keys import SETTINGS

    body = render(f"pages/{template}", issuer=request.app[SETTINGS].issuer, **context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def error_response(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    """An error as `{"error", "error_description"}` JSON or as an HTML page."""
    if wants_json(request):
        code = ERROR_CODES.get(status, "server_error" if status >= 500 else "invalid_request")
        return json_response(
            {"error": code, "error_description": detail}, status=status, headers=NO_STORE
        )
    return page(request, "error.html", status=status, title=title, detail=detail)
