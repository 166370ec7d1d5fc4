"""What every page state must pass, at each size and colour scheme, with a screenshot of it.

- axe-core (WCAG 2 A and AA rules) without a single violation. It is injected with
  `page.evaluate`, which runs through the DevTools protocol: the page's own
  Content-Security-Policy (no script at all) stays as it is and is not in its way.
- Contrast computed from the styles as painted: text and controls at least 4.5:1, input
  borders 3:1, and a focus ring reached with the Tab key at least 3:1 against the
  background it is drawn on.
- No horizontal scrolling on a 320 px wide screen.

Screenshots go to build/screenshots/STATE-WIDTH-SCHEME.png.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from e2e.chromium import AXE, SCREENSHOTS

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
NARROWEST: ViewportSize = {"width": 320, "height": 640}
SCHEMES: tuple[Literal["light"], Literal["dark"]] = ("light", "dark")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MOST_TABS = 40  # a page with more stops than this is not what these pages are


@cache
def axe_source() -> str:
    return AXE.read_text()


@cache
def contrast_source() -> str:
    return (Path(__file__).parent / "contrast.js").read_text()


async def inject_axe(page: Page) -> None:
    """axe-core into the page as it is loaded now (each navigation needs it again)."""
    if await page.evaluate("typeof window.axe") != "object":
        await page.evaluate(axe_source())
    assert await page.evaluate("typeof window.axe?.run") == "function", "axe-core did not load"


async def axe_results(page: Page) -> dict[str, Any]:
    """axe's verdict on the page: `violations` and `passes`, each with the rule ids."""
    await inject_axe(page)
    result: dict[str, Any] = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
            });
            return {
                passes: result.passes.map((rule) => rule.id),
                violations: result.violations.map((rule) => ({
                    id: rule.id, help: rule.help,
                    nodes: rule.nodes.map((node) => node.failureSummary + " at " + node.html),
                })),
            };
        }""",
        AXE_TAGS,
    )
    return result


async def axe_problems(page: Page) -> list[str]:
    result = await axe_results(page)
    assert result["passes"], "axe ran no rule on the page"
    return [
        f"axe {rule['id']} ({rule['help']}): " + "; ".join(rule["nodes"])
        for rule in result["violations"]
    ]


async def colour_problems(page: Page, *, dark: bool) -> list[str]:
    problems: list[str] = await page.evaluate(contrast_source(), {"task": "colours", "dark": dark})
    return problems


async def focus_problems(page: Page, *, dark: bool) -> list[str]:
    """Tab through the page; every stop needs a visible ring of enough contrast.

    Tab runs from where focus is, past the last stop to the page itself, and round again
    until it meets a stop it has seen (or the page itself twice, on a page without any).
    """
    problems: list[str] = []
    await page.evaluate("delete window.__contrastSeen")  # the last round's stops
    on_the_page_itself = 0
    for _ in range(MOST_TABS):
        await page.keyboard.press("Tab")
        ring = await page.evaluate(contrast_source(), {"task": "focus", "dark": dark})
        if ring is None:
            on_the_page_itself += 1
            if on_the_page_itself == 2:
                break
            continue
        if ring["again"]:
            break
        where = ring["element"]
        if not ring["focusVisible"]:
            problems.append(f"{where}: Tab focus does not match :focus-visible")
        if ring["style"] == "none" or ring["width"] < 2:
            problems.append(f"{where}: no focus ring ({ring['style']} {ring['width']}px)")
        elif ring["ratio"] < ring["minimum"]:
            problems.append(
                f"{where}: focus ring {ring['colours']} is {ring['ratio']:.2f}:1, "
                f"below {ring['minimum']}:1"
            )
    else:
        problems.append(f"Tab never came round again after {MOST_TABS} presses")
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    return problems


async def overflow_problems(page: Page) -> list[str]:
    await page.set_viewport_size(NARROWEST)
    width = await page.evaluate("document.documentElement.scrollWidth")
    await page.set_viewport_size(PHONE)
    if width > NARROWEST["width"]:
        return [f"320 px wide: the page is {width} px wide and scrolls sideways"]
    return []


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def check_state(page: Page, state: str) -> None:
    """Every check, at phone and desktop size, light and dark; one screenshot of each."""
    problems: list[str] = []
    for viewport in (PHONE, DESKTOP):
        await page.set_viewport_size(viewport)
        for scheme in SCHEMES:
            await page.emulate_media(color_scheme=scheme)
            dark = scheme == "dark"
            label = f"{state}-{viewport['width']}-{scheme}"
            await screenshot(page, label)
            found = await axe_problems(page)
            found += await colour_problems(page, dark=dark)
            if viewport is DESKTOP:  # the ring's colours do not depend on the size
                found += await focus_problems(page, dark=dark)
            problems += [f"{label}: {problem}" for problem in found]
    await page.emulate_media(color_scheme="light")
    problems += [f"{state}: {problem}" for problem in await overflow_problems(page)]
    assert not problems, "\n".join(problems)
