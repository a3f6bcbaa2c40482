"""Properties of the grading engine over generated, valid canonical timelines.

The ``timelines()`` strategy builds what a ward could really record (design.md): 1-3 patients,
1-12 assessments each a few minutes to about 30 h apart, every value inside the hard limits of
``grading/fields.py`` and every cross-field rule of the importer kept (ICE all five items or none,
never ICE and CAPD together, no ICE/CAPD while sedated, dbp < sbp, flow and FiO2 only while an
oxygen device other than room air is in force, death only on a patient's last row).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import grading
from grading.fields import (
    ATTRIBUTABLE_FINDINGS,
    CAUSES_OF_DEATH,
    CEREBRAL_EDEMA,
    CONSCIOUSNESS_LEVELS,
    DOSE_FIELDS,
    ICE_ITEMS,
    MOTOR_WEAKNESS,
    O2_DEVICES,
    RAISED_ICP_SIGNS,
    SEIZURE_KINDS,
    SEIZURE_TYPES,
    VASOACTIVE_AGENTS,
)
from grading.instants import instant
from tests.grading.helpers import T0, grade_both, summarize_both, with_changes

REPO = Path(__file__).resolve().parents[2]
Row = dict[str, object]

# Small budgets: the whole file runs in about a minute on a 2-core machine.
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
THOROUGH = settings(FAST, max_examples=100)
SINGLE_ROW = settings(FAST, max_examples=25)
CLI = settings(FAST, max_examples=15)

ICE_TOPS = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
            "ice_attention": 1}
PATIENT_IDS = ("P1", "P2", "P3", "bed 4", "UPN-0071")
AGES = (0.05, 0.5, 1, 3, 9, 10, 11, 12, 13, 17, 18, 45, 80)


# ------------------------------------------------------------------------------ strategies
def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Blank (None, shrinks to this) or a value."""
    return st.one_of(st.none(), strategy)


def blank_or_one_of(values: Sequence[object]) -> st.SearchStrategy:
    """Blank (None, shrinks to this) or one of ``values``, in a single draw."""
    return st.sampled_from((None, *values))


def joined(values: Sequence[str], empty: str) -> st.SearchStrategy[str]:
    """A ';'-separated choices cell: the empty word ('none') or 1-3 distinct values."""
    return st.one_of(st.just(empty), st.lists(st.sampled_from(values), min_size=1, max_size=3,
                                              unique=True).map(";".join))


# temperatures with one or two decimals, dense around the 38.0 °C fever boundary
temperatures = st.one_of(
    st.integers(3780, 3820).map(lambda k: k / 100),
    st.integers(3500, 4150).map(lambda k: k / 100),
    st.integers(250, 450).map(lambda k: k / 10),
)
flows = st.one_of(st.sampled_from([0.5, 1, 2, 4, 6, 6.5, 8, 10, 15, 40, 60]),
                  st.integers(0, 160).map(lambda k: k / 2))
vasopressor_cells = joined(VASOACTIVE_AGENTS, "none")
icp_cells = joined(RAISED_ICP_SIGNS, "none")
attribution_sets = st.lists(st.sampled_from(ATTRIBUTABLE_FINDINGS), min_size=1, max_size=4,
                            unique=True)
attribution_cells = st.one_of(st.just("none"), attribution_sets.map(";".join))
ice_items = st.fixed_dictionaries({k: st.integers(0, top) for k, top in ICE_TOPS.items()})


def _time_text(style: str, t: datetime) -> str:
    """The same instant, written naive (ward zone UTC), with Z or with a +01:00 offset."""
    if style == "naive":
        return t.isoformat()
    if style == "Z":
        return t.isoformat() + "Z"
    return (t + timedelta(hours=1)).isoformat() + "+01:00"


def _zoned_time_text(style: str, t: datetime, zone: str) -> str:
    """The UTC instant ``t`` (naive) written with Z, +01:00, or as the ward's local time with
    its offset (a naive local time may fall in a clock change's gap or repeated hour)."""
    if style == "naive":
        return t.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).isoformat()
    return _time_text(style, t)


def _put(row: Row, name: str, value: object) -> None:
    if value is not None:
        row[name] = value


