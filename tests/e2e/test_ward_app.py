"""The ward app in a real browser: bedside entry to ward overview, a refused out-of-range value,
the educator's demo-only view, the idle sign-out, and a screenshot of every page.

Each test signs in on a fresh browser context; a test that writes uses a patient no other test
writes to (DEMO-001: the febrile entry; DEMO-002: the screenshots), so any order works.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REAL_PATIENT, WardServer
from tests.e2e.helpers import (
    TIMEOUT_MS,
    choose,
    fill_number,
    go,
    heading,
    preview_box,
    screenshot,
    sign_in,
    sign_out,
    table_row,
    wait_idle,
)

FEBRILE = {"Temperature (°C)": "38.6", "Heart rate (/min)": "104", "Systolic BP (mmHg)": "118",
           "Diastolic BP (mmHg)": "70", "Resp. rate (/min)": "18", "SpO2 (%)": "97"}
FEBRILE_STORED = {"temp_c": 38.6, "hr_bpm": 104, "sbp_mmhg": 118, "dbp_mmhg": 70,
                  "rr_per_min": 18, "spo2_pct": 97}


def open_entry_from_overview(page: Page, patient_id: str) -> None:
    """Overview → 'Open a patient' → choose → 'Record an assessment'."""
    expect(page.get_by_role("heading", name="Open a patient")).to_be_visible()
    choose(page, "Patient", f"({patient_id})")
    page.get_by_role("button", name="Record an assessment").click()
    expect(heading(page, "Bedside entry")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Patient", exact=True)).to_have_value(
        re.compile(re.escape(f"({patient_id})")))


def new_rows(server: WardServer, patient_id: str, before: set[int]) -> list:
    return [h for h in server.store.history(patient_id) if h.id not in before]


# --------------------------------------------------------------------------------- 1
def test_nurse_records_febrile_assessment_and_overview_shows_it(
        ward_server: WardServer, ui: Page) -> None:
    before = {h.id for h in ward_server.store.history("DEMO-001")}
    sign_in(ui, ward_server.url, "demo.nurse", lands_on="Ward overview")
    assert table_row(ui, "DEMO-001")["CRS"] == "CRS 0"

    open_entry_from_overview(ui, "DEMO-001")
    for label, value in FEBRILE.items():
        fill_number(ui, label, value)

    preview = preview_box(ui)
    expect(preview).to_contain_text("CRS 1", timeout=TIMEOUT_MS)
    expect(preview).to_contain_text("ICANS 0")
    expect(preview).to_contain_text("temperature 38.6 °C")
    save = ui.get_by_role("button", name="Save assessment")
    expect(save).to_be_enabled()
    save.click()

    expect(ui.get_by_text("Saved for Demo Patient A (synthetic)")).to_be_visible(
        timeout=TIMEOUT_MS)
    urgent = ui.get_by_test_id("stAlertContentWarning").filter(has_text="Urgent")
    expect(urgent.get_by_text(re.compile(r"^New fever 38\.6 °C"))).to_be_visible()
    wait_idle(ui)
    # the form is fresh again: nothing can be saved twice by a second click
    expect(ui.get_by_role("spinbutton", name="Temperature (°C)", exact=True)).to_have_value("")

    go(ui, "Ward overview")
    row = table_row(ui, "DEMO-001")
    assert row["CRS"] == "CRS 1", row
    assert "URGENT: New fever 38.6 °C" in row["Flags"], row

    added = new_rows(ward_server, "DEMO-001", before)
    assert len(added) == 1, added
    assert added[0].status == "final"
    assert added[0].recorded_by == "demo.nurse"
    assert {k: added[0].values.get(k) for k in FEBRILE_STORED} == FEBRILE_STORED


# --------------------------------------------------------------------------------- 1b
OVERVIEW_VIEWPORTS = ((820, 1180), (1400, 900), (1920, 1080))  # tablet, workstation, desktop
ACUITY_COLUMNS = ["Bed", "Patient", "CRS", "ICANS", "NEWS2", "Flags", "Next obs"]


def test_the_overviews_acuity_columns_fit_a_tablet_and_a_desktop_without_scrolling(
        ward_server: WardServer, ui: Page) -> None:
    """Issue 18, item 2: bed, patient, CRS, ICANS, NEWS2, the most severe flag and the next
    observations due, all on screen at 820, 1400 and 1920 px (no sideways scrolling)."""
    sign_in(ui, ward_server.url, "demo.nurse", lands_on="Ward overview")
    for width, height in OVERVIEW_VIEWPORTS:
        ui.set_viewport_size({"width": width, "height": height})
        wait_idle(ui)
        table = ui.get_by_test_id("stTable")
        headers = [t.strip() for t in table.locator("thead th").all_inner_texts()]
        assert headers == ACUITY_COLUMNS, headers
        fits = table.evaluate("t => [t.scrollWidth, t.clientWidth, "
                              "t.querySelector('thead th:last-child').getBoundingClientRect()"
                              ".right]")
        assert fits[0] <= fits[1] + 1 and fits[2] <= width, (width, fits)
        screenshot(ui, f"ward_overview_{width}x{height}")


# --------------------------------------------------------------------------------- 2
def test_out_of_range_temperature_is_shown_and_nothing_is_saved(
        ward_server: WardServer, ui: Page) -> None:
    before = len(ward_server.store.history("DEMO-001"))
    sign_in(ui, ward_server.url, "demo.nurse", lands_on="Ward overview")
    open_entry_from_overview(ui, "DEMO-001")
    fill_number(ui, "Temperature (°C)", "50")

    vitals = ui.get_by_test_id("stVerticalBlock").filter(
        has=ui.get_by_text("Vital signs", exact=True)).last
    error = vitals.get_by_test_id("stAlert")
    expect(error).to_contain_text("Temperature 50", timeout=TIMEOUT_MS)
    expect(error).to_contain_text("out of range")
    expect(error).to_contain_text("25 to 45")
    expect(preview_box(ui)).to_contain_text(
        "Correct the values marked above; nothing has been saved.")
    expect(ui.get_by_text("column temp_c")).to_have_count(0)  # no raw validator wording
    expect(ui.get_by_role("button", name="Save assessment")).to_be_disabled()
    screenshot(ui, "entry_out_of_range")

    assert len(ward_server.store.history("DEMO-001")) == before
    expect(ui.get_by_text("Saved for")).to_have_count(0)


# --------------------------------------------------------------------------------- 3
REAL_TEXT = re.compile(rf"{REAL_PATIENT['patient_id']}|{REAL_PATIENT['name']}", re.I)


def assert_no_real_patient(page: Page) -> None:
    wait_idle(page)
    expect(page.locator("body")).not_to_contain_text(REAL_TEXT)


def test_educator_never_sees_a_real_patient(ward_server: WardServer, ui: Page) -> None:
    assert ward_server.store.patient("REAL-001") is not None  # it is there to be hidden

    sign_in(ui, ward_server.url, "demo.educator", lands_on="Demo ward")
    # one page only, so Streamlit draws no page list at all; certainly no link to the others
    for title in ("Ward overview", "Bedside entry", "Patient record", "Admission and discharge",
                  "Users"):
        expect(ui.get_by_role("link", name=title)).to_have_count(0)
    expect(ui.get_by_test_id("stTable")).to_contain_text("DEMO-001")
    assert_no_real_patient(ui)

    # in the same session: the browser asks for other pages by URL (back/forward navigation)
    for path in ("patient", "entry", "overview"):
        ui.evaluate("p => { history.pushState({}, '', p);"
                    " window.dispatchEvent(new PopStateEvent('popstate')); }", f"/{path}")
        wait_idle(ui)
        expect(heading(ui, "Demo ward")).to_be_visible()
        for title in ("Patient record", "Bedside entry", "Ward overview"):
            expect(heading(ui, title)).to_have_count(0)
        assert_no_real_patient(ui)

    # typed into the address bar: a new session, so the sign-in form first (no "page not
    # found"), then the educator's own page - never the one asked for
    for path in ("patient", "entry", "overview"):
        ui.goto(f"{ward_server.url}/{path}")
        expect(ui.get_by_label("User name")).to_be_visible(timeout=TIMEOUT_MS)
        expect(ui.get_by_role("dialog")).to_have_count(0)
        sign_in(ui, ward_server.url, "demo.educator", goto=False, lands_on="Demo ward")
        for title in ("Patient record", "Bedside entry", "Ward overview"):
            expect(heading(ui, title)).to_have_count(0)
        assert_no_real_patient(ui)


def test_a_bookmarked_page_asks_for_sign_in_then_opens(ward_server: WardServer, ui: Page) -> None:
    ui.goto(f"{ward_server.url}/entry")
    expect(ui.get_by_label("User name")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_role("dialog")).to_have_count(0)
    sign_in(ui, ward_server.url, "demo.nurse", goto=False, lands_on="Bedside entry")


# --------------------------------------------------------------------------------- 4
def test_idle_timeout_signs_out(idle_server: WardServer, ui: Page) -> None:
    sign_in(ui, idle_server.url, "demo.nurse", lands_on="Ward overview")
    # hands off: 0.1 min = 6 s idle; the watcher looks every 1.5 s
    expect(ui.get_by_text(re.compile(r"Signed out after 0\.1 minutes without use"))
           ).to_be_visible(timeout=30_000)
    expect(heading(ui, "CAR-T ward monitor")).to_be_visible()
    expect(ui.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(ui.get_by_test_id("stSidebarNav")).to_have_count(0)
    # the ward overview's table is gone (the sign-in page's demo-accounts table may be there)
    expect(ui.get_by_test_id("stTable").filter(has_text="Last obs")).to_have_count(0)
    screenshot(ui, "signed_out_idle")


# --------------------------------------------------------------------------------- 5
def test_screenshots_of_every_page(ward_server: WardServer, ui: Page) -> None:
    ui.goto(ward_server.url)
    expect(heading(ui, "CAR-T ward monitor")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_role("button", name="Sign in")).to_be_visible()
    wait_idle(ui)
    screenshot(ui, "sign_in")

    sign_in(ui, ward_server.url, "demo.nurse", goto=False, lands_on="Ward overview")
    admitted = len(ward_server.store.patients(admitted_only=True))  # the demo ward + REAL-001
    expect(ui.get_by_test_id("stTable").locator("tbody tr")).to_have_count(admitted)
    screenshot(ui, "ward_overview")

    go(ui, "Observations due")
    expect(ui.get_by_role("button", name="Chart")).to_have_count(2 * admitted)
    screenshot(ui, "observations_due")
    go(ui, "Ward overview")

    open_entry_from_overview(ui, "DEMO-002")
    expect(preview_box(ui)).to_contain_text("Enter the observations made")
    screenshot(ui, "entry_empty")

    for label, value in {"Temperature (°C)": "38.9", "Heart rate (/min)": "112",
                         "Systolic BP (mmHg)": "96", "Diastolic BP (mmHg)": "58",
                         "Resp. rate (/min)": "22", "SpO2 (%)": "95"}.items():
        fill_number(ui, label, value)
    expect(preview_box(ui)).to_contain_text("Why CRS", timeout=TIMEOUT_MS)
    screenshot(ui, "entry_preview")

    ui.get_by_role("button", name="Save assessment").click()
    expect(ui.get_by_text("Saved for Demo Patient B (synthetic)")).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_idle(ui)
    screenshot(ui, "entry_saved")

    go(ui, "Patient record")
    expect(ui.get_by_role("combobox", name="Patient", exact=True)).to_have_value(
        re.compile(r"\(DEMO-002\)"))
    expect(ui.get_by_test_id("stDataFrame")).to_be_visible()
    expect(ui.get_by_role("heading", name="Correct an assessment")).to_be_visible()
    wait_idle(ui)
    screenshot(ui, "patient_record")
    sign_out(ui)

    sign_in(ui, ward_server.url, "demo.physician", goto=False, lands_on="Ward overview")
    go(ui, "Admission and discharge", "Admission and discharge")
    expect(ui.get_by_role("button", name="Admit")).to_be_visible()
    screenshot(ui, "admission")
    sign_out(ui)

    sign_in(ui, ward_server.url, "demo.admin", goto=False)
    go(ui, "Users")
    expect(ui.get_by_test_id("stDataFrame")).to_be_visible()
    expect(ui.get_by_role("button", name="Add user")).to_be_visible()
    screenshot(ui, "users")
    sign_out(ui)

    sign_in(ui, ward_server.url, "demo.educator", goto=False, lands_on="Demo ward")
    expect(ui.get_by_test_id("stTable")).to_contain_text("DEMO-004")
    screenshot(ui, "demo_ward")
    go(ui, "Teaching")
    choose(ui, "Case", "(DEMO-005)")
    expect(ui.locator(".js-plotly-plot").first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "teaching_replay")


@pytest.fixture(autouse=True)
def _no_app_exceptions(ui: Page) -> Iterator[None]:
    """A Python exception in a page shows in the browser as an exception box: never."""
    yield
    if not ui.is_closed():
        expect(ui.get_by_test_id("stException")).to_have_count(0)


# --------------------------------------------------------------------------------- 6
def test_physician_reviews_the_grade_3_crs_demo_patient(ward_server: WardServer,
                                                        ui: Page) -> None:
    sign_in(ui, ward_server.url, "demo.physician", lands_on="Ward overview")
    choose(ui, "Patient", "(DEMO-005)")
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("Maximum so far: CRS 3, ICANS 0")).to_be_visible(timeout=TIMEOUT_MS)
    chart = ui.locator(".js-plotly-plot").first  # the timeline; the markers panel follows it
    expect(chart).to_be_visible(timeout=TIMEOUT_MS)
    for title in ("Temperature °C", "SpO2 % and oxygen", "CRS / ICANS grade"):
        expect(chart.get_by_text(title, exact=True)).to_be_visible()
    expect(chart.get_by_text("high-flow nasal cannula 40 L/min")).to_be_visible()
    screenshot(ui, "review_grade3_crs")
    ui.get_by_role("tab", name="Course summary").click()
    expect(ui.get_by_text("CRS grade 3: D89.833")).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "review_course_summary")


# --------------------------------------------------------------------------------- 7
def test_nurse_acknowledges_a_flag_in_the_dialog(ward_server: WardServer, ui: Page) -> None:
    from datetime import UTC, datetime, timedelta

    from monitoring import ward
    store = ward_server.store
    ward.save(store, "DEMO-003", {"time": datetime.now(UTC) - timedelta(minutes=3),
                                  "temp_c": 38.7, "sbp_mmhg": 118, "dbp_mmhg": 70,
                                  "spo2_pct": 97}, by="demo.nurse")
    fever = next(f for f in store.open_flags("DEMO-003") if f["code"] == "new_fever")

    sign_in(ui, ward_server.url, "demo.nurse", lands_on="Ward overview")
    choose(ui, "Patient", "(DEMO-003)")
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text(re.compile(r"^\d+ open flags?: see Flags\.$"))).to_be_visible()
    ui.get_by_role("tab", name="Flags", exact=True).click()
    row = ui.get_by_test_id("stHorizontalBlock").filter(has_text="New fever 38.7 °C")
    row.get_by_role("button", name="Acknowledge").click()
    dialog = ui.get_by_role("dialog")
    expect(dialog).to_contain_text("Acknowledge a flag", timeout=TIMEOUT_MS)
    expect(dialog.get_by_role("button", name="Acknowledge")).to_be_disabled()
    dialog.get_by_label("Action taken (required)").fill("physician informed, cultures taken")
    dialog.get_by_label("Action taken (required)").press("Tab")
    wait_idle(ui)
    screenshot(ui, "acknowledge_dialog")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(ui.get_by_text("Flag acknowledged.")).to_be_visible(timeout=TIMEOUT_MS)
    history = {f["id"]: f for f in store.flags("DEMO-003")}
    assert history[fever["id"]]["ack_action"] == "physician informed, cultures taken"
    assert history[fever["id"]]["ack_by"] == "demo.nurse"
    assert fever["id"] not in {f["id"] for f in store.open_flags("DEMO-003")}
    screenshot(ui, "flag_history")
