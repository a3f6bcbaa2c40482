"""Intensive care on the Patient record page on a tablet (decision R10), in a real browser: at
820 px a nurse records a transfer to intensive care for REAL-001; the page says since when,
lists the stay, and does not scroll sideways. Screenshot: artifacts/screenshots/
icu-patient-820x1180.png. Writes one ICU stay of REAL-001 (no other e2e test reads its stays).
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import TIMEOUT_MS, choose, screenshot, sign_in, wait_idle
from tests.e2e.test_every_page_every_size import SIDEWAYS


def test_a_nurse_records_a_transfer_to_intensive_care_on_a_tablet(
        ward_server: WardServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 820, "height": 1180}, locale="en-GB",
                                   timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, f"{ward_server.url}/patient", "demo.nurse", lands_on="Patient record")
        choose(page, "Patient", "(REAL-001)")
        expect(page.get_by_text("No stay in intensive care recorded.")).to_be_visible()
        page.get_by_role("button", name="Record the transfer to intensive care").click()
        expect(page.get_by_text("In intensive care since")).to_be_visible(timeout=TIMEOUT_MS)
        wait_idle(page)
        (stay,) = ward_server.store.icu_stays("REAL-001")
        assert (stay["returned_at"], stay["recorded_by"]) == (None, "demo.nurse")
        expect(page.get_by_role("button", name="Record the return to the ward")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        over = {k: v for k, v in page.evaluate(SIDEWAYS).items() if v > 1}
        assert not over, f"the patient record scrolls sideways by {over} px"
        screenshot(page, "icu-patient-820x1180")
    finally:
        context.close()