blank_or = {  # built once: making strategies inside a draw is what makes generation slow
    "temp_c": optional(temperatures),
    "hr_bpm": optional(st.integers(0, 300)),
    "rr_per_min": optional(st.integers(0, 80)),
    "spo2_pct": optional(st.integers(0, 100)),
    "o2_device": blank_or_one_of(O2_DEVICES),
    "o2_flow_l_min": optional(flows),
    "fio2_pct": optional(st.integers(21, 100)),
    "vasopressors": optional(vasopressor_cells),
    "boolean": blank_or_one_of((True, False)),
    "consciousness": blank_or_one_of(CONSCIOUSNESS_LEVELS),
    "seizure": blank_or_one_of(SEIZURE_KINDS),
    "motor_weakness": blank_or_one_of(MOTOR_WEAKNESS),
    "cerebral_edema": blank_or_one_of(CEREBRAL_EDEMA),
    "raised_icp_signs": optional(icp_cells),
    "attributed_elsewhere": optional(attribution_cells),
    "died_of": blank_or_one_of(CAUSES_OF_DEATH),
}
# systolic, and the diastolic as a point below it (dbp < sbp, both inside the hard limits)
blood_pressures = optional(st.tuples(st.integers(30, 300), st.integers(0, 189)).map(
    lambda x: (x[0], 10 + x[1] % (min(200, x[0] - 1) - 9))))
instruments = st.sampled_from(["none", "ice", "capd"])
capd_totals = st.integers(0, 32)


@st.composite
def findings(draw: st.DrawFn) -> Row:
    """One assessment's findings, each blank or a value inside the hard limits.

    Drawn without context so that a list of them shrinks well; ``timelines`` then drops what
    the context forbids (flow/FiO2 without an oxygen device in force, death before the last row).
    """
    row: Row = {}
    for name in ("temp_c", "hr_bpm"):
        _put(row, name, draw(blank_or[name]))
    bp = draw(blood_pressures)
    if bp is not None:
        row["sbp_mmhg"], row["dbp_mmhg"] = bp
    for name in ("rr_per_min", "spo2_pct", "o2_device", "o2_flow_l_min", "fio2_pct",
                 "vasopressors"):
        _put(row, name, draw(blank_or[name]))
    for drug in ("antipyretic_given", "tocilizumab_given", "corticosteroid_given",
                 "anticytokine_given", "fluid_bolus_given"):
        _put(row, drug, draw(blank_or["boolean"]))
    sedated = draw(blank_or["boolean"])
    _put(row, "sedated", sedated)
    consciousness = draw(blank_or["consciousness"])
    _put(row, "consciousness", consciousness)
    instrument = "none" if sedated else draw(instruments)
    if instrument == "ice":
        items = draw(ice_items)
        if consciousness == "unarousable":  # an unarousable patient scores no ICE points
            items = {k: 0 for k in items}
        row.update(items)
    elif instrument == "capd":
        row["capd_total"] = draw(capd_totals)
    for name in ("seizure", "motor_weakness", "cerebral_edema", "raised_icp_signs",
                 "attributed_elsewhere", "died_of"):
        _put(row, name, draw(blank_or[name]))
    if draw(st.booleans()):
        row.update(draw(scale_inputs(row)))
    return row


# the inputs of the other scales (issue 8), kept to their cross-field rules: a dose only for an
# agent listed on the row itself, once per agent; the CARTOX-10 point only with the ICE items;
# a seizure type only with a seizure; a papilloedema stage agreeing with the raised-ICP signs
DOSE_CHOICES = {agent: [(column, top) for column, a, per_kg in DOSE_FIELDS if a == agent
                        for top in ((5.0 if per_kg else 400.0),)]
                for _, agent, _ in DOSE_FIELDS}
doses = st.integers(1, 2000).map(lambda k: k / 20)  # 0.05 ... 100


@st.composite
def scale_inputs(draw: st.DrawFn, row: Row) -> Row:
    out: Row = {}
    _put(out, "weight_kg", draw(optional(st.integers(5, 1500).map(lambda k: k / 10))))
    for organ in ("transaminitis", "creatinine", "other_organ"):
        _put(out, f"{organ}_ctcae_grade", draw(optional(st.integers(0, 4))))
    for name in ("iv_therapy_given", "coagulopathy_products_given"):
        _put(out, name, draw(blank_or["boolean"]))
    running = str(row.get("vasopressors") or "none").split(";")
    for agent, columns in DOSE_CHOICES.items():
        if agent in running and draw(st.booleans()):
            column, top = draw(st.sampled_from(columns))
            out[column] = min(top, draw(doses))
    if "ice_orientation" in row:
        _put(out, "cartox_head_of_state", draw(optional(st.integers(0, 1))))
    if row.get("seizure") not in (None, "none"):
        _put(out, "seizure_type", draw(blank_or_one_of(SEIZURE_TYPES)))
    papilloedema = "papilledema" in str(row.get("raised_icp_signs") or "")
    _put(out, "papilledema_frisen_stage",
         draw(optional(st.integers(1, 5) if papilloedema else st.just(0))))
    _put(out, "csf_opening_pressure_mmhg", draw(optional(st.integers(0, 600).map(
        lambda k: k / 10))))
    return out


