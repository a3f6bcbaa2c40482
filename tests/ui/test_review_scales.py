"""The review page's "Scales" and "Labs" tabs (issue 8), with AppTest on a patient made through
the store API, and the table builders directly: every scale's column, disagreements with ASTCT
marked by a sign (not colour alone) and explained with spec §3.7's reasons, each scale's source,
the lab scores as risk context with the interpolation option."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grading.scales.compare import daily_maxima
from grading.scales.engine import SCALES
from monitoring import review as review_mod
from monitoring.scale_review import ScaleCourse, lab_scores, scale_course, scales_csv
from tests.grading.scale_helpers import DAY_ROWS, compared
from ui.scales import (
    SCALE_DECISIONS,
    course_frames,
    daily_frames,
    icaht_lines,
    sources_frame,
)

from .conftest import go, texts

REVIEW = "ui/pages/review.py"
PID = "SC-2"


def make_course(store, pid: str = PID) -> datetime:
    """A febrile course with an estimated FiO2, grade 4 transaminitis and a vasopressor, and the
    labs of lymphodepletion and the days after infusion (made through the store API; the
    browser test uses it too). Returns the time it was made for."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    infusion = now - timedelta(days=3)
    depletion = infusion - timedelta(days=5)
    store.admit({"patient_id": pid, "name": "Scale Testcase", "bed": "12", "weight_kg": 80,
                 "infusion_time": infusion, "lymphodepletion_at": depletion},
                by="demo.physician")

    def rec(hours_ago: float, **values: object) -> None:
        store.record_assessment(pid, {"time": now - timedelta(hours=hours_ago), **values},
                                by="demo.nurse")

    normal = {"sbp_mmhg": 118, "dbp_mmhg": 70, "ice_orientation": 4, "ice_naming": 3,
              "ice_commands": 1, "ice_writing": 1, "ice_attention": 1, "consciousness": "alert",
              "seizure": "none", "motor_weakness": "none", "cerebral_edema": "none",
              "raised_icp_signs": "none"}
    rec(30, temp_c=37.1, o2_device="room_air", vasopressors="none", age_years=52,
        transaminitis_ctcae_grade=0, creatinine_ctcae_grade=0, other_organ_ctcae_grade=0,
        **normal)
    rec(20, temp_c=38.7, o2_device="nasal_cannula", o2_flow_l_min=6, transaminitis_ctcae_grade=4,
        **normal)
    rec(10, temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50, vasopressors="norepinephrine",
        norepinephrine_ug_kg_min=0.05)
    for test, value, unit in (("ldh", 400, "U/L"), ("creatinine", 88.4, "µmol/L"),
                              ("platelets", 100, "10^9/L"), ("anc", 1.0, "10^9/L"),
                              ("haemoglobin", 8.5, "g/dL"), ("crp", 40, "mg/L"),
                              ("ferritin", 2500, "ng/mL"), ("fibrinogen", 300, "mg/dL")):
        store.record_lab(pid, test, value, unit, depletion - timedelta(hours=2), by="demo.nurse")
    for day, value in ((1, 400), (2, 300), (3, 200)):
        store.record_lab(pid, "anc", value, "/µL", infusion + timedelta(days=day) - timedelta(
            hours=1), by="demo.nurse")
    store.record_lab(pid, "ferritin", 9000, "ng/mL", now - timedelta(hours=3), by="demo.nurse")
    store.record_lab(pid, "fibrinogen", 1.2, "g/L", now - timedelta(hours=3), by="demo.nurse")
    return now


@pytest.fixture
def course(store):
    return make_course(store)


def open_review(signed_in, role: str):
    at = signed_in(role)
    at.session_state["patient_id"] = PID
    return go(at, REVIEW)


def scales_table(at):
    return next(d.value for d in at.dataframe if "Lee 2014" in getattr(d.value, "columns", []))


