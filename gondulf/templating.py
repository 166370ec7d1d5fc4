"""The Jinja2 environments for pages and emails, autoescaping every HTML template."""

from __future__ import annotations

from functools import cache

import jinja2

from gondulf.timestamps import utc_text


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gondulf", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = utc_text
    return env


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
