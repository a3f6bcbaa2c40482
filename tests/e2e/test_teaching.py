"""Teaching in a real browser, as the educator: load a case from the library, replay it (next
change, play, pause), then play one grading quiz to the end and check the score and its export.
Screenshots of each teaching page go to artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from monitoring import library, teaching
from tests.e2e.conftest import WardServer
from tests.e2e.helpers import (
    SCREENSHOTS,
    TIMEOUT_MS,
    choose,
    fill_number,
    go,
    heading,
    screenshot,
    sign_in,
    wait_idle,
)

CASE = "DEMO-006"  # early grade 1 CRS after ide-cel: not in the standard demo ward


@pytest.fixture(autouse=True)
def _no_app_exceptions(ui: Page) -> Iterator[None]:
    yield
    if not ui.is_closed():
        expect(ui.get_by_test_id("stException")).to_have_count(0)


def click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    wait_idle(page)


def pick(page: Page, group: str, option: str) -> None:
    """Choose ``option`` in the radio group labelled ``group``."""
    radios = page.get_by_role("radiogroup", name=group)
    radios.get_by_text(option, exact=True).click()
    wait_idle(page)


def test_educator_loads_a_case_replays_it_and_plays_a_quiz_to_the_end(
        ward_server: WardServer, ui: Page) -> None:
    store = ward_server.store
    assert store.patient(CASE) is None
    sign_in(ui, ward_server.url, "demo.educator", lands_on="Demo ward")

    # the library: load the case, open it in Teaching
    go(ui, "Case library")
    expect(ui.get_by_test_id("stDataFrame")).to_be_visible()
    choose(ui, "Case", CASE)
    expect(ui.get_by_text("Every grade on this card is the grading engine's.")).to_be_visible()
    screenshot(ui, "case_library")
    click(ui, "Load into the demo ward")
    expect(ui.get_by_text(re.compile(rf"\({CASE}\) loaded into the demo ward"))).to_be_visible(
        timeout=TIMEOUT_MS)
    click(ui, "Open in Teaching")
    expect(heading(ui, "Teaching")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text("Early grade 1 CRS after ide-cel")).to_be_visible()

    # replay: the next change, then play for a few seconds and pause
    results = teaching.course(store, CASE)
    named = teaching.card_times_in_ward(store, CASE, library.find_case(store, CASE))
    moments = teaching.key_moments(results, named)
    asked = teaching.quiz_steps(results, named, CASE)  # key moments and other steps
    click(ui, "next change ▶▶")
    expect(ui.get_by_text(re.compile(rf"Step {moments[1] + 1} of {len(results)}"))
           ).to_be_visible()
    expect(ui.locator(".js-plotly-plot").first).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "teaching_replay_step")
    choose(ui, "Speed", "fast (every second)")
    click(ui, "▶ play")
    expect(ui.get_by_text(re.compile(rf"Step {moments[1] + 3} of {len(results)}"))
           ).to_be_visible(timeout=15_000)
    click(ui, "pause")
    expect(ui.get_by_role("button", name="▶ play", exact=True)).to_be_visible()
    paused = ui.get_by_text(re.compile(r"Step \d+ of")).first.inner_text()
    ui.wait_for_timeout(2500)
    assert ui.get_by_text(re.compile(r"Step \d+ of")).first.inner_text() == paused
    assert moments[1] + 3 <= int(re.search(r"Step (\d+)", paused).group(1)) <= len(results)
    ui.get_by_role("tab", name="Lab results so far").click()
    expect(ui.get_by_text("Ferritin µg/L", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "teaching_replay_labs")
    labs_chart = ui.locator(".js-plotly-plot").nth(1)
    labs_chart.scroll_into_view_if_needed()
    wait_idle(ui)
    labs_chart.screenshot(path=str(SCREENSHOTS / "teaching_replay_labs_chart.png"))

    # the quiz, to the end: right every time except the CRS grade of the second question
    pick(ui, "Mode", "Quiz")
    learner = ui.get_by_label("Learner")
    learner.fill("Learner One")
    learner.press("Tab")
    wait_idle(ui)
    click(ui, "Start the quiz")
    title = library.find_case(store, CASE).card.title
    for k, step in enumerate(asked):
        r = results[step]
        expect(ui.get_by_text(re.compile(rf"Question {k + 1} of {len(asked)}"))).to_be_visible(
            timeout=TIMEOUT_MS)
        if k == 0:  # the title tells the course: not shown until the quiz is over
            expect(ui.get_by_text(title)).to_have_count(0)
        pick(ui, "CRS grade", "4" if k == 1 else str(r.crs.grade))
        pick(ui, "ICANS grade", str(r.icans.grade))
        if k == 1:
            screenshot(ui, "teaching_quiz_question")
        click(ui, "Check")
        verdict = f"you chose {4 if k == 1 else r.crs.grade}; the rules give {r.crs.grade}"
        expect(ui.get_by_text(re.compile(rf"CRS: {verdict}"))).to_be_visible()
        if k == 1:
            expect(ui.get_by_text(re.compile(r"Deciding: fever \(ASTCT 2019\)"))).to_be_visible()
            screenshot(ui, "teaching_quiz_feedback")
        click(ui, "See your score" if k == len(asked) - 1 else "Next question")

    n = len(asked)
    expect(ui.get_by_role("heading", name="Quiz result")).to_be_visible(timeout=TIMEOUT_MS)
    expect(ui.get_by_text(re.compile(rf"Score: {2 * n - 1} of {2 * n}"))).to_be_visible()
    expect(ui.get_by_text(re.compile(r"fever \(ASTCT 2019\) — 1 × \(graded too high 1 ×"))
           ).to_be_visible()
    with ui.expect_download() as download:
        click(ui, "Export the score (CSV)")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["learner"], r["case"], r["step"]) for r in rows][:1] == [("Learner One", CASE, "1")]
    assert len(rows) == n and {r["score"] for r in rows} == {f"{2 * n - 1}/{2 * n}"}
    expect(ui.get_by_text(title).first).to_be_visible()  # the card, now the quiz is over
    screenshot(ui, "teaching_quiz_result")
    assert [a for a in store.audit(CASE) if a["action"] == "quiz_completed"]


def test_educator_builds_a_case_with_the_bedside_form(ward_server: WardServer, ui: Page) -> None:
    store = ward_server.store
    sign_in(ui, ward_server.url, "demo.educator", lands_on="Demo ward")
    go(ui, "Build a case")
    new_id = library.next_case_id(store)
    expect(ui.get_by_text(f"New synthetic patient {new_id}")).to_be_visible()
    screenshot(ui, "case_builder_new")
    click(ui, "Create the synthetic patient")
    expect(ui.get_by_text(f"{new_id} created")).to_be_visible(timeout=TIMEOUT_MS)
    fill_number(ui, "Temperature (°C)", "38.3")
    # the confirmation above the page goes with that run: let the page settle before going on
    expect(ui.get_by_text(f"{new_id} created")).to_have_count(0, timeout=TIMEOUT_MS)
    wait_idle(ui)
    for label, value in {"Heart rate (/min)": "104", "Systolic BP (mmHg)": "118",
                         "Diastolic BP (mmHg)": "70", "Resp. rate (/min)": "18",
                         "SpO2 (%)": "97"}.items():
        fill_number(ui, label, value)
    expect(ui.get_by_text("Why CRS:")).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(ui, "case_builder_preview")
    click(ui, "Add to the case")
    expect(ui.get_by_text(re.compile(r"Assessment at .* added: CRS"))).to_be_visible(
        timeout=TIMEOUT_MS)
    (row,) = store.timeline_rows(new_id)
    assert (row["temp_c"], row["hr_bpm"], row["spo2_pct"]) == (38.3, 104, 97)
    assert store.history(new_id)[0].recorded_by == "demo.educator"
    screenshot(ui, "case_builder_saved_row")