def test_the_scales_tab_grades_the_course_by_every_scale_and_marks_disagreements(
        signed_in, course):
    at = open_review(signed_in, "physician")
    table = scales_table(at)
    assert list(table.columns) == ["Assessment", "Day", "ASTCT CRS", "Lee 2014", "CTCAE v5.0",
                                   "Penn", "MSKCC", "CARTOX", "ASTCT ICANS", "CRES (CARTOX-10)"]
    febrile = table.iloc[1]
    assert febrile["ASTCT CRS"] == "2"
    assert febrile["CTCAE v5.0"] == "▲ 3 est."  # FiO2 ≈ 45 % from 6 L/min decides the 3
    assert febrile["Lee 2014"] == "▲ 3"  # the grade 4 transaminitis is 3 whatever the FiO2
    assert febrile["Penn"] == "▲ 3"
    shown = texts(at)
    assert "a known difference between the scales: organ toxicity" in shown
    assert "Organ toxicity: Lee 2014 counts it" in shown
    assert "Hypoxia: ASTCT grades the device and flow" in shown
    assert "Pennisi" in shown
    assert "Penn: Porter D, Frey N" in shown and "CRES (CARTOX-10): Neelapu SS" in shown
    assert SCALE_DECISIONS in shown and "X1-X30" not in shown   # no stale decision range


def test_the_explanation_follows_the_chosen_assessment(signed_in, course):
    at = open_review(signed_in, "nurse")
    at.selectbox(key=f"scales_row_{PID}").select(0).run()
    assert not at.exception
    assert "**Lee 2014** 0 — same as ASTCT CRS" in texts(at)


def test_the_daily_view_shows_each_days_maximum(signed_in, course):
    at = open_review(signed_in, "physician")
    at.radio(key=f"scales_view_{PID}").set_value("maximum per day").run()
    table = scales_table(at)
    assert "Day" in table.columns and "Assessment" not in table.columns
    assert table["ASTCT CRS"].str.len().gt(0).all()


def test_the_labs_tab_shows_the_scores_as_risk_context_with_their_sources(signed_in, course):
    at = open_review(signed_in, "physician")
    easix = next(t.value for t in at.table if "m-EASIX" in t.value.columns)
    before = easix.loc["before lymphodepletion"]
    assert (before["EASIX"], before["log2 EASIX"]) == ("4.00", "2.00")
    assert "not above 4.67" in before["Note"]
    shown = texts(at)
    assert "**CAR-HEMATOTOX**: 6/7: HT-high" in shown  # 1 + 1 + 1 + 1 + 2
    assert "not a grade" in shown and "Korell" in shown and "Rejeski" in shown
    # ferritin 9000 (> 2 x 2500 at infusion), fibrinogen 120 mg/dL, ANC 200/µL (worse)
    assert any("IEC-HS features present: 3/5 core" in w.value for w in at.warning)
    assert "Interpolation between measured counts off" in shown
    at.checkbox(key=f"labs_interpolate_{PID}").check().run()
    assert "Interpolation between measured counts on" in texts(at)


def test_a_patient_without_labs_says_so(signed_in, store):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store.admit({"patient_id": "NOLABS-1", "name": "No Labs Testcase", "bed": "13",
                 "infusion_time": now - timedelta(days=1)}, by="demo.physician")
    store.record_assessment("NOLABS-1", {"time": now - timedelta(hours=1), "temp_c": 37.0},
                            by="demo.nurse")
    assert store.labs("NOLABS-1") == []
    at = signed_in("physician")
    at.session_state["patient_id"] = "NOLABS-1"
    go(at, REVIEW)
    assert not at.exception
    assert any(i.value.startswith("No labs recorded for this patient") for i in at.info)


def test_the_table_builders_mark_every_disagreement_and_nothing_else(store, course):
    rv = review_mod.patient_review(store, PID)
    c = scale_course(rv)
    frame, differs = course_frames(c, store.tz)
    for (_, row), (_, diff) in zip(frame.iterrows(), differs.iterrows()):
        for column in frame.columns:
            marked = str(row[column]).startswith(("▲", "▼", "≠"))
            assert marked == bool(diff[column]), (column, row[column])
    daily, daily_differs = daily_frames(c)
    assert len(daily) == len(c.daily) and daily_differs.shape == daily.shape
    assert len(sources_frame()) == 7


