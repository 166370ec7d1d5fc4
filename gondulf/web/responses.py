"""How every response and every error is rendered: JSON for APIs, HTML for people."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gondulf.indieauth.errors import InsufficientScope, OAuthError, TooManyRequests
from gondulf.services.signin.problems import SignInProblem
from gondulf.templating import render
from gondulf.web.keys import API_PREFIXES, SERVICES, SETTINGS
from gondulf.web.paths import Name, path_of

ERROR_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_too_large",
    503: "temporarily_unavailable",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def wants_json(request: web.Request) -> bool:
    if request.path.startswith(request.app[API_PREFIXES]):
        return True
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def oauth_error_response(error: OAuthError) -> web.Response:
    """RFC 6749 §5.2 / RFC 6750 §3: JSON, never cached, with WWW-Authenticate on 401."""
    headers = dict(NO_STORE)
    if error.status == 401 or isinstance(error, InsufficientScope):
        description = error.description.replace('"', "'")
        challenge = f'Bearer error="{error.error}", error_description="{description}"'
        if isinstance(error, InsufficientScope):
            challenge += ', scope="profile"'
        headers["WWW-Authenticate"] = challenge
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return json_response(error.body(), status=error.status, headers=headers)


def page(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    cacheable: bool = False,
    **context: Any,
) -> web.Response:
    """An HTML page; never stored by browsers or proxies unless `cacheable` (it may hold a
    CSRF value or personal data)."""
    body = render(
        f"pages/{template}",
        issuer=request.app[SETTINGS].issuer,
        path=lambda name: path_of(request, Name(name)),
        static=lambda name: str(request.app.router["static"].url_for(filename=name)),
        **context,
    )
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=None if cacheable else NO_STORE,
    )


def error_response(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    """An error as `{"error", "error_description"}` JSON or as an HTML page."""
    if wants_json(request):
        code = ERROR_CODES.get(status, "server_error" if status >= 500 else "invalid_request")
        return json_response(
            {"error": code, "error_description": detail}, status=status, headers=NO_STORE
        )
    return page(request, "error.html", status=status, title=title, detail=detail)


def count_problem(request: web.Request, problem: SignInProblem) -> None:
    """Every problem shown to a person is counted, by its kind, as a failed sign-in step."""
    request.app[SERVICES].metrics.signin_failed(problem.kind.value)


def problem_page(request: web.Request, problem: SignInProblem) -> web.Response:
    """A sign-in problem: what went wrong and exactly what to do about it."""
    count_problem(request, problem)
    response = page(
        request,
        "problem.html",
        status=problem.status,
        title=problem.title,
        detail=problem.detail,
        fix=problem.fix,
        technical=problem.technical,
    )
    if problem.retry_after:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response
