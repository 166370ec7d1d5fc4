"""The Jinja2 environments for pages and emails, autoescaping every HTML template."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import jinja2


def when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gondulf", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
