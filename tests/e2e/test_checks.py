"""The checks themselves: axe-core really runs under the pages' own CSP, and each check
finds the fault it is there for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from e2e.checks import axe_results, colour_problems, focus_problems, overflow_problems
from e2e.conftest import Stage

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_axe_runs_under_the_pages_own_content_security_policy(
    page: Page, stage: Stage
) -> None:
    response = await page.goto(stage.issuer)
    assert response is not None
    assert "default-src 'none'" in response.headers["content-security-policy"]
    # The policy is in force: the page itself may run no script.
    with pytest.raises(Exception, match="Content Security Policy|Refused"):
        await page.add_script_tag(content="window.planted = true")
    assert await page.evaluate("typeof window.planted") == "undefined"
    # axe-core, injected through the DevTools protocol, runs all the same...
    clean = await axe_results(page)
    assert "color-contrast" in clean["passes"] and clean["violations"] == []
    # ...and sees a fault planted in the page.
    await page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    found = await axe_results(page)
    assert "image-alt" in [rule["id"] for rule in found["violations"]]


async def test_contrast_focus_and_overflow_checks_find_their_faults(
    page: Page, stage: Stage
) -> None:
    await page.goto(stage.issuer)
    await page.evaluate(
        """() => {
            const main = document.querySelector("main");
            const faint = document.createElement("p");
            faint.textContent = "Grey on grey";
            faint.style.color = "#777";
            faint.style.background = "#888";
            const plain = document.createElement("a");
            plain.href = "#";
            plain.textContent = "A link without a ring";
            plain.style.outline = "none";
            const wide = document.createElement("p");
            wide.textContent = "wide";
            wide.style.width = "500px";
            main.append(faint, plain, wide);
        }"""
    )
    colours = await colour_problems(page, dark=False)
    assert any('"Grey on grey": text #777777 on #888888' in line for line in colours), colours
    rings = await focus_problems(page, dark=False)
    assert any('"A link without a ring": no focus ring' in line for line in rings), rings
    assert await overflow_problems(page) == [
        "320 px wide: the page is 516 px wide and scrolls sideways"
    ]
