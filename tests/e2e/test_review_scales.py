"""The review page's Scales and Labs tabs in a real browser (issue 8): a patient made through
the store API, the comparison table with its markers and explanations, the lab panel; a
screenshot of each (artifacts/screenshots/review_scales*.png, review_labs.png)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from monitoring.review import patient_review
from tests.e2e.conftest import WardServer
from tests.e2e.helpers import TIMEOUT_MS, choose, heading, screenshot, sign_in, wait_idle
from tests.ui.test_review_scales import make_course
from ui.charts import MAX_DAY_LABELS


def test_a_physician_compares_the_scales_and_reads_the_lab_scores(ward_server: WardServer,
                                                                 ui: Page) -> None:
    make_course(ward_server.store, "SC-E2E")
    sign_in(ui, ward_server.url, "demo.physician", lands_on="Ward overview")
    choose(ui, "Patient", "(SC-E2E)")
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    ui.get_by_role("tab", name="Scales", exact=True).click()
    wait_idle(ui)
    table = ui.locator("[data-testid=stDataFrame]:visible").first
    expect(table).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("Organ toxicity: Lee 2014 counts it", exact=False).first
           ).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("Pennisi", exact=False).first).to_be_visible()
    screenshot(ui, "review_scales")
    ui.get_by_text("maximum per day", exact=True).click()
    wait_idle(ui)
    screenshot(ui, "review_scales_daily")
    ui.get_by_role("tab", name="Labs", exact=True).click()
    wait_idle(ui)
    expect(ui.get_by_text("IEC-HS features present: 3/5 core", exact=False)
           ).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("CAR-HEMATOTOX", exact=False).first).to_be_visible()
    screenshot(ui, "review_labs")
    expect(ui.get_by_test_id("stException")).to_have_count(0)


def test_the_bedside_form_offers_the_other_scales_inputs(ward_server: WardServer,
                                                        ui: Page) -> None:
    store = ward_server.store
    if store.patient("SC-E2E") is None:
        make_course(store, "SC-E2E")
    sign_in(ui, ward_server.url, "demo.nurse", lands_on="Ward overview")
    choose(ui, "Patient", "(SC-E2E)")
    ui.get_by_role("button", name="Record an assessment").click()
    expect(heading(ui, "Bedside entry")).to_be_visible(timeout=TIMEOUT_MS)
    ui.get_by_text("Other grading scales (optional", exact=False).click()
    wait_idle(ui)
    expect(ui.get_by_text("Norepinephrine dose per kg", exact=False).first
           ).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("Creatinine rise, CTCAE grade", exact=False)).to_be_visible()
    csf = ui.get_by_role("spinbutton", name="CSF opening pressure (mmHg)")
    csf.scroll_into_view_if_needed()
    expect(csf).to_be_visible()
    ui.wait_for_timeout(500)  # the expander's opening animation
    screenshot(ui, "entry_other_scales")
    expect(ui.get_by_test_id("stException")).to_have_count(0)


def test_the_timeline_draws_news2_and_consciousness_and_why_jumps_to_the_maximum(
        ward_server: WardServer, ui: Page) -> None:
    """Issue 18.13 in a real browser, at tablet and desktop width: the NEWS2 and ACVPU panels
    with the day labels, and the jump to the highest ICANS grade (DEMO-004: ICANS 2);
    screenshots review_timeline_820.png, review_timeline_1400.png, review_why_max.png."""
    sign_in(ui, ward_server.url, "demo.physician", lands_on="Ward overview")
    choose(ui, "Patient", "(DEMO-004)")
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    ui.set_viewport_size({"width": 820, "height": 1180})  # a tablet, once the patient is open
    wait_idle(ui)
    chart = ui.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=TIMEOUT_MS)
    for text in ("NEWS2 (RCP 2017)", "Level of consciousness (ACVPU)",
                 "NEWS2 is not scored under 16 (RCP 2017)", "V voice"):
        expect(chart.get_by_text(text, exact=True).first).to_be_attached()
    # A day label at each local midnight from the first assessment's day to the last's, each
    # the day after infusion the engine gives that day's assessments; every day up to
    # MAX_DAY_LABELS days, else every k-th. The demo ward is moved to the present minute (W16),
    # so by the time of day DEMO-004's stay starts on Day 0 or Day -1 and spans 8 or 9
    # calendar days (Day 0-7 before 00:30 UTC; Day 0, 2, ..., 8 from 00:30; Day -1, 1, ..., 7
    # from 03:30; Day 0-7 again from 05:30): the labels expected are read from the record,
    # and every one is drawn (a first-day label at noon was off the axis from 21:00 to 05:30).
    results = patient_review(ward_server.store, "DEMO-004").results
    first, last = results[0].day_post_infusion, results[-1].day_post_infusion
    step = -(-(last - first + 1) // MAX_DAY_LABELS)
    want = list(range(first, last + 1, step))
    days = chart.get_by_text(re.compile(r"^Day -?[0-9]+$"))
    expect(days).to_have_count(len(want))
    assert sorted(int(t.split()[1]) for t in days.all_text_contents()) == want
    chart.scroll_into_view_if_needed()
    screenshot(ui, "review_timeline_820")
    ui.set_viewport_size({"width": 1400, "height": 900})
    wait_idle(ui)
    chart.scroll_into_view_if_needed()
    screenshot(ui, "review_timeline_1400")
    ui.get_by_role("tab", name="Why this grade", exact=True).click()
    wait_idle(ui)
    ui.get_by_role("button", name="Show the highest ICANS grade (2)").click()
    wait_idle(ui)
    expect(ui.get_by_text("Episode maximum so far: ICANS 2")).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "review_why_max")
    expect(ui.get_by_test_id("stException")).to_have_count(0)