# an assessment: minutes after the previous one, how its time is written, whether it repeats
# the patient's age and infusion time, and its findings
def _assessments(max_gap_minutes: int) -> st.SearchStrategy:
    return st.tuples(st.integers(3, max_gap_minutes), st.sampled_from(["naive", "Z", "+01:00"]),
                     st.booleans(), st.booleans(), findings())


assessments = _assessments(30 * 60)


def _patient_rows(pid: str, start: datetime, age: float | None, infusion: int | None,
                  spec: Sequence[tuple[int, str, bool, bool, Row]], zone: str | None = None
                  ) -> list[tuple[datetime, Row]]:
    """Valid rows of one patient: times strictly increasing, context rules applied. With a
    ``zone``, the times are UTC instants written so that a ward in that zone reads them."""
    out = []
    t = start
    device: object = None
    for i, (gap, style, with_age, with_infusion, found) in enumerate(spec):
        if i:
            t += timedelta(minutes=gap)
        row: Row = {"patient_id": pid, "time": _time_text(style, t) if zone is None
                    else _zoned_time_text(style, t, zone)}
        if age is not None and with_age:
            row["age_years"] = age
        if infusion is not None and with_infusion:
            row["infusion_time"] = (start + timedelta(minutes=infusion)).isoformat() + (
                "" if zone is None else "Z")
        row.update(found)
        device = found.get("o2_device", device)
        if device in (None, "room_air"):  # flow and FiO2 need an oxygen device in force
            row.pop("o2_flow_l_min", None)
            row.pop("fio2_pct", None)
        if i < len(spec) - 1:  # nothing is recorded after death
            row.pop("died_of", None)
        if (infusion is not None and t < start + timedelta(minutes=infusion)
                and row.get("died_of") in ("crs", "icans")):  # both follow the infusion (C17)
            row["died_of"] = "other"
        out.append((t, row))
    return out


# the infusion from 3 days before the first row to 2 days after it: rows on both sides of it
# (decision C17), at it to the minute now and then (row gaps are whole minutes)
infusion_offsets = optional(st.integers(-72 * 60, 48 * 60))
patients = st.tuples(st.integers(0, 3 * 24 * 60), optional(st.sampled_from(AGES)),
                     infusion_offsets,
                     st.lists(assessments, min_size=1, max_size=12))
# an assessment with every finding normal, ongoing support ended and neuro events recorded none
QUIET: Row = {"temp_c": 37.0, "sbp_mmhg": 120, "dbp_mmhg": 70, "spo2_pct": 98,
              "o2_device": "room_air", "vasopressors": "none", "consciousness": "alert",
              "ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
              "ice_attention": 1, "seizure": "none", "motor_weakness": "none",
              "cerebral_edema": "none", "raised_icp_signs": "none"}
# gaps up to 60 h: episodes close (more than 48 h without a finding) and open again
patients_with_long_gaps = st.tuples(st.integers(0, 3 * 24 * 60), optional(st.sampled_from(AGES)),
                                    infusion_offsets,
                                    st.lists(_assessments(60 * 60), min_size=2, max_size=14))


@st.composite
def timelines(draw: st.DrawFn, max_patients: int = 3, long_gaps: bool = False) -> list[Row]:
    """A valid canonical timeline of 1-``max_patients`` patients, in a plausible file order."""
    pids = draw(st.lists(st.sampled_from(PATIENT_IDS), min_size=1, max_size=max_patients,
                         unique=True))
    rows: list[tuple[datetime, Row]] = []
    for pid in pids:
        start, age, infusion, spec = draw(patients_with_long_gaps if long_gaps else patients)
        if long_gaps:  # two rows in three quiet, so that findings stop and episodes close
            spec = [(*a[:4], QUIET if draw(st.integers(0, 2)) else a[4]) for a in spec]
        rows += _patient_rows(pid, T0 + timedelta(minutes=start), age, infusion, spec)
    if draw(st.booleans()):  # a ward export in time order interleaves the patients
        rows.sort(key=lambda x: x[0])
    return [r for _, r in rows]


