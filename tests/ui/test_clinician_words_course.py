"""The words of every teaching case's course as the pages render them (issue 18.8): reasons,
review flags, ward flags, guideline and ICU prompts, the other scales' findings and why they
differ, and the lab scores - none shows a column name, an internal id or an ISO time."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grading import guidance
from grading.words import rule_words
from monitoring import escalation, library
from monitoring.review import patient_review
from monitoring.scale_review import lab_scores, scale_course
from monitoring.store import WardStore
from ui.common import reason_text, reasons_text
from ui.handover import handover_html
from ui.scales import easix_frame, hematotox_lines, icaht_lines
from ui.text import clock_times

from .test_clinician_words import internal

AT = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
CASES = library.builtin_cases()


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WardStore]:
    path: Path = tmp_path_factory.mktemp("words") / "ward.db"
    store = WardStore(f"sqlite:///{path}")
    for case in CASES:
        library.load_case(store, case, AT)
    yield store
    store.engine.dispose()


def course_words(store: WardStore, pid: str) -> list[str]:
    """Every sentence a clinician reads about this course on the review and teaching pages."""
    rv = patient_review(store, pid)
    tz = store.tz
    out: list[str] = []
    for r in rv.results:
        for g in (r.crs, r.icans):
            out += reasons_text(g, tz)
            out += [clock_times(f.message, tz) for f in g.flags]
        out += [p.text + " " + p.source for p in guidance.prompts(
            r.crs.grade, r.icans.grade, child=True)]
        out += [t.what + " " + t.source for t in guidance.icu_prompts(
            r.crs.grade, r.icans.grade, seizure=True, positive_pressure=True,
            cerebral_edema=True)]
    out += [clock_times(f["message"], tz) for f in store.flags(pid)]
    raised = escalation.evaluate_course(rv.rows, rv.results.__getitem__, rv.patient,
                                        rv.tocilizumab_given)
    out += [clock_times(f.flag["message"], tz) for f in raised]
    out += [f.flag["respond"] for f in raised if f.flag.get("respond")]
    course = scale_course(rv)
    for row in course.rows:
        for cell in row.cells.values():
            out += list(cell.why) + [reason_text(x, tz) for x in cell.grade.reasons]
    panel = lab_scores(store, rv.patient, AT)
    if panel is not None:
        out += hematotox_lines(panel) + icaht_lines(panel) + [panel.iechs.text]
        out += [str(v) for v in easix_frame(panel, tz).to_numpy().ravel()]
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_teaching_course_shows_a_column_name_an_internal_id_or_an_iso_time(ward, case):
    words = course_words(ward, case.card.id)
    assert words  # the course was read
    assert [w for w in words if internal(w)] == []


def card_words(card: library.CaseCard) -> list[str]:
    """What the teaching page shows of a card: summary, learning points, medication and event
    notes, the trial."""
    return [card.summary, *card.learning_points, str(card.trial.model_dump()),
            *(str(m.model_dump(exclude={"time"})) for m in card.medications),
            *(str(e.model_dump(exclude={"time"})) for e in card.events)]


def test_every_teaching_card_names_its_sources_in_plain_words():
    words = [w for case in CASES for w in card_words(case.card)]
    assert len(words) > 3 * len(CASES)
    assert [w for w in words if internal(w)] == []


def test_every_rule_of_every_teaching_course_has_words_and_a_source(ward):
    """The ASTCT reasons of every course: none falls back to an id or to no words."""
    rules = {r.rule for case in CASES for res in patient_review(ward, case.card.id).results
             for r in (*res.crs.reasons, *res.icans.reasons)}
    assert {"CRS-R1", "CRS-R4", "CRS-R5", "ICANS-R2", "ICANS-R6"} <= rules  # a rich set
    assert {r for r in rules if not rule_words(r).endswith("(ASTCT 2019)")} == set()


def test_the_ward_flags_of_the_teaching_courses_are_read_too(ward):
    """The escalation rules raise flags over the courses (so the scan above reads them)."""
    codes = {f.flag["code"] for case in CASES for f in escalation.evaluate_course(
        *(lambda rv: (rv.rows, rv.results.__getitem__, rv.patient, rv.tocilizumab_given))(
            patient_review(ward, case.card.id)))}
    assert {"new_fever", "hypotension", "icu_review", "neuro_event", "news2_7"} <= codes


@pytest.mark.parametrize("case", CASES[:5], ids=lambda c: c.id)
def test_the_handover_names_sources_and_shows_no_internal_text(ward, case):
    rv = patient_review(ward, case.card.id)
    page = handover_html(rv, AT, "demo.physician", ward.open_flags(case.card.id),
                         with_chart=False)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    assert "ASTCT" in text
    assert internal(text) == []
