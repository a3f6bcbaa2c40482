"""Properties of the other scales over generated valid timelines (strategies of
``test_properties``, which now also draw the scale inputs): grades stay in range with a status
that matches, worsening one finding never lowers any scale's grade, attribution never raises
one, the results do not depend on the order of rows in the file, and ``--scales`` agrees with
``grading.grade_scales``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import grading
from grading.scales.engine import SCALE_NAMES, SCALES
from tests.grading.test_properties import (
    CLI,
    CLOCK_CHANGES,
    FAST,
    NEW_YORK,
    REPO,
    SINGLE_ROW,
    WORSENINGS,
    Pair,
    Row,
    consistent,
    key,
    shuffled_timelines,
    single_rows,
    timelines,
    timelines_across_clock_changes,
    timelines_with_attribution,
    write_csv,
)

NAMES = tuple(SCALES)


def scaled(rows: Sequence[Row]) -> list[dict[str, grading.ScaleGrade]]:
    return grading.grade_scales(grading.from_rows(rows), NAMES)


@FAST
@given(timelines())
def test_every_scale_grade_is_0_to_5_or_not_evaluable(rows):
    for row in scaled(rows):
        assert set(row) == set(NAMES)
        for g in row.values():
            assert g.status in ("final", "provisional", "not_evaluable")
            assert (g.grade is None) == (g.status == "not_evaluable")
            assert g.grade is None or g.grade in range(6)
            assert g.reasons, "every grade explains itself"
            assert not (g.estimated and g.grade is None)


# FiO2 from least to most for the scales that grade by it (not the ASTCT ladder: a mask with no
# FiO2 recorded is below a cannula at 8 L/min for them)
FIO2_LADDER = (("room_air", None, None), ("nasal_cannula", 2, None),
               ("venturi_mask", None, 35), ("venturi_mask", None, 39),
               ("venturi_mask", None, 40), ("venturi_mask", None, 60),
               ("bipap", None, 60), ("mechanical_ventilation", None, 60))


def raise_fio2(draw: st.DrawFn, row: Row) -> Pair:
    i, j = sorted(draw(st.lists(st.integers(0, len(FIO2_LADDER) - 1), min_size=2, max_size=2)))
    (d1, f1, x1), (d2, f2, x2) = FIO2_LADDER[i], FIO2_LADDER[j]
    return ({**row, "o2_device": d1, "o2_flow_l_min": f1, "fio2_pct": x1},
            {**row, "o2_device": d2, "o2_flow_l_min": f2, "fio2_pct": x2})


def raise_organ_grade(draw: st.DrawFn, row: Row) -> Pair:
    organ = draw(st.sampled_from(("transaminitis", "creatinine", "other_organ")))
    low, high = sorted(draw(st.lists(st.integers(0, 4), min_size=2, max_size=2)))
    name = f"{organ}_ctcae_grade"
    return {**row, name: low}, {**row, name: high}


SCALE_WORSENINGS: dict[str, Callable[[st.DrawFn, Row], Pair]] = {
    **{k: v for k, v in WORSENINGS.items() if k != "move_oxygen_up_the_astct_ladder"},
    "raise_fio2": raise_fio2,
    "raise_organ_grade": raise_organ_grade,
}


@pytest.mark.parametrize("worsening", list(SCALE_WORSENINGS))
@SINGLE_ROW
@given(data=st.data())
def test_worsening_one_finding_never_lowers_any_scales_grade(worsening, data):
    row = data.draw(single_rows(), label="row")
    better, worse = (consistent(r) for r in SCALE_WORSENINGS[worsening](data.draw, row))
    (b,), (w,) = scaled([better]), scaled([worse])
    for name in NAMES:
        assert key(w[name].grade) >= key(b[name].grade), (name, b[name], w[name])


@FAST
@given(timelines_with_attribution())
def test_attributing_findings_elsewhere_never_raises_any_scales_grade(pair):
    rows, attributed = pair
    for i, (p, a) in enumerate(zip(scaled(rows), scaled(attributed)), start=1):
        for name in NAMES:
            gp, ga = p[name].grade, a[name].grade
            if gp is not None and ga is not None:
                assert ga <= gp, f"row {i} {name}: {gp} without attribution, {ga} with it"


@FAST
@given(shuffled_timelines())
def test_scale_results_do_not_depend_on_the_order_of_rows_in_the_file(pair):
    rows, shuffled = pair

    def by_assessment(rs: Sequence[Row]) -> dict[object, object]:
        a = grading.from_rows(rs)
        out = {}
        for i, g in enumerate(grading.grade_scales(a, NAMES)):
            out[(a.patient_of(i), a.frame["time"].iat[i])] = g
        return out

    assert by_assessment(rows) == by_assessment(shuffled)


# vasopressor courses across a clock change, their gaps near the scales' 3 h and 24 h rules
PRESSOR_GAPS = st.one_of(st.integers(150, 210), st.integers(23 * 60 - 90, 25 * 60 + 90),
                         st.integers(3, 48 * 60 + 90))
PRESSOR_ROWS = st.fixed_dictionaries({
    "vasopressors": st.sampled_from(["norepinephrine", "none", "norepinephrine;vasopressin"]),
    "norepinephrine_ug_min": st.sampled_from([None, 5, 25]),
    "fluid_bolus_given": st.sampled_from([None, True]),
    "iv_therapy_given": st.sampled_from([None, True]),
    "sbp_mmhg": st.sampled_from([80, 120]),
})


@st.composite
def pressor_courses_across_clock_changes(draw: st.DrawFn) -> list[Row]:
    change = draw(st.sampled_from(CLOCK_CHANGES))
    t = change.replace(tzinfo=UTC) - timedelta(minutes=draw(st.integers(0, 50 * 60)))
    rows: list[Row] = []
    for found in draw(st.lists(PRESSOR_ROWS, min_size=2, max_size=6)):
        if rows:
            t += timedelta(minutes=draw(PRESSOR_GAPS))
        row: Row = {"patient_id": "P1", "time": t.isoformat(), "age_years": 50,
                    "temp_c": 38.6, "dbp_mmhg": 50, "o2_device": "room_air", **found}
        if "norepinephrine" not in str(row["vasopressors"]) or row["norepinephrine_ug_min"] is None:
            row.pop("norepinephrine_ug_min")
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


@FAST
@given(st.one_of(timelines_across_clock_changes(), pressor_courses_across_clock_changes()))
def test_scale_grades_do_not_depend_on_the_ward_time_zone(rows):
    """The 3 h high-dose rule, MSKCC's 24 h and 48 h and Penn's 24 h look-back count real time
    (D9): the same instants graded in a ward on UTC and in one whose clocks change (America/
    New_York, both changes) grade alike."""
    def zone_free(tz: str) -> list[dict[str, object]]:
        return [{n: (g.grade, g.status, g.estimated, [r.rule for r in g.reasons])
                 for n, g in row.items()}
                for row in grading.grade_scales(grading.from_rows(rows, tz=tz), NAMES)]

    assert zone_free("UTC") == zone_free(NEW_YORK)


@CLI
@given(timelines())
def test_cli_scales_agree_with_the_python_api(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("cli") / "timeline.csv"
    write_csv(rows, path)
    api = grading.grade_scales(grading.read_csv(path), NAMES)
    run = subprocess.run([sys.executable, "-m", "grading", "grade", str(path), "--format", "json",
                          "--scales", ",".join(SCALE_NAMES)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    cli = json.loads(run.stdout)
    assert len(cli) == len(api) == len(rows)
    for out, row in zip(cli, api):
        for name, g in row.items():
            assert (out[f"{name}_grade"], out[f"{name}_status"], out[f"{name}_estimated"]) == \
                (g.grade, g.status, g.estimated)
            assert [r["rule"] for r in out[f"{name}_reasons"]] == [r.rule for r in g.reasons]