# Daylight-saving changes (decision D9): patients whose course runs across the spring-forward or
# fall-back night of America/New_York, assessments minutes to 8 h apart so that the look-back
# windows, the 48 h episode rule and the scales' 3 h and 24 h rules straddle the change.
NEW_YORK = "America/New_York"
CLOCK_CHANGES = (datetime(2026, 3, 8, 7, 0), datetime(2026, 11, 1, 6, 0))  # UTC
patients_across_clock_changes = st.tuples(
    st.sampled_from(CLOCK_CHANGES), st.integers(-60 * 60, 60), optional(st.sampled_from(AGES)),
    optional(st.integers(-72 * 60, 6 * 60)), st.lists(_assessments(8 * 60), min_size=1,
                                                      max_size=12))


@st.composite
def timelines_across_clock_changes(draw: st.DrawFn, max_patients: int = 2) -> list[Row]:
    """A valid timeline whose patients' courses cross a DST change of ``NEW_YORK``."""
    pids = draw(st.lists(st.sampled_from(PATIENT_IDS), min_size=1, max_size=max_patients,
                         unique=True))
    rows: list[tuple[datetime, Row]] = []
    for pid in pids:
        change, offset, age, infusion, spec = draw(patients_across_clock_changes)
        rows += _patient_rows(pid, change + timedelta(minutes=offset), age, infusion, spec,
                              zone=NEW_YORK)
    if draw(st.booleans()):
        rows.sort(key=lambda x: x[0])
    return [r for _, r in rows]


@st.composite
def single_rows(draw: st.DrawFn) -> Row:
    row: Row = {"patient_id": "P1", "time": T0.isoformat()}
    _put(row, "age_years", draw(optional(st.sampled_from(AGES))))
    found = draw(findings())
    found.pop("died_of", None)  # grade 5 would hide every finding
    if found.get("o2_device") in (None, "room_air"):
        found.pop("o2_flow_l_min", None)
        found.pop("fio2_pct", None)
    return row | found


# ------------------------------------------------------------------------------ helpers
def key(grade: int | None) -> int:
    return -1 if grade is None else grade


def explained(r: grading.RowResult) -> tuple[object, ...]:
    return (r.crs.grade, r.crs.status, r.crs.reasons, r.icans.grade, r.icans.status,
            r.icans.reasons, r.flags)


def cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_csv(rows: Sequence[Mapping[str, object]], path: Path) -> None:
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([cell(r.get(c)) for c in columns])


# ------------------------------------------------------------------------------ a, b
@FAST
@given(timelines())
def test_grades_and_statuses_stay_in_range(rows):
    for r in grade_both(rows):
        for g in (r.crs, r.icans):
            assert g.status in ("final", "provisional", "not_evaluable")
            assert (g.grade is None) == (g.status == "not_evaluable")
            assert g.grade is None or g.grade in range(6)


@THOROUGH
@given(timelines())
def test_fast_path_agrees_with_the_row_wise_reference(rows):
    results = grade_both(rows)  # asserts snapshot, grade, status, reasons and flags per row
    assert len(results) == len(rows)
    assert [r.patient_id for r in results] == [r["patient_id"] for r in rows]


@THOROUGH
@given(timelines(max_patients=2, long_gaps=True))
def test_fast_path_agrees_with_the_reference_when_episodes_close_and_open_again(rows):
    """Snapshots, grades, days and episode maxima (``grade_both``), and the summary's episodes
    with their resolution (``summarize_both``), over courses long enough for CRS and ICANS
    episodes to close and a second one to begin."""
    assert len(grade_both(rows)) == len(rows)
    summarize_both(rows)


PRE_INFUSION_FLAGS = {"pre_infusion_fever", "hypoxia_no_o2", "soft_limit"}