def test_the_daily_view_shows_the_status_and_estimate_as_the_per_assessment_view_does():
    rows = compared(DAY_ROWS)
    daily, differs = daily_frames(ScaleCourse(rows, daily_maxima(rows), tuple(SCALES)))
    by_day = daily.set_index("Day")
    assert by_day.loc["D+1", "Lee 2014"] == "2 prov. est."
    assert by_day.loc["D+2", "Lee 2014"] == "NE"
    assert by_day.loc["D+3", "Lee 2014"] == "▲ 2"       # ASTCT ignores organ toxicity
    assert by_day.loc["D+1", "ASTCT CRS"] == "2 prov."  # unknown cannula flow (D5)
    assert bool(differs.set_index(daily["Day"]).loc["D+3", "Lee 2014"])


def test_the_early_icaht_reasons_are_listed_one_per_line_with_the_missing_days(store, course):
    (line, _) = icaht_lines(lab_scores(store, store.patient(PID), course))
    head, *reasons = line.split("\n")
    assert head == "**Early ICAHT** (day 0 to +30): grade 1 (provisional)"
    assert "- provisional: no ANC on 1 day (longest gap 1 day): a neutropenia could be missed" \
        in reasons


def test_the_lab_panel_reads_the_record_and_uses_the_recorded_lymphodepletion(store, course):
    p = store.patient(PID)
    panel = lab_scores(store, p, course)
    assert panel is not None and panel.baseline is not None
    assert "lymphodepletion started" in panel.baseline.note
    assert panel.hematotox is not None and panel.hematotox.score == 6


def test_admission_records_the_lymphodepletion_start_and_a_change_needs_a_reason(signed_in,
                                                                                  store):
    from datetime import time

    at = go(signed_in("physician"), "ui/pages/admission.py")
    at.text_input[0].input("P-LD")
    today = datetime.now(UTC).date()
    at.date_input[1].set_value(today)                        # infusion date
    at.date_input[2].set_value(today - timedelta(days=5))    # lymphodepletion start
    at.time_input[1].set_value(time(8, 30))
    next(b for b in at.button if b.label == "Admit").click().run()
    assert not at.exception
    start = store.patient("P-LD")["lymphodepletion_at"]
    assert start == datetime.combine(today - timedelta(days=5), time(8, 30), tzinfo=UTC)
    at.selectbox(key="edit_pid").select("P-LD").run()
    at.date_input(key="edit_ld_day_P-LD").set_value(today - timedelta(days=6))
    at.text_input(key="edit_reason_P-LD").input("day -6 per protocol").run()
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert store.patient("P-LD")["lymphodepletion_at"] == start - timedelta(days=1)
    change = store.audit("P-LD")[-1]
    assert change["action"] == "update" and "lymphodepletion_at" in change["after"]


def test_the_scales_export_has_the_grading_commands_fields_and_uses_the_admission_weight(
        store, course, tmp_path):
    """The download on the Scales tab holds the fields of ``python -m grading grade --scales``
    (design.md) for every assessment, graded as the tab shows them; unlike the command on the
    exported record, it knows the admission weight (decision X7)."""
    rv = review_mod.patient_review(store, PID)
    c = scale_course(rv)
    exported = list(csv.DictReader(io.StringIO(scales_csv(rv, c))))
    path = tmp_path / "course.csv"
    path.write_text(store.export_csv(PID), encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "grading", "grade", str(path), "--format", "csv",
                          "--tz", store.tz.key, "--scales", ",".join(("astct", *c.names))],
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                         timeout=120)
    assert cli.returncode == 0, cli.stderr
    by_cli = list(csv.DictReader(io.StringIO(cli.stdout)))
    assert list(exported[0]) == list(by_cli[0])
    assert len(exported) == len(c.rows) == 3
    astct = [k for k in by_cli[0] if not k.startswith(c.names)]
    for mine, theirs, row in zip(exported, by_cli, c.rows):
        assert {k: mine[k] for k in astct} == {k: theirs[k] for k in astct}
        for name in c.names:
            g = row.cells[name].grade
            assert mine[f"{name}_grade"] == ("" if g.grade is None else str(g.grade)), name
            assert mine[f"{name}_status"] == g.status
    assert "not recorded: weight" in by_cli[2]["lee2014_reasons"]
    assert "not recorded: weight" not in exported[2]["lee2014_reasons"]
