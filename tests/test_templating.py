"""Times on pages: relative to now in words, the exact UTC time kept beside them."""

from __future__ import annotations

import time

import pytest
from markupsafe import Markup

from gondulf.templating import environment, when
from gondulf.timestamps import duration_text, iso_text, relative_text

NOW = 1_795_960_920  # 2026-11-29 14:02 UTC
MINUTE, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, "just now"),
        (-44, "just now"),
        (44, "just now"),
        (-45, "1 minute ago"),
        (-90, "2 minutes ago"),
        (10 * MINUTE, "in 10 minutes"),
        (10 * MINUTE - 1, "in 10 minutes"),  # a code that expires in 599 s
        (-44 * MINUTE, "44 minutes ago"),
        (-45 * MINUTE, "1 hour ago"),
        (-5 * HOUR, "5 hours ago"),
        (2 * HOUR, "in 2 hours"),
        (-22 * HOUR, "1 day ago"),
        (-3 * DAY - 5 * HOUR, "3 days ago"),
        (-25 * DAY, "25 days ago"),
        (-26 * DAY, "1 month ago"),
        (-90 * DAY, "3 months ago"),
        (-400 * DAY, "1 year ago"),
        (-3 * 365 * DAY, "3 years ago"),
    ],
)
def test_relative_time_in_words(offset: int, expected: str) -> None:
    assert relative_text(NOW + offset, NOW) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "1 second"),
        (1, "1 second"),
        (30, "30 seconds"),
        (600, "10 minutes"),
        (3600, "1 hour"),
        (5400, "2 hours"),
        (86400, "1 day"),
        (-120, "2 minutes"),
    ],
)
def test_duration_in_words(seconds: int, expected: str) -> None:
    assert duration_text(seconds) == expected


def test_when_shows_the_relative_time_with_the_exact_utc_time_beside_it() -> None:
    shown = when(NOW - 3 * DAY, now=NOW)
    assert isinstance(shown, Markup)
    assert shown == (
        '<time datetime="2026-11-26T14:02:00Z" title="2026-11-26 14:02 UTC">3 days ago</time>'
    )
    assert iso_text(NOW) == "2026-11-29T14:02:00Z"


def test_when_without_a_time_is_never() -> None:
    assert when(None) == "never"


def test_when_in_a_page_is_relative_to_the_time_of_rendering() -> None:
    page = environment().from_string("Signed in {{ t | when }}").render(t=int(time.time()) - HOUR)
    assert page.startswith('Signed in <time datetime="') and page.endswith(">1 hour ago</time>")


def test_everything_else_stays_escaped() -> None:
    page = (
        environment()
        .from_string("{{ name }} {{ t | when }}")
        .render(name="<script>", t=int(time.time()))
    )
    assert page.startswith("&lt;script&gt; <time ") and "<script>" not in page


def test_duration_filter_in_a_page() -> None:
    assert environment().from_string("{{ 600 | duration }}").render() == "10 minutes"