@THOROUGH
@given(timelines(max_patients=2, long_gaps=True))
def test_nothing_before_the_infusion_is_crs_or_icans(rows):
    """Decision C17: a row before the infusion is CRS and ICANS 0 final, in no episode, with
    only the pre-infusion flags; no episode, onset or resolution is reported before it."""
    results = grade_both(rows)
    infusion = {}
    for r, res in zip(rows, results):
        if r.get("infusion_time") is not None:
            infusion[res.patient_id] = datetime.fromisoformat(str(r["infusion_time"]))
    for res in results:
        when = infusion.get(res.patient_id)
        before = when is not None and res.time < when.replace(tzinfo=res.time.tzinfo)
        assert res.before_infusion == before
        if before:
            assert (res.crs.grade, res.crs.status, res.icans.grade, res.icans.status) == (
                0, "final", 0, "final")
            assert (res.crs_episode_max, res.icans_episode_max) == (None, None)
            assert {f.code for f in res.flags} <= PRE_INFUSION_FLAGS
    for s in summarize_both(rows):
        when = infusion.get(s.patient_id)
        for e in s.crs_episodes + s.icans_episodes:
            assert when is None or e.onset >= when.replace(tzinfo=e.onset.tzinfo)
            assert e.onset_day is None or e.onset_day >= 0
            assert e.resolved is None or e.resolved > e.onset


@FAST
@given(timelines_across_clock_changes())
def test_fast_path_agrees_with_the_reference_across_clock_changes(rows):
    """Windows, episodes, days and maxima (``grade_both``) in a ward whose clocks change."""
    assert len(grade_both(rows, tz=NEW_YORK)) == len(rows)


def _zone_free(r: grading.RowResult) -> tuple[object, ...]:
    """What a row's grading says, without the times written in the ward's zone."""
    return (r.patient_id, instant(r.time), r.crs.grade, r.crs.status,
            [x.rule for x in r.crs.reasons], r.icans.grade, r.icans.status,
            [x.rule for x in r.icans.reasons],
            [f.code for f in r.flags], r.crs_episode_max, r.icans_episode_max)


def _episode(e: grading.Episode) -> tuple[object, ...]:
    return (instant(e.onset), e.max_grade, instant(e.max_grade_time),
            None if e.resolved is None else instant(e.resolved), e.duration_hours)


@FAST
@given(timelines_across_clock_changes())
def test_grades_do_not_depend_on_the_ward_time_zone(rows):
    """The same instants graded in a ward on UTC and in one whose clocks change: every grade,
    status, reason, flag, episode and duration is the same (D9); only the calendar day after
    infusion may differ."""
    utc, ny = grade_both(rows), grade_both(rows, tz=NEW_YORK)
    assert [_zone_free(r) for r in utc] == [_zone_free(r) for r in ny]
    for a, b in zip(*(grading.summarize(grading.grade(grading.from_rows(rows, tz=tz)))
                      for tz in ("UTC", NEW_YORK))):
        for syndrome in ("crs", "icans"):
            assert a.time_to_resolution_hours(syndrome) == b.time_to_resolution_hours(syndrome)
            ea, eb = (getattr(x, f"{syndrome}_episodes") for x in (a, b))
            assert [_episode(e) for e in ea] == [_episode(e) for e in eb]


# ------------------------------------------------------------------------------ c: monotonicity
Pair = tuple[Row, Row]


_with = with_changes


def raise_temperature(draw: st.DrawFn, row: Row) -> Pair:
    a, b = sorted(draw(st.lists(temperatures, min_size=2, max_size=2)))
    return _with(row, temp_c=a), _with(row, temp_c=b)


def lower_sbp(draw: st.DrawFn, row: Row) -> Pair:
    low, high = sorted(draw(st.lists(st.integers(31, 300), min_size=2, max_size=2)))
    dbp = draw(st.integers(10, min(200, low - 1)))
    return _with(row, sbp_mmhg=high, dbp_mmhg=dbp), _with(row, sbp_mmhg=low, dbp_mmhg=dbp)


def add_vasopressor(draw: st.DrawFn, row: Row) -> Pair:
    agent = draw(st.sampled_from(VASOACTIVE_AGENTS))
    now = row.get("vasopressors")
    running = [] if now in (None, "none") else str(now).split(";")
    worse = ";".join(dict.fromkeys(running + [agent]))
    return row, _with(row, vasopressors=worse)


# ASTCT ladder (§1.4) as (device, flow L/min, rung); equal rungs grade alike
O2_LADDER = (("room_air", None, 0), ("nasal_cannula", 2, 1), ("nasal_cannula", 8, 2),
             ("simple_face_mask", None, 2), ("bipap", None, 3))


