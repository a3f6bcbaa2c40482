"""Stored XSS, in a real browser (issue 14, point 3): an admin creates a user and admits a
patient whose names are HTML and Markdown payloads; that user confirms a grade and writes a
note; another clinician then opens the overview and the patient's review. No script of theirs
runs (a window flag stays unset), no iframe or foreign image is in the page, and every text
shows as typed. docs/security.md, "Untrusted text and exports"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import (
    TIMEOUT_MS,
    choose,
    go,
    heading,
    screenshot,
    sign_in,
    sign_out,
    wait_idle,
)

USERNAME = '<iframe srcdoc="<script>parent.xss=1</script>">'
FULL_NAME = "<img src=x onerror=\"window.xss=2\">"
PASSWORD = "Tq7#vLp9!xR2wZ-kite"
PID = "X<img src=x onerror=window.xss=3>"
NAME = "![n](http://127.0.0.1:9/n.png) :red[Red] <b>Bold</b>"
BED = "<svg onload=window.xss=4>"
NOTE = "<img src=x onerror=\"window.xss=5\"> $x^2$"

UNSAFE_DOM = """() => ({
    flag: window.xss === undefined ? null : String(window.xss),
    iframes: document.querySelectorAll('iframe[srcdoc]').length,
    images: [...document.querySelectorAll('img')].map(i => i.getAttribute('src'))
        .filter(s => s === 'x' || (s || '').includes(':9/')),
    svgs: document.querySelectorAll('svg[onload]').length,
    bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'Bold').length,
    links: document.querySelectorAll('a[href*="127.0.0.1:9"]').length,
})"""


def assert_nothing_ran(page: Page) -> None:
    wait_idle(page)
    page.wait_for_timeout(500)  # an iframe's script or an image's onerror would have run
    assert page.evaluate(UNSAFE_DOM) == {"flag": None, "iframes": 0, "images": [], "svgs": 0,
                                         "bold": 0, "links": 0}


def test_html_in_user_and_patient_names_never_runs_in_another_clinicians_session(
        ward_server: WardServer, ui: Page) -> None:
    store = ward_server.store
    sign_in(ui, ward_server.url, "demo.admin")
    go(ui, "Users")
    ui.get_by_label("User name").fill(USERNAME)
    ui.get_by_label("Full name").fill(FULL_NAME)
    choose(ui, "Role", "physician")
    ui.get_by_label(re.compile("^Initial password")).fill(PASSWORD)
    ui.get_by_role("button", name="Add user").click()
    expect(ui.get_by_text(f"User {USERNAME} added (physician).")).to_be_visible(
        timeout=TIMEOUT_MS)
    assert store.user(USERNAME)["display_name"] == FULL_NAME

    go(ui, "Admission and discharge")
    admit = ui.get_by_test_id("stForm")  # the admission form (the edit tab has a Bed too)
    admit.get_by_label("Ward patient id (required)").fill(PID)
    admit.get_by_label("Name", exact=True).fill(NAME)
    admit.get_by_label("Bed", exact=True).fill(BED)
    admit.get_by_role("button", name="Admit").click()
    expect(ui.get_by_text(f"Admitted {PID}.")).to_be_visible(timeout=TIMEOUT_MS)
    assert_nothing_ran(ui)
    sign_out(ui)

    # that user charts, confirms the grade ("confirmed by <user name>") and writes a note
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    aid = store.record_assessment(PID, {"time": at, "temp_c": 38.4, "sbp_mmhg": 120,
                                        "dbp_mmhg": 70, "spo2_pct": 97}, by=USERNAME)
    store.confirm_grade(aid, "crs", 1, by=USERNAME)
    store.add_note(PID, NOTE, by=USERNAME)

    sign_in(ui, ward_server.url, "demo.physician", lands_on="Ward overview")
    # the name shows as typed (an invisible word joiner keeps its address from being a link)
    expect(ui.get_by_test_id("stTable").get_by_text(re.compile(
        re.escape(":red[Red] <b>Bold</b>")))).to_be_visible()
    expect(ui.get_by_test_id("stTable").get_by_text(re.compile(re.escape(PID)))).to_be_visible()
    assert_nothing_ran(ui)

    go(ui, "Patient review")
    choose(ui, "Patient", f"({PID})")
    expect(ui.get_by_text(f"CRS 1 confirmed by {USERNAME}")).to_be_visible(
        timeout=TIMEOUT_MS)
    ui.get_by_role("tab", name="Physician actions").click()
    expect(ui.get_by_text(NOTE, exact=False)).to_be_visible(timeout=TIMEOUT_MS)
    ui.get_by_role("tab", name="Why this grade").click()
    expect(ui.get_by_text(f"Recorded by {USERNAME}", exact=False)).to_be_visible()
    assert_nothing_ran(ui)
    screenshot(ui, "untrusted-text-review")
    expect(heading(ui, "Patient review")).to_be_visible()
