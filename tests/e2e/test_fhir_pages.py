"""FHIR in a real browser (issue 19; decisions W18, W19): an administrator uploads the sample
Bundle on the FHIR page and sees the progress bar and the outcome, then a file with a bad
unit and its problem table (at tablet width, no sideways scroll); a physician downloads the
imported patient's FHIR Bundle from the review page. Screenshots at 1400 and 820 px wide:
artifacts/screenshots/fhir_import-*.png, fhir_problems-820.png, review_fhir-820.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import (
    ROOT,
    TIMEOUT_MS,
    heading,
    screenshot,
    sign_in,
    sign_out,
    wait_idle,
)
from tests.e2e.test_every_page_every_size import SIDEWAYS, close_sidebar, open_sidebar

SAMPLE = ROOT / "sample_data" / "fhir" / "patient1_bundle.json"
BAD_UNIT = (json.dumps({"resourceType": "Patient", "id": "bad-1", "identifier": [
    {"value": "FHIR-BAD-1"}]}) + "\n" + json.dumps({
        "resourceType": "Observation", "id": "bad-temp", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "subject": {"reference": "Patient/bad-1"},
        "effectiveDateTime": "2026-03-01T08:00:00+00:00",
        "valueQuantity": {"value": 37.0, "system": "http://unitsofmeasure.org",
                          "code": "mg"}}) + "\n")


def no_sideways_scroll(page: Page, where: str) -> None:
    over = {k: v for k, v in page.evaluate(SIDEWAYS).items() if v > 1}
    assert not over, f"{where} scrolls sideways by {over} px"


def hide_sidebar(page: Page) -> None:
    """As a nurse would on a tablet: the sidebar open (settled), hovered, then collapsed (its
    collapse button shows while the pointer is over it)."""
    open_sidebar(page)
    page.get_by_test_id("stSidebar").hover()
    close_sidebar(page)


def open_fhir_page(page: Page, url: str, user: str) -> None:
    """The page's address, then sign-in: the page asked for opens after it."""
    page.goto(f"{url}/fhir")
    sign_in(page, url, user, goto=False, lands_on="FHIR import and export")
    if page.viewport_size["width"] <= 1024:  # type: ignore[index]
        hide_sidebar(page)


def import_file(page: Page, path: Path) -> None:
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(path))
    expect(page.get_by_text(path.name).first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()


def test_an_administrator_imports_a_bundle_and_a_physician_downloads_it_as_fhir(
        ward_server: WardServer, chromium: Browser, tmp_path: Path) -> None:
    wide = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB",
                                timezone_id="UTC")
    wide.set_default_timeout(TIMEOUT_MS)
    page = wide.new_page()
    try:
        open_fhir_page(page, ward_server.url, "demo.admin")
        import_file(page, SAMPLE)
        bar = page.get_by_test_id("stProgress")
        expect(bar).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_text("Import finished.")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Imported from patient1_bundle.json.")).to_be_visible()
        expect(page.get_by_text("1 patient admitted from the hospital record: FHIR-DEMO-1",
                                exact=False)).to_be_visible()
        expect(page.get_by_text("4 assessments added", exact=False)).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        no_sideways_scroll(page, "the FHIR page after an import at 1400 px")
        screenshot(page, "fhir_import-1400")
        # the same file again: nothing new, nothing stored twice
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_text("Nothing new: everything in this file is in the ward "
                                "record already.")).to_be_visible(timeout=60_000)
    finally:
        wide.close()
    assert len([h for h in ward_server.store.history("FHIR-DEMO-1")
                if h.status == "final"]) == 4

    tablet = chromium.new_context(viewport={"width": 820, "height": 1180}, locale="en-GB",
                                  timezone_id="UTC", accept_downloads=True)
    tablet.set_default_timeout(TIMEOUT_MS)
    page = tablet.new_page()
    try:
        open_fhir_page(page, ward_server.url, "demo.admin")
        bad = tmp_path / "bad_unit.ndjson"
        bad.write_text(BAD_UNIT, encoding="utf-8")
        import_file(page, bad)
        expect(page.get_by_text("Nothing was imported: 1 problem in this file.",
                                exact=False)).to_be_visible(timeout=60_000)
        table = page.get_by_test_id("stTable")
        expect(table).to_be_visible()
        expect(table.get_by_text("the unit must be UCUM Cel or [degF] for LOINC 8310-5")
               ).to_be_visible()
        expect(page.get_by_text("Stopped: nothing was imported.")).to_be_visible()
        no_sideways_scroll(page, "the FHIR page with a problem table at 820 px")
        screenshot(page, "fhir_problems-820")
        assert ward_server.store.patient("FHIR-BAD-1") is None
        open_sidebar(page)
        sign_out(page)

        sign_in(page, ward_server.url, "demo.physician", goto=False, lands_on="Ward overview")
        hide_sidebar(page)
        box = page.get_by_role("combobox", name="Patient", exact=True)
        box.click()
        page.keyboard.type("FHIR-DEMO-1")
        page.keyboard.press("Enter")
        expect(box).to_have_value(re.compile(r"\(FHIR-DEMO-1\)"), timeout=TIMEOUT_MS)
        wait_idle(page)
        page.get_by_role("button", name="Review the course").click()
        expect(heading(page, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
        page.get_by_role("tab", name="Export", exact=True).click()
        wait_idle(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download FHIR bundle").click()
        name = download.value.suggested_filename
        assert re.fullmatch(r"FHIR-DEMO-1-FHIR-\d\d-\d\d-\d{4}\.json", name), name
        bundle = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert bundle["resourceType"] == "Bundle"
        kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
        assert kinds.count("Patient") == 1 and "Observation" in kinds
        no_sideways_scroll(page, "the review page's Export tab at 820 px")
        screenshot(page, "review_fhir-820")
    finally:
        tablet.close()