def move_oxygen_up(draw: st.DrawFn, row: Row) -> Pair:
    i, j = sorted(draw(st.lists(st.integers(0, len(O2_LADDER) - 1), min_size=2, max_size=2)))
    base = _with(row, fio2_pct=None)
    (d1, f1, _), (d2, f2, _) = O2_LADDER[i], O2_LADDER[j]
    return (_with(base, o2_device=d1, o2_flow_l_min=f1),
            _with(base, o2_device=d2, o2_flow_l_min=f2))


def lower_ice(draw: st.DrawFn, row: Row) -> Pair:
    base = _with(row, capd_total=None, sedated=None)
    if base.get("consciousness") == "unarousable":  # ICE points need an arousable patient
        base["consciousness"] = draw(st.sampled_from(CONSCIOUSNESS_LEVELS[:-1]))
    better = draw(ice_items)
    worse = {k: draw(st.integers(0, v)) for k, v in better.items()}
    return {**base, **better}, {**base, **worse}


def depress_consciousness(draw: st.DrawFn, row: Row) -> Pair:
    i = draw(st.integers(0, len(CONSCIOUSNESS_LEVELS) - 2))
    base = dict(row)
    if i + 1 == len(CONSCIOUSNESS_LEVELS) - 1 and "ice_orientation" in base:
        base.update({k: 0 for k in ICE_ITEMS})  # unarousable: ICE must be 0
    return (_with(base, consciousness=CONSCIOUSNESS_LEVELS[i]),
            _with(base, consciousness=CONSCIOUSNESS_LEVELS[i + 1]))


def _up_ladder(name: str, ladder: Sequence[str]) -> Callable[[st.DrawFn, Row], Pair]:
    def worsen(draw: st.DrawFn, row: Row) -> Pair:
        i, j = sorted(draw(st.lists(st.integers(0, len(ladder) - 1), min_size=2, max_size=2,
                                    unique=True)))
        return _with(row, **{name: ladder[i]}), _with(row, **{name: ladder[j]})
    worsen.__name__ = f"worsen_{name}"
    return worsen


WORSENINGS: dict[str, Callable[[st.DrawFn, Row], Pair]] = {
    "raise_temperature": raise_temperature,
    "lower_sbp": lower_sbp,
    "add_vasopressor": add_vasopressor,
    "move_oxygen_up_the_astct_ladder": move_oxygen_up,
    "lower_ice_total": lower_ice,
    "depress_consciousness_one_level": depress_consciousness,
    "seizure_none_rapid_prolonged": _up_ladder("seizure", SEIZURE_KINDS),
    "cerebral_edema_none_focal_diffuse": _up_ladder("cerebral_edema", CEREBRAL_EDEMA),
    "motor_none_to_deep_focal": _up_ladder("motor_weakness", MOTOR_WEAKNESS),
}


def consistent(row: Row) -> Row:
    """A changed row with what its changes no longer allow dropped (the scale inputs' rules:
    a dose needs its agent listed, a seizure type a seizure, a papilloedema stage the sign)."""
    out = {k: v for k, v in row.items() if v is not None}
    if out.get("o2_device") in (None, "room_air"):
        out.pop("o2_flow_l_min", None)
        out.pop("fio2_pct", None)
    running = str(out.get("vasopressors") or "none").split(";")
    for column, agent, _ in DOSE_FIELDS:
        if agent not in running:
            out.pop(column, None)
    if out.get("seizure") in (None, "none"):
        out.pop("seizure_type", None)
    if "ice_orientation" not in out:
        out.pop("cartox_head_of_state", None)
    papilloedema = "papilledema" in str(out.get("raised_icp_signs") or "")
    if out.get("papilledema_frisen_stage") is not None and \
            (out["papilledema_frisen_stage"] >= 1) != papilloedema:  # type: ignore[operator]
        out.pop("papilledema_frisen_stage")
    return out


@st.composite
def worsened_pairs(draw: st.DrawFn, worsening: str) -> Pair:
    better, worse = WORSENINGS[worsening](draw, draw(single_rows()))
    return consistent(better), consistent(worse)


