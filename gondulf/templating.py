"""The Jinja2 environments for pages and emails, autoescaping every HTML template."""

from __future__ import annotations

import time
from functools import cache

import jinja2
from markupsafe import Markup

from gondulf.timestamps import duration_text, iso_text, relative_text, utc_text


def when(timestamp: int | None, now: float | None = None) -> Markup:
    """A time as people say it, relative to now, with the exact UTC time beside it:
    `<time datetime="2026-11-26T14:02:00Z" title="2026-11-26 14:02 UTC">3 days ago</time>`.
    """
    if timestamp is None:
        return Markup("never")
    relative = relative_text(timestamp, time.time() if now is None else now)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso_text(timestamp), utc_text(timestamp), relative
    )


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gondulf", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when  # past or future: "3 days ago", "in 10 minutes"
    env.filters["duration"] = duration_text  # a number of seconds: "10 minutes"
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
