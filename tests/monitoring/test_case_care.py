"""Every teaching case treats and works up its patient as the guidance in the spec says.

The cards are teaching material: a dose or a missing work-up that a ward would not accept must
not be taught. Held against spec §4.1 (ASCO 2021) and §4.4 (drug reference values):

* tocilizumab 8 mg/kg (12 mg/kg under 30 kg), at most 800 mg a dose, at least 8 h apart, at
  most 3 in any 24 h and 4 in total;
* dexamethasone 10 mg every 6-12 h (every 6 h while CRS is grade 3), lower doses only as a
  taper after 10 mg doses; prophylaxis (a local early-steroid protocol) is not treatment and is
  not held to these intervals;
* methylprednisolone for CRS grade 4: 500 mg every 12 h x 3 days, 250 mg x 2 days, 125 mg x 2
  days, then 60 mg every 12 h until CRS is grade 1 or less - a case that ends before the taper
  completes says so on its last dose; 1,000 mg a day for ICANS grade 4;
* a fever: blood and urine cultures and a chest X-ray; neutropenic (ANC < 0.5 x 10^9/L at the
  last count): empiric antibiotics within the hour (the neutropenic-fever pathway);
* CRS or ICANS grade 3 or more: admitted to the ICU (spec §4.6);

and every case's vital signs vary as a patient's do (no flat line of identical sets).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

import grading
from monitoring import library

CASES = {c.id: c for c in library.builtin_cases()}
IDS = sorted(CASES)
H = timedelta(hours=1)

# spec §4.4 / §4.1 (ASCO 2021), as the checks below apply them
TOCILIZUMAB_MG_PER_KG = {"30 kg or more": 8, "under 30 kg": 12}
TOCILIZUMAB_MAX_DOSE_MG = 800
TOCILIZUMAB_MIN_INTERVAL = 8 * H
TOCILIZUMAB_MAX_PER_24_H = 3
TOCILIZUMAB_MAX_TOTAL = 4
DEXAMETHASONE_DOSE_MG = 10
DEXAMETHASONE_INTERVAL = (6 * H, 12 * H)          # every 6-12 h
DEXAMETHASONE_CRS_GRADE_3_INTERVAL = 6 * H        # every 6 h for CRS grade 3
TAPER_MAX_INTERVAL = 24 * H
NEW_COURSE_AFTER = 24 * H
METHYLPREDNISOLONE_CRS_G4 = [500] * 6 + [250] * 4 + [125] * 4   # then 60 mg until CRS <= 1
METHYLPREDNISOLONE_CRS_G4_LAST_STEP_MG = 60
METHYLPREDNISOLONE_INTERVAL = 12 * H
METHYLPREDNISOLONE_ICANS_G4_MG = 1000             # a day ([R] in spec §4.1)
ENDS_BEFORE_TAPER = "the case ends before the taper completes"
ADULT_YEARS = 18
FEVER_C = 38.0
NEW_FEVER_AFTER = 48 * H                           # a fever after 48 h without one
NEUTROPENIA_ANC = 0.5                              # x 10^9/L
WORK_UP_WINDOW = (-3 * H, 1 * H)                  # cultures, antibiotics: around the fever
CHEST_X_RAY_WITHIN = 6 * H
EMPIRIC_ANTIBIOTICS = ("piperacillin-tazobactam", "meropenem", "cefepime")
ICU_WITHIN = 1 * H
MAX_IDENTICAL_VITALS_IN_A_ROW = 2
VITALS = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_per_min", "spo2_pct")


def card_of(case_id: str, **changes) -> library.CaseCard:
    raw = json.loads(library.card_json(CASES[case_id].card))
    raw.update(changes)
    return library.parse_card(raw)


def results_of(case_id: str) -> list[grading.RowResult]:
    return list(grading.grade(grading.read_csv(CASES[case_id].timeline)).results())


def grade_at(results: list[grading.RowResult], when: datetime, syndrome: str = "crs"
             ) -> int | None:
    """The grade the ward saw when a dose was given: the latest assessment at or before."""
    before = [r for r in results if r.time.replace(tzinfo=None) <= when]
    return getattr(before[-1], syndrome).grade if before else None


def _h(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:g} h"


# ------------------------------------------------------------------------------ the checks
def tocilizumab_problems(card: library.CaseCard) -> list[str]:
    doses = [m for m in card.medications if m.kind == "tocilizumab"]
    kg = card.patient.weight_kg
    per_kg = TOCILIZUMAB_MG_PER_KG["30 kg or more" if kg >= 30 else "under 30 kg"]
    want = min(TOCILIZUMAB_MAX_DOSE_MG, per_kg * kg)
    out = [f"tocilizumab {m.dose:g} mg at {m.time}: {per_kg} mg/kg x {kg:g} kg is {want:g} mg "
           f"(at most {TOCILIZUMAB_MAX_DOSE_MG} mg)" for m in doses
           if m.dose is None or abs(m.dose - want) > 1]
    for a, b in zip(doses, doses[1:]):
        if b.time - a.time < TOCILIZUMAB_MIN_INTERVAL:
            out.append(f"tocilizumab at {b.time}: {_h(b.time - a.time)} after the previous "
                       f"dose (at least {_h(TOCILIZUMAB_MIN_INTERVAL)})")
    for m in doses:
        in_24h = [x for x in doses if m.time <= x.time < m.time + 24 * H]
        if len(in_24h) > TOCILIZUMAB_MAX_PER_24_H:
            out.append(f"tocilizumab: {len(in_24h)} doses in the 24 h from {m.time} (at most "
                       f"{TOCILIZUMAB_MAX_PER_24_H})")
    if len(doses) > TOCILIZUMAB_MAX_TOTAL:
        out.append(f"tocilizumab: {len(doses)} doses (at most {TOCILIZUMAB_MAX_TOTAL} in total)")
    return out


def dexamethasone_problems(card: library.CaseCard, results: list[grading.RowResult]
                           ) -> list[str]:
    doses = [m for m in card.medications if m.kind == "dexamethasone"
             and not (m.note or "").startswith("prophylaxis")]
    steroids = [m for m in card.medications if m.kind in ("dexamethasone", "methylprednisolone")
                and not (m.note or "").startswith("prophylaxis")]
    adult = card.patient.age_years >= ADULT_YEARS
    out = []
    for i, m in enumerate(doses):
        after_full = i > 0 and doses[i - 1].time > m.time - NEW_COURSE_AFTER and (
            doses[i - 1].dose in (DEXAMETHASONE_DOSE_MG, m.dose))
        if m.dose is None or m.dose > DEXAMETHASONE_DOSE_MG or (
                adult and m.dose != DEXAMETHASONE_DOSE_MG and not after_full):
            out.append(f"dexamethasone {m.dose} mg at {m.time}: ASCO gives "
                       f"{DEXAMETHASONE_DOSE_MG} mg (less only as a taper)")
    low, high = DEXAMETHASONE_INTERVAL
    for a, b in zip(doses, doses[1:]):
        gap = b.time - a.time
        if gap > NEW_COURSE_AFTER:
            continue  # a new course
        crs = grade_at(results, a.time)
        if gap < low:
            out.append(f"dexamethasone at {b.time}: {_h(gap)} after the previous dose (ASCO: "
                       f"every {_h(low)}-{_h(high)})")
        elif crs == 3 and gap != DEXAMETHASONE_CRS_GRADE_3_INTERVAL:
            out.append(f"dexamethasone at {b.time}: {_h(gap)} after the previous dose at CRS "
                       f"grade 3 (ASCO: every {_h(DEXAMETHASONE_CRS_GRADE_3_INTERVAL)})")
        elif b.dose == DEXAMETHASONE_DOSE_MG and gap > high:
            out.append(f"dexamethasone at {b.time}: {_h(gap)} after the previous dose (ASCO: "
                       f"every {_h(low)}-{_h(high)})")
        elif gap > TAPER_MAX_INTERVAL:
            out.append(f"dexamethasone taper at {b.time}: {_h(gap)} after the previous dose")
    for m in doses:  # a dose at CRS grade 3 is followed by a steroid 6 h later
        nxt = [x for x in steroids if x.time > m.time]
        if grade_at(results, m.time) == 3 and (
                not nxt or nxt[0].time - m.time > DEXAMETHASONE_CRS_GRADE_3_INTERVAL):
            out.append(f"dexamethasone at {m.time} at CRS grade 3: no steroid within "
                       f"{_h(DEXAMETHASONE_CRS_GRADE_3_INTERVAL)} after it")
    return out


def methylprednisolone_problems(card: library.CaseCard, results: list[grading.RowResult]
                                ) -> list[str]:
    doses = [m for m in card.medications if m.kind == "methylprednisolone"]
    icans = [m for m in doses if m.dose == METHYLPREDNISOLONE_ICANS_G4_MG]
    crs = [m for m in doses if m.dose != METHYLPREDNISOLONE_ICANS_G4_MG]
    out = [f"methylprednisolone 1,000 mg at {b.time}: {_h(b.time - a.time)} after the previous "
           "(1,000 mg a day)" for a, b in zip(icans, icans[1:]) if b.time - a.time < 24 * H]
    for i, m in enumerate(crs):
        last_step = i >= len(METHYLPREDNISOLONE_CRS_G4)
        want = METHYLPREDNISOLONE_CRS_G4_LAST_STEP_MG if last_step else \
            METHYLPREDNISOLONE_CRS_G4[i]
        if m.dose != want:
            out.append(f"methylprednisolone dose {i + 1} at {m.time}: {m.dose:g} mg, the ASCO "
                       f"taper gives {want} mg")
        if last_step and (grade_at(results, m.time) or 0) <= 1:
            out.append(f"methylprednisolone 60 mg at {m.time}: CRS is grade 1 or less (60 mg "
                       "only until then)")
    for a, b in zip(crs, crs[1:]):
        if b.time - a.time != METHYLPREDNISOLONE_INTERVAL:
            out.append(f"methylprednisolone at {b.time}: {_h(b.time - a.time)} after the "
                       f"previous dose (every {_h(METHYLPREDNISOLONE_INTERVAL)})")
    if 0 < len(crs) < len(METHYLPREDNISOLONE_CRS_G4) and ENDS_BEFORE_TAPER not in (
            crs[-1].note or ""):
        out.append(f"methylprednisolone: {len(crs)} of the {len(METHYLPREDNISOLONE_CRS_G4)} "
                   f"taper doses and the card does not say '{ENDS_BEFORE_TAPER}'")
    if len(crs) == len(METHYLPREDNISOLONE_CRS_G4) and (
            grade_at(results, crs[-1].time) or 0) > 1:
        out.append("methylprednisolone: the taper stops while CRS is above grade 1 (60 mg every "
                   "12 h until CRS <= grade 1)")
    return out


def fever_onsets(case: library.LibraryCase) -> list[datetime]:
    """Each first fever: a row of 38.0 °C or more with none in the 48 h before it."""
    febrile = [datetime.fromisoformat(r["time"]) for r in library.csv_rows(case.timeline)
               if r.get("temp_c") and float(r["temp_c"]) >= FEVER_C]
    return [t for i, t in enumerate(febrile) if i == 0 or t - febrile[i - 1] > NEW_FEVER_AFTER]


def work_up_problems(case: library.LibraryCase) -> list[str]:
    card = case.card
    anc = sorted((datetime.fromisoformat(str(d["time"])), d["anc"]) for d in card.labs.draws
                 if "anc" in d)
    out = []

    def near(t: datetime, words: tuple[str, ...], until: timedelta = WORK_UP_WINDOW[1]) -> bool:
        return any(any(w in e.what.lower() for w in words)
                   and t + WORK_UP_WINDOW[0] <= e.time <= t + until for e in card.events)

    for t in fever_onsets(case):
        if not near(t, ("cultures",)):
            out.append(f"fever at {t}: no blood and urine cultures (ASCO 2021)")
        if not near(t, ("chest x-ray",), CHEST_X_RAY_WITHIN):
            out.append(f"fever at {t}: no chest X-ray (ASCO 2021)")
        known = [v for when, v in anc if when <= t]
        if known and known[-1] < NEUTROPENIA_ANC and not near(t, EMPIRIC_ANTIBIOTICS):
            out.append(f"fever at {t} with ANC {known[-1]}: no empiric antibiotics within the "
                       "hour (neutropenic-fever pathway, ASCO 2021)")
    return out


def icu_problems(case: library.LibraryCase, results: list[grading.RowResult]) -> list[str]:
    severe = [r for r in results if (r.crs.grade or 0) >= 3 or (r.icans.grade or 0) >= 3]
    if not severe:
        return []
    t = severe[0].time.replace(tzinfo=None)
    if any(e.what == "ICU admission" and t - ICU_WITHIN <= e.time <= t + ICU_WITHIN
           for e in case.card.events):
        return []
    return [f"grade 3 at {t}: no ICU admission within {_h(ICU_WITHIN)} (ASCO 2021, spec §4.6)"]


# ------------------------------------------------------------------------------ every case
@pytest.mark.parametrize("case_id", IDS)
def test_each_cards_tocilizumab_follows_spec_4_4(case_id):
    assert tocilizumab_problems(CASES[case_id].card) == []


@pytest.mark.parametrize("case_id", IDS)
def test_each_cards_steroids_follow_asco_2021(case_id):
    card, results = CASES[case_id].card, results_of(case_id)
    assert dexamethasone_problems(card, results) + methylprednisolone_problems(card, results) \
        == []


@pytest.mark.parametrize("case_id", IDS)
def test_each_fever_gets_cultures_a_chest_x_ray_and_if_neutropenic_antibiotics(case_id):
    assert work_up_problems(CASES[case_id]) == []


@pytest.mark.parametrize("case_id", IDS)
def test_each_grade_3_case_goes_to_the_icu(case_id):
    assert icu_problems(CASES[case_id], results_of(case_id)) == []


@pytest.mark.parametrize("case_id", IDS)
def test_no_case_charts_a_flat_line_of_identical_vital_signs(case_id):
    rows = library.csv_rows(CASES[case_id].timeline)
    run = longest = 1
    for a, b in zip(rows, rows[1:]):
        run = run + 1 if all(a[k] == b[k] for k in VITALS) else 1
        longest = max(longest, run)
    assert longest <= MAX_IDENTICAL_VITALS_IN_A_ROW


# ------------------------------------------------------------------------------ the checks fail
def test_the_checks_catch_doses_outside_the_guidance():
    base = json.loads(library.card_json(CASES["DEMO-007"].card))["medications"]
    toci = [m for m in base if m["kind"] == "tocilizumab"]
    fourth = {**toci[0], "time": "2026-08-12T06:00"}             # 4 in 24 h, 3 h after the 3rd
    card = card_of("DEMO-007", medications=[*base, fourth, {**toci[0], "time":
                                                            "2026-08-13T06:00"}])
    problems = tocilizumab_problems(card)
    assert any("4 doses in the 24 h" in p for p in problems)
    assert any("after the previous dose (at least 8 h)" in p for p in problems)
    assert any("5 doses (at most 4 in total)" in p for p in problems)
    heavy = card_of("DEMO-007", medications=[{**m, "dose": 900} if m["kind"] == "tocilizumab"
                                             else m for m in base])
    assert any("is 736 mg (at most 800 mg)" in p for p in tocilizumab_problems(heavy))


def test_the_checks_catch_the_steroid_schedules_the_review_found():
    # DEMO-003 as first written: a dose 4 h after the one before
    meds = json.loads(library.card_json(CASES["DEMO-003"].card))["medications"]
    meds.append({"time": "2026-05-17T05:50", "kind": "dexamethasone", "drug": "dexamethasone",
                 "dose": 10, "unit": "mg"})
    card = card_of("DEMO-003", medications=sorted(meds, key=lambda m: m["time"]))
    assert "dexamethasone at 2026-05-17 05:50:00: 4 h after the previous dose (ASCO: every " \
           "6 h-12 h)" in dexamethasone_problems(card, results_of("DEMO-003"))
    # DEMO-005 as first written: every 8 h while still grade 3
    meds = [m for m in json.loads(library.card_json(CASES["DEMO-005"].card))["medications"]
            if m["kind"] != "dexamethasone"]
    meds += [{"time": t, "kind": "dexamethasone", "drug": "dexamethasone", "dose": 10,
              "unit": "mg"} for t in ("2026-07-07T23:50", "2026-07-08T07:50")]
    card = card_of("DEMO-005", medications=sorted(meds, key=lambda m: m["time"]))
    assert any("8 h after the previous dose at CRS grade 3" in p
               for p in dexamethasone_problems(card, results_of("DEMO-005")))
    # DEMO-007 as first written: 250 mg x 3 and 125 mg x 2, then 60 mg
    meds = [m for m in json.loads(library.card_json(CASES["DEMO-007"].card))["medications"]
            if m["kind"] != "methylprednisolone"]
    start = datetime(2026, 8, 11, 22, 20)
    meds += [{"time": (start + 12 * H * i).isoformat(), "kind": "methylprednisolone",
              "drug": "methylprednisolone", "dose": d, "unit": "mg"}
             for i, d in enumerate([500] * 6 + [250] * 3 + [125] * 2 + [60] * 2)]
    problems = methylprednisolone_problems(card_of("DEMO-007", medications=sorted(
        meds, key=lambda m: m["time"])), results_of("DEMO-007"))
    assert "methylprednisolone dose 10 at 2026-08-16 10:20:00: 125 mg, the ASCO taper gives " \
           "250 mg" in problems
    assert "methylprednisolone dose 12 at 2026-08-17 10:20:00: 60 mg, the ASCO taper gives " \
           "125 mg" in problems
    # a taper cut short without saying so
    meds = [m for m in json.loads(library.card_json(CASES["DEMO-007"].card))["medications"]
            if not (m["kind"] == "methylprednisolone" and m["time"] > "2026-08-15")]
    problems = methylprednisolone_problems(card_of("DEMO-007", medications=meds),
                                           results_of("DEMO-007"))
    assert problems == [f"methylprednisolone: 7 of the 14 taper doses and the card does not say "
                        f"'{ENDS_BEFORE_TAPER}'"]


def test_the_checks_catch_a_fever_without_its_work_up_and_a_grade_3_without_the_icu():
    case = CASES["DEMO-004"]
    bare = library.LibraryCase(card_of("DEMO-004", events=[]), case.timeline, case.source)
    assert work_up_problems(bare) == [
        "fever at 2026-06-04 10:00:00: no blood and urine cultures (ASCO 2021)",
        "fever at 2026-06-04 10:00:00: no chest X-ray (ASCO 2021)",
        "fever at 2026-06-04 10:00:00 with ANC 0.29: no empiric antibiotics within the hour "
        "(neutropenic-fever pathway, ASCO 2021)"]
    case = CASES["DEMO-005"]
    no_icu = library.LibraryCase(card_of("DEMO-005", events=[
        e for e in json.loads(library.card_json(case.card))["events"]
        if e["what"] != "ICU admission"]), case.timeline, case.source)
    assert icu_problems(no_icu, results_of("DEMO-005")) == [
        "grade 3 at 2026-07-07 22:00:00: no ICU admission within 1 h (ASCO 2021, spec §4.6)"]
