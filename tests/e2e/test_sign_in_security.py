"""Sign-in and downloads in a real browser (issue 14, points 5 and 7): a downloaded file's
address is dead once the user signs out, or closes the browser and someone else uses the ward
app; an overlong user name gets the plain answer, never a traceback."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import VIEWPORT, WardServer
from tests.e2e.helpers import TIMEOUT_MS, choose, heading, sign_in, sign_out, wait_idle


def download_timeline(ui: Page, base_url: str) -> str:
    """Sign in as the demo nurse and download DEMO-003's timeline; the file's address."""
    sign_in(ui, base_url, "demo.nurse", lands_on="Ward overview")
    choose(ui, "Patient", "(DEMO-003)")
    ui.get_by_role("button", name="Review the course").click()
    expect(heading(ui, "Patient review")).to_be_visible(timeout=TIMEOUT_MS)
    ui.get_by_role("tab", name="Export", exact=True).click()
    wait_idle(ui)
    with ui.expect_download() as download:
        ui.get_by_role("button", name="Timeline: observations, NEWS2 and grades (CSV)").click()
    assert "DEMO-003" in Path(download.value.path()).read_text(encoding="utf-8")
    return download.value.url


def test_a_download_does_not_outlive_the_sign_out(ward_server: WardServer, ui: Page) -> None:
    url = download_timeline(ui, ward_server.url)
    sign_out(ui)
    gone = ui.request.get(url)
    assert gone.status == 404, (gone.status, url)


def test_a_download_does_not_outlive_a_closed_browser(ward_server: WardServer,
                                                      chromium: Browser) -> None:
    """The nurse closes the browser without signing out (the session lingers on the server
    for a while); the next person on the workstation finds the address in the browser's
    download list. Files are made only on click and never held by the session, so the ward
    app's next runs remove it."""
    nurse = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    url = download_timeline(nurse.new_page(), ward_server.url)
    nurse.close()
    other = chromium.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    try:
        page = other.new_page()
        sign_in(page, ward_server.url, "demo.physician", lands_on="Ward overview")
        choose(page, "Patient", "(DEMO-003)")  # a few runs of the app for someone else
        gone = page.request.get(url)
        assert gone.status == 404, (gone.status, url)
    finally:
        other.close()


def test_an_overlong_user_name_gets_the_plain_answer(ward_server: WardServer, ui: Page) -> None:
    ui.goto(ward_server.url)
    expect(heading(ui, "CAR-T ward monitor")).to_be_visible(timeout=TIMEOUT_MS)
    name = ui.get_by_label("User name")
    name.fill("n" * 500)
    assert len(name.input_value()) <= 64  # the form takes no more
    name.fill("n" * 64)
    ui.get_by_label("Password", exact=True).fill("whatever it is")
    ui.get_by_role("button", name="Sign in").click()
    expect(ui.get_by_text("user name or password not accepted")).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(ui.get_by_test_id("stException")).to_have_count(0)
