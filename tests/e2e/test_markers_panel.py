"""The markers panel in a real browser (issue 20 points 2 and 5), at tablet (820 px) and desktop
(1400 px) width: a demo patient's timeline with the markers panel below it (IL-6 after
tocilizumab annotated, the caption naming the source), and the teaching replay's marker chart.
Screenshots: artifacts/screenshots/markers_panel_820.png, markers_panel_1400.png,
markers_teaching_replay.png."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import WardServer
from tests.e2e.helpers import (
    SCREENSHOTS,
    TIMEOUT_MS,
    choose,
    go,
    heading,
    screenshot,
    sign_in,
    sign_out,
    wait_idle,
)
from tests.e2e.test_every_page_every_size import SIDEWAYS

PANEL_TITLES = ("IL-6 pg/mL", "CRP mg/L", "Ferritin µg/L", "Fibrinogen g/L")


def test_a_demo_patients_timeline_shows_the_markers_panel_and_the_teaching_replay_too(
        ward_server: WardServer, ui: Page) -> None:
    sign_in(ui, ward_server.url, "demo.physician", lands_on="Ward overview")
    choose(ui, "Patient", "(DEMO-002)")  # grade 2 CRS, IL-6 after tocilizumab
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    ui.set_viewport_size({"width": 820, "height": 1180})
    wait_idle(ui)
    panel = ui.locator(".js-plotly-plot").nth(1)
    expect(panel).to_be_attached(timeout=TIMEOUT_MS)
    for text in (*PANEL_TITLES, "Anti-cytokine and corticosteroid doses", "tocilizumab"):
        expect(panel.get_by_text(text, exact=True).first).to_be_attached()
    expect(panel.get_by_text("after tocilizumab:").first).to_be_attached()
    expect(ui.get_by_text("Nishimoto N et al., Blood 2008;112:3959-64", exact=False)
           ).to_be_attached()
    for width, height in ((820, 2400), (1400, 2400)):  # tall: the whole panel in view
        ui.set_viewport_size({"width": width, "height": height})
        wait_idle(ui)
        panel.scroll_into_view_if_needed()
        ui.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(SCREENSHOTS / f"markers_panel_{width}.png"))
        over = {k: v for k, v in ui.evaluate(SIDEWAYS).items() if v > 1}
        assert not over, f"{width} px: the page scrolls sideways by {over}"
    ui.set_viewport_size({"width": 820, "height": 1180})
    wait_idle(ui)
    ui.get_by_text("Markers to show").scroll_into_view_if_needed()
    screenshot(ui, "markers_panel_controls_820")  # the choice above the panel
    ui.get_by_text("Nishimoto N et al.", exact=False).scroll_into_view_if_needed()
    screenshot(ui, "markers_panel_caption_820")  # the caption below it
    # the user chooses the markers: taking IL-6 away takes its row and its note away
    ui.get_by_role("button", name="Remove IL-6").first.click()
    wait_idle(ui)
    panel = ui.locator(".js-plotly-plot").nth(1)
    expect(panel.get_by_text("CRP mg/L", exact=True)).to_be_attached()
    expect(panel.get_by_text("IL-6 pg/mL", exact=True)).to_have_count(0)
    expect(ui.get_by_test_id("stException")).to_have_count(0)

    # the teaching replay: the markers known at the step
    ui.set_viewport_size({"width": 1400, "height": 900})
    sign_out(ui)
    sign_in(ui, ward_server.url, "demo.educator", goto=False, lands_on="Demo ward")
    go(ui, "Teaching")
    choose(ui, "Case", "(DEMO-002)")
    ui.set_viewport_size({"width": 820, "height": 1180})
    wait_idle(ui)
    ui.get_by_role("tab", name="Lab results so far").click()
    wait_idle(ui)
    chart = ui.locator(".js-plotly-plot").nth(1)
    expect(chart.get_by_text("CRP mg/L", exact=True)).to_be_attached(timeout=TIMEOUT_MS)
    chart.scroll_into_view_if_needed()
    ui.wait_for_timeout(300)
    chart.screenshot(path=str(SCREENSHOTS / "markers_teaching_replay.png"))
    expect(ui.get_by_test_id("stException")).to_have_count(0)
