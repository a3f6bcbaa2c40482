"""The bedside form on a tablet and on desktops (issue 18.1, 18.9), in a real browser: at 820 px
(portrait) the sidebar starts collapsed and the six vital-sign boxes are wide enough for their
figures and +/- buttons; a typed 97.5 stays 97.5 in the box its error is about. Screenshots at
820x1180, 1180x820, 1400x900 and 1920x1080 go to artifacts/screenshots/entry-<size>.png.

One test, four browser contexts (one a screen size), reading only: no other test's patient is
written to (DEMO-005 is read here; the SpO2 typed is refused, so nothing is saved).
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import TIMEOUT_MS, choose, fill_number, screenshot, sign_in, wait_idle

VITALS = ("Temperature (°C)", "Heart rate (/min)", "Systolic BP (mmHg)", "Diastolic BP (mmHg)",
          "Resp. rate (/min)", "SpO2 (%)")
# Streamlit hides a number box's +/- buttons below 7.5 rem (120 px); a little above it
MIN_BOX_PX = 130
SIZES = ((820, 1180), (1180, 820), (1400, 900), (1920, 1080))
COLLAPSED_UP_TO_PX = 1024  # app.py NARROW_SIDEBAR

BOXES = """() => [...document.querySelectorAll('[data-testid="stNumberInput"]')].map(n => ({
    label: (n.querySelector('label') || {}).innerText || '',
    width: n.getBoundingClientRect().width,
    buttons: n.querySelectorAll('[data-testid^="stNumberInputStep"]').length,
}))"""
SIDEBAR_COLLAPSED = """() => document.querySelector('[data-testid="stSidebar"]')
    .getAttribute('data-collapsed')"""


def open_form(page: Page, url: str) -> None:
    """A bookmark to the bedside entry, signed in, DEMO-005 chosen."""
    sign_in(page, f"{url}/entry", "demo.nurse", lands_on="Bedside entry")
    choose(page, "Patient", "(DEMO-005)")
    for label in VITALS:
        expect(page.get_by_role("spinbutton", name=label, exact=True)).to_be_visible(
            timeout=TIMEOUT_MS)
    wait_idle(page)


def test_the_bedside_form_is_wide_enough_at_every_screen_size_and_the_tablet_hides_the_sidebar(
        ward_server: WardServer, chromium: Browser) -> None:
    for width, height in SIZES:
        context = chromium.new_context(viewport={"width": width, "height": height},
                                       locale="en-GB", timezone_id="UTC")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            open_form(page, ward_server.url)
            collapsed = "true" if width <= COLLAPSED_UP_TO_PX else "false"
            page.wait_for_function(f"() => ({SIDEBAR_COLLAPSED})() === '{collapsed}'")
            boxes = {b["label"]: b for b in page.evaluate(BOXES) if b["label"] in VITALS}
            assert set(boxes) == set(VITALS)
            narrow = {k: round(b["width"]) for k, b in boxes.items() if b["width"] < MIN_BOX_PX}
            assert not narrow, f"{width}x{height}: vital-sign boxes too narrow: {narrow}"
            assert all(b["buttons"] == 2 for b in boxes.values()), boxes  # +/- are shown
            if width == SIZES[0][0]:
                # 18.9: the box shows what was typed, the error names the same value
                fill_number(page, "SpO2 (%)", "97.5")
                expect(page.get_by_role("spinbutton", name="SpO2 (%)", exact=True)
                       ).to_have_value("97.5")
                expect(page.get_by_text("SpO2 97.5: not a whole number")).to_be_visible()
            screenshot(page, f"entry-{width}x{height}")
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finally:
            context.close()
