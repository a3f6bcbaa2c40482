"""Every page at the three screen sizes of issue 18 (a tablet in portrait 820x1180, a small
desktop 1400x900, a full-HD desktop 1920x1080), in a real browser: each role that owns pages signs
in and opens every page its sidebar lists; no page shows an exception box or a traceback, and no
page scrolls sideways. A screenshot of each page at each size goes to
artifacts/screenshots/<page>-<W>x<H>.png, for a person to look at (issue 18 "Done means").

One test, one browser context a screen size, reading only (nothing is saved). At 820 px the
sidebar starts collapsed, as a nurse's tablet shows it: it is opened to click a page's link and
closed again before the checks and the screenshot.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import TIMEOUT_MS, heading, screenshot, sign_in, sign_out, wait_idle
from ui import session

SIZES = ((820, 1180), (1400, 900), (1920, 1080))
ROLES = ("nurse", "physician", "educator", "admin")  # demo.<role>, the roles that own pages

# How far the page and Streamlit's own scroll containers are wider than what they show
SIDEWAYS = """() => {
    const out = {document: document.documentElement.scrollWidth - window.innerWidth};
    for (const id of ['stMain', 'stMainBlockContainer']) {
        const el = document.querySelector(`[data-testid="${id}"]`);
        if (el) out[id] = el.scrollWidth - el.clientWidth;
    }
    return out;
}"""


NARROW_PX = 1024  # app.py NARROW_SIDEBAR: up to this width the sidebar starts collapsed
SIDEBAR_GONE = """() => {
    const bar = document.querySelector('[data-testid="stSidebar"]');
    return bar.getAttribute('data-collapsed') === 'true'
        && bar.getBoundingClientRect().right <= 1;
}"""


def sidebar_collapsed(page: Page) -> bool:
    return page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true"


def open_sidebar(page: Page) -> None:
    if sidebar_collapsed(page):
        page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport(timeout=TIMEOUT_MS)


def close_sidebar(page: Page) -> None:
    """Collapse the sidebar and wait until it has slid out of sight (its animation)."""
    if not sidebar_collapsed(page):
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    page.wait_for_function(SIDEBAR_GONE)
    page.wait_for_timeout(400)  # the main column widens after the sidebar has gone


def open_page(page: Page, key: str) -> None:
    """Open a page through the sidebar's link, as the same signed-in session. At tablet width
    the sidebar is opened for the click and closed again, as a nurse would."""
    title = session.PAGES[key][1]
    open_sidebar(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(heading(page, title)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    if page.viewport_size["width"] <= NARROW_PX:  # type: ignore[index]
        close_sidebar(page)
    wait_idle(page)


def test_every_page_opens_without_an_error_or_sideways_scroll_at_every_screen_size(
        ward_server: WardServer, chromium: Browser) -> None:
    shot: dict[tuple[int, int], list[str]] = {}
    for width, height in SIZES:
        context = chromium.new_context(viewport={"width": width, "height": height},
                                       locale="en-GB", timezone_id="UTC")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        done: list[str] = []
        try:
            page.goto(ward_server.url)
            for role in ROLES:
                todo = [k for k in session.allowed_pages(role) if k not in done]
                if not todo:
                    continue
                sign_in(page, ward_server.url, f"demo.{role}", goto=False)
                for key in todo:
                    open_page(page, key)
                    where = f"{key} at {width}x{height} as {role}"
                    expect(page.get_by_test_id("stException")).to_have_count(0)
                    assert "Traceback" not in page.inner_text("body"), where
                    over = {k: v for k, v in page.evaluate(SIDEWAYS).items() if v > 1}
                    assert not over, f"{where} scrolls sideways by {over} px"
                    screenshot(page, f"{key}-{width}x{height}")
                    done.append(key)
                open_sidebar(page)
                sign_out(page)
        finally:
            context.close()
        shot[(width, height)] = done
    every_page = set(session.PAGES)
    assert all(set(keys) == every_page for keys in shot.values()), shot
