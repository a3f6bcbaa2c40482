"""Browser helpers for the end-to-end tests: signing in, waiting for Streamlit, screenshots.

Streamlit reruns the script after every committed widget change; ``data-test-script-state`` on
the app root says whether a run is in progress. Assertions still wait on visible content
(``expect``), the idle wait only keeps actions from racing a rerun.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DEMO_PASSWORD = "ward-demo-2026"
TIMEOUT_MS = 20_000

_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.dataset.testScriptState === 'notRunning'
        && app.dataset.testConnectionState === 'CONNECTED'
        && document.querySelector(
            '[data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]') === null;
}"""


def wait_idle(page: Page, timeout: float = TIMEOUT_MS) -> None:
    """Until no script run is in progress or requested, the socket is connected and no
    element still shows its loading skeleton (widget code is loaded on first use)."""
    page.wait_for_function(_IDLE, timeout=timeout)


def heading(page: Page, text: str) -> Locator:
    return page.get_by_role("heading", name=text, level=1)


def sign_in(page: Page, base_url: str, username: str, *, goto: bool = True,
            lands_on: str | None = None) -> None:
    """Sign in through the form; ``lands_on`` is the h1 expected afterwards."""
    if goto:
        page.goto(base_url)
    expect(heading(page, "CAR-T ward monitor")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if lands_on is not None:
        expect(heading(page, lands_on)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(heading(page, "CAR-T ward monitor")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)


def go(page: Page, link: str, title: str | None = None) -> None:
    """Open a page from the sidebar navigation (same session, unlike page.goto)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(heading(page, title or link)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)


def choose(page: Page, label: str, option: str) -> None:
    """Pick the option containing ``option`` in the selectbox labelled ``label``."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    page.get_by_role("option", name=re.compile(re.escape(option))).click()
    expect(box).to_have_value(re.compile(re.escape(option)), timeout=TIMEOUT_MS)
    wait_idle(page)


def fill_number(page: Page, label: str, value: str) -> None:
    """Type into a number input and press Tab so Streamlit commits it (and reruns)."""
    boxes = page.get_by_role("spinbutton", name=label, exact=True)
    shown = re.compile(rf"^{re.escape(value)}(\.0)?$")
    for attempt in (1, 2):
        _one_copy(page, boxes)  # a run still drawing may show an old copy beside the new box
        field = boxes.last
        field.fill(value)
        field.press("Tab")
        _one_copy(page, boxes)
        # an old copy can linger while the page redraws under load: every copy shown must
        # hold the value. Typing into a copy that a rerun then replaced (Streamlit drops it)
        # is retried once; a value the app itself loses fails the second time.
        try:
            for i in range(boxes.count()):
                expect(boxes.nth(i)).to_have_value(shown)
            return
        except AssertionError:
            if attempt == 2:
                raise


def _one_copy(page: Page, boxes: Locator) -> None:
    """Wait for the page to be idle and, for up to 5 s, for one copy of the box."""
    wait_idle(page)
    with contextlib.suppress(AssertionError):  # lingering: every copy is checked after
        expect(boxes).to_have_count(1, timeout=5_000)


def preview_box(page: Page) -> Locator:
    """The innermost bordered block holding the grade preview on the bedside entry page."""
    return page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_text("Before saving: grade preview", exact=True)).last


def table_row(page: Page, patient_id: str) -> dict[str, str]:
    """One row of the overview table (st.table) as {column header: cell text}."""
    table = page.get_by_test_id("stTable")
    row = table.locator("tbody tr").filter(has_text=patient_id)
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    headers = [t.strip() for t in table.locator("thead th").all_inner_texts()]
    # the app joins words with non-breaking spaces so that cells do not wrap
    cells = [t.replace("\u00a0", " ").strip() for t in row.locator("th, td").all_inner_texts()]
    assert len(headers) == len(cells), (headers, cells)
    return dict(zip(headers, cells))


def screenshot(page: Page, name: str) -> Path:
    """The whole (tall) viewport, once the page has settled, without a focus tooltip."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    wait_idle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
