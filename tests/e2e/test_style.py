"""The stylesheet's parts the templates are about to use, on one specimen page.

The specimen (specimen.html) is shown at Gondulf's own address, under its
Content-Security-Policy, with the stylesheet Gondulf serves.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
import pytest_asyncio
from conftest import GONDULF, SECRET
from support.server_process import running_server
from support.smtp_server import free_port

from e2e.checks import DESKTOP, NARROWEST, PHONE, check_state

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

SPECIMEN = (Path(__file__).parent / "specimen.html").read_text()
MARKS = ("broken", "broken-q", "broken-plain", "blank", "letter", "loaded", "loaded-q")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gondulf(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Gondulf in development mode, serving its stylesheet; its address."""
    folder = tmp_path_factory.mktemp("specimen")
    port = free_port()
    env = {
        "GONDULF_SECRET_KEY": SECRET,
        "GONDULF_BASE_URL": f"http://127.0.0.1:{port}/",
        "GONDULF_DEBUG": "true",
        "GONDULF_DATABASE_URL": f"sqlite:///{folder / 'gondulf.db'}",
    }
    async with running_server(GONDULF, env, folder, port=port) as server:
        yield server.url


@pytest_asyncio.fixture(loop_scope="session")
async def specimen(page: Page, gondulf: str) -> Page:
    """The specimen as a page of Gondulf's (its address, its headers)."""
    response = await page.goto(gondulf)  # the home page: an HTML document of its own
    assert (
        response is not None and "default-src 'none'" in response.headers["content-security-policy"]
    )
    await page.set_content(SPECIMEN, wait_until="load")
    return page


async def picture(page: Page, selector: str) -> str:
    """A screenshot of one element, as a data: URL."""
    png = await page.locator(selector).screenshot()
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def strongly_different_pixels(page: Page, one: str, other: str) -> int:
    """How many pixels of the middle of two pictures (away from the rounded corners, where
    anti-aliasing differs) differ by more than a third of the range in some colour."""
    blank = await page.context.new_page()
    try:
        count: int = await blank.evaluate(
            """async ([one, other]) => {
                const pixels = async (url) => {
                    const image = new Image();
                    image.src = url;
                    await image.decode();
                    const canvas = new OffscreenCanvas(image.width, image.height);
                    const context = canvas.getContext("2d");
                    context.drawImage(image, 0, 0);
                    return context.getImageData(8, 8, image.width - 16, image.height - 16).data;
                };
                const [a, b] = [await pixels(one), await pixels(other)];
                let count = 0;
                for (let i = 0; i < Math.min(a.length, b.length); i += 4) {
                    const delta = Math.max(...[0, 1, 2].map((c) => Math.abs(a[i + c] - b[i + c])));
                    if (delta > 85) count += 1;
                }
                return count;
            }""",
            [one, other],
        )
        return count
    finally:
        await blank.close()


async def test_every_style_passes_the_checks_light_and_dark(specimen: Page) -> None:
    await check_state(specimen, "specimen")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_a_broken_logo_shows_the_letter_tile_and_a_loaded_one_covers_it(
    specimen: Page, scheme: Literal["light", "dark"]
) -> None:
    await specimen.emulate_media(color_scheme=scheme)
    shot = {name: await picture(specimen, f"#mark-{name}") for name in MARKS}

    async def same(one: str, other: str) -> bool:
        # One letter drawn twice may land a pixel apart (a few dozen pixels differ); two
        # letters, or a letter and none, differ in well over a hundred.
        return await strongly_different_pixels(specimen, shot[one], shot[other]) <= 40

    assert await strongly_different_pixels(specimen, shot["letter"], shot["blank"]) > 100
    # Broken: the letter shows, as on a tile without any image.
    assert await same("broken", "letter")
    assert not await same("broken", "broken-q")
    # Without data-letter a broken image is a plain tile: never the broken-image icon.
    assert await same("broken-plain", "blank")
    # Loaded: the image covers the letter, whichever it is.
    assert await same("loaded", "loaded-q")
    assert not await same("loaded", "letter")


async def test_a_long_name_is_cut_with_an_ellipsis_on_one_line(specimen: Page) -> None:
    await specimen.set_viewport_size(PHONE)
    name = specimen.locator("#long-name")
    cut = await name.evaluate(
        """(e) => ({
            overflowing: e.scrollWidth > e.clientWidth,
            ellipsis: getComputedStyle(e).textOverflow === "ellipsis",
            lines: Math.round(e.getBoundingClientRect().height
                / parseFloat(getComputedStyle(e).lineHeight)),
        })"""
    )
    assert cut == {"overflowing": True, "ellipsis": True, "lines": 1}


async def test_the_sticky_action_bar_stays_on_a_phone_screen(specimen: Page) -> None:
    await specimen.set_viewport_size(PHONE)
    form = specimen.locator("#long-form")
    await form.evaluate("(form) => form.scrollIntoView()")  # the form's start at the top
    form_box = await form.bounding_box()
    assert form_box is not None and form_box["y"] + form_box["height"] > PHONE["height"]
    for button in ("Allow and sign in", "Cancel (return to the app)"):
        box = await specimen.get_by_role("button", name=button).bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], button
    await specimen.set_viewport_size(DESKTOP)


async def test_technical_detail_is_folded_until_asked_for(specimen: Page) -> None:
    detail = specimen.get_by_text("connection refused")
    assert not await detail.is_visible()
    await specimen.get_by_text("Technical detail").click()
    assert await detail.is_visible()


async def test_visually_hidden_text_is_read_but_not_shown(specimen: Page) -> None:
    link = specimen.get_by_role("link", name="End access for app.example.com")
    hidden = link.locator(".visually-hidden")
    box = await hidden.bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1


async def test_long_addresses_wrap_on_the_narrowest_phone(specimen: Page) -> None:
    await specimen.get_by_text("Technical detail").click()  # its long line shown too
    await specimen.set_viewport_size(NARROWEST)
    assert await specimen.evaluate("document.documentElement.scrollWidth") <= NARROWEST["width"]