@pytest.mark.parametrize("worsening", list(WORSENINGS))
@SINGLE_ROW
@given(data=st.data())
def test_worsening_one_finding_never_lowers_a_grade(worsening, data):
    better, worse = data.draw(worsened_pairs(worsening), label="better, worse")
    b, w = grade_both([better])[0], grade_both([worse])[0]
    assert key(w.crs.grade) >= key(b.crs.grade), (b.crs, w.crs)
    assert key(w.icans.grade) >= key(b.icans.grade), (b.icans, w.icans)


# ------------------------------------------------------------------------------ d: attribution
@st.composite
def timelines_with_attribution(draw: st.DrawFn) -> tuple[list[Row], list[Row]]:
    rows = draw(timelines())
    attributed = []
    for row in rows:
        extra = draw(optional(attribution_sets))
        if extra is None:
            attributed.append(row)
            continue
        had = row.get("attributed_elsewhere")
        findings = [] if had in (None, "none") else str(had).split(";")
        union = [f for f in ATTRIBUTABLE_FINDINGS if f in findings or f in extra]
        attributed.append(_with(row, attributed_elsewhere=";".join(union)))
    return rows, attributed


@FAST
@given(timelines_with_attribution())
def test_attributing_findings_elsewhere_never_raises_a_grade(pair):
    rows, attributed = pair
    plain, excluded = grade_both(rows), grade_both(attributed)
    for i, (p, a) in enumerate(zip(plain, excluded), start=1):
        for name in ("crs", "icans"):
            gp, ga = getattr(p, name).grade, getattr(a, name).grade
            if gp is not None and ga is not None:
                assert ga <= gp, f"row {i} {name}: {gp} without attribution, {ga} with it"


# ------------------------------------------------------------------------------ e: file order
@st.composite
def shuffled_timelines(draw: st.DrawFn) -> tuple[list[Row], list[Row]]:
    rows = draw(timelines())
    order = draw(st.permutations(range(len(rows))))
    return rows, [rows[i] for i in order]


@FAST
@given(shuffled_timelines())
def test_results_do_not_depend_on_the_order_of_rows_in_the_file(pair):
    rows, shuffled = pair

    def by_assessment(rs: Sequence[grading.RowResult]) -> dict[object, tuple[object, ...]]:
        return {(r.patient_id, r.time): explained(r) for r in rs}

    first, second = by_assessment(grade_both(rows)), by_assessment(grade_both(shuffled))
    assert first.keys() == second.keys()
    for k in first:
        assert first[k] == second[k], k


# ------------------------------------------------------------------------------ f: CLI == API
@CLI
@given(timelines())
def test_cli_json_agrees_with_the_python_api(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("cli") / "timeline.csv"
    write_csv(rows, path)
    # the API first: an engine failure then shrinks without starting a process per step
    api = list(grading.grade(grading.read_csv(path)).results())
    from_rows = list(grading.grade(grading.from_rows(rows)).results())
    run = subprocess.run([sys.executable, "-m", "grading", "grade", str(path), "--format", "json"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    cli = json.loads(run.stdout)
    assert len(cli) == len(api) == len(rows)
    for out, r, same in zip(cli, api, from_rows):
        assert (out["patient_id"], out["time"]) == (r.patient_id, r.time.isoformat())
        assert (out["crs_grade"], out["crs_status"]) == (r.crs.grade, r.crs.status)
        assert (out["icans_grade"], out["icans_status"]) == (r.icans.grade, r.icans.status)
        assert [f["code"] for f in out["flags"]] == [f.code for f in r.flags]
        assert explained(same) == explained(r), "the CSV file and the rows grade differently"


# ------------------------------------------------------------------------------ rounding
@settings(FAST, max_examples=150)
@given(st.one_of(st.integers(3780, 3820).map(lambda k: k / 100),
                 st.integers(2500, 4500).map(lambda k: k / 100),
                 st.integers(250, 450).map(lambda k: k / 10)))
def test_fever_is_decided_on_the_temperature_rounded_half_up_to_a_tenth(t):
    expected = Decimal(repr(t)).quantize(Decimal("0.1"), ROUND_HALF_UP) >= Decimal("38.0")
    row: Row = {"patient_id": "P1", "time": T0.isoformat(), "age_years": 45, "temp_c": t,
                "sbp_mmhg": 120, "dbp_mmhg": 70, "o2_device": "room_air",
                "vasopressors": "none"}
    r = grade_both([row])[0]
    assert (r.crs.grade >= 1) == expected, (t, r.crs)
    assert r.crs.status == "final"
