"""The teaching case library: every case grades as its card says, on the CSV and in the store.

``library.verify`` is the check: it grades a case's timeline with the engine and compares every
claim of the card (maximum grades, the grade and status at each named time, every row the card
does not name being final, the exact rows raising each review flag, the medications behind the
"given" fields, the age). Every built-in case must pass it; a card with a wrong claim must not.
Loading a case into the ward record must give the same grades, medications and labs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

import grading
from monitoring import library
from monitoring.demo import standard_ids, standard_now
from monitoring.store import StoreError, WardStore

CASES = {c.id: c for c in library.builtin_cases()}
IDS = sorted(CASES)
AT = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def card_with(case: library.LibraryCase, **changes) -> library.LibraryCase:
    raw = json.loads(library.card_json(case.card))
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = raw
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value
    return library.LibraryCase(library.parse_card(raw), case.timeline, case.source)


# ------------------------------------------------------------------------------ the files
def test_every_csv_in_sample_data_has_a_case_card_and_every_card_its_csv():
    csvs = {p.name for p in library.SAMPLE_DATA.glob("*.csv")}
    assert csvs == {c.card.timeline for c in CASES.values()}
    for c in CASES.values():
        assert library.SAMPLE_DATA.joinpath(f"{c.stem}{library.CARD_SUFFIX}").is_file()


def test_the_library_has_at_least_13_synthetic_cases_with_the_standard_ward_among_them():
    assert len(CASES) >= 13
    assert all(c.card.synthetic for c in CASES.values())
    assert standard_ids() == ["DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005"]
    assert set(standard_ids()) <= set(CASES)


@pytest.mark.parametrize("case_id", IDS)
def test_each_case_grades_exactly_as_its_card_says(case_id):
    assert library.verify(CASES[case_id]) == []


@pytest.mark.parametrize("case_id", [i for i in IDS if CASES[i].card.patient.age_years >= 18])
def test_each_adult_card_names_the_spec_7_trial_of_its_product_and_says_it_is_synthetic(
        case_id):
    card = CASES[case_id].card
    trial = card.trial.model_dump(exclude={"product", "note"}, exclude_none=True)
    assert trial == library.TRIALS[card.patient.product]
    assert card.trial.note.startswith("Synthetic case")
    assert card.patient.name.endswith("(synthetic)")


@pytest.mark.parametrize("case_id", IDS)
def test_each_cards_trial_note_is_the_librarys_and_names_no_internal_section(case_id):
    card = CASES[case_id].card
    assert card.trial.note == library.trial_for(card.patient.product,
                                                card.patient.age_years).note
    # shown to learners: plain words, the published trial, never a document's section id
    assert "published" in card.trial.note
    assert not any(word in card.trial.note for word in ("spec", "§", "[R]", "grading-"))


def test_the_childs_card_quotes_no_adult_trial_and_names_eliana_without_figures():
    card = CASES["DEMO-004"].card  # 8 years, B-ALL, tisa-cel: JULIET is adult LBCL
    assert card.patient.age_years < 18 and card.trial.trial == "ELIANA"
    assert card.trial.citation == "Maude SL et al. N Engl J Med 2018;378:439-448"
    assert not card.trial.has_figures  # no figure the spec does not hold
    assert all(getattr(card.trial, f) is None for f in library.TRIAL_FIGURES)
    assert "has no paediatric trial" in card.trial.note and "JULIET" not in library.card_json(
        card)
    assert card.trial == library.trial_for("tisa-cel", 8)
    with pytest.raises(library.CardError, match="a child's case quotes no adult trial figures"):
        raw = json.loads(library.card_json(card))
        raw["trial"] = {"product": "tisa-cel", **library.TRIALS["tisa-cel"], "note": "x"}
        library.parse_card(raw)
    assert library.trial_for("axi-cel", 9).trial is None  # no paediatric trial named at all


@pytest.mark.parametrize("case_id", IDS)
def test_each_card_has_medications_labs_and_teaching_text(case_id):
    card = CASES[case_id].card
    assert card.summary and len(card.learning_points) >= 3
    assert set(card.labs.units) >= {"crp", "ferritin", "ldh", "platelets", "anc", "haemoglobin",
                                    "creatinine", "fibrinogen"}
    assert len(card.labs.draws) >= 7  # at least daily through the stay
    if CASES[case_id].id != "DEMO-001":  # the uneventful stay needs no medication
        assert card.medications


# ------------------------------------------------------------------------------ the scenarios
def summary(case_id: str) -> grading.PatientSummary:
    (s,) = grading.summarize(grading.grade(grading.read_csv(CASES[case_id].timeline)))
    return s


def rows(case_id: str) -> list[dict[str, str]]:
    return library.csv_rows(CASES[case_id].timeline)


SCENARIOS = {  # issue 7's list -> the case, and what makes it that case
    "an uneventful stay": ("DEMO-001", lambda s: (s.crs_max_grade, s.icans_max_grade) == (0, 0)),
    "early grade 1 CRS": ("DEMO-006", lambda s: s.crs_max_grade == 1
                          and s.crs_episodes[0].onset_day == 1),
    "grade 2 CRS treated with tocilizumab and resolving": (
        "DEMO-002", lambda s: s.crs_max_grade == 2 and s.crs_episodes[-1].resolved is not None),
    "grade 4 CRS": ("DEMO-007", lambda s: s.crs_max_grade == 4),
    "CRS followed by grade 3 ICANS with a seizure": (
        "DEMO-008", lambda s: s.crs_max_grade >= 1 and s.icans_max_grade == 3
        and s.crs_episodes[0].onset < s.icans_episodes[0].onset),
    "grade 4 ICANS with cerebral oedema": ("DEMO-009", lambda s: s.icans_max_grade == 4),
    "ICANS after CRS has resolved": (
        "DEMO-010", lambda s: s.icans_episodes[0].onset > s.crs_episodes[-1].resolved),
    "a child with B-ALL assessed with CAPD": ("DEMO-004", lambda s: s.icans_max_grade == 2),
    "fever from an infection attributed elsewhere": ("DEMO-011", lambda s: s.crs_max_grade == 0),
    "prophylactic steroids with a possibly masked fever": (
        "DEMO-012", lambda s: s.crs_max_grade == 2),
    "biphasic CRS": ("DEMO-013", lambda s: len(s.crs_episodes) == 2),
    "late CRS after cilta-cel": ("DEMO-014", lambda s: s.crs_episodes[0].onset_day >= 5),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_library_covers_every_scenario_of_issue_7(scenario):
    case_id, holds = SCENARIOS[scenario]
    assert holds(summary(case_id)), scenario


def test_the_grade_3_case_has_a_vasopressor_high_flow_oxygen_and_goes_to_the_icu():
    # issue 7: "grade 3 CRS with a vasopressor and high-flow oxygen going to ICU"
    assert summary("DEMO-005").crs_max_grade == 3
    hfnc = [r for r in rows("DEMO-005") if r.get("o2_device") == "high_flow_nasal_cannula"]
    assert hfnc and float(hfnc[0]["o2_flow_l_min"]) > 6 and hfnc[0]["fio2_pct"]  # flow, FiO2
    pressor = next(r for r in rows("DEMO-005") if r.get("vasopressors") == "norepinephrine")
    (icu,) = [e for e in CASES["DEMO-005"].card.events if e.what == "ICU admission"]
    assert datetime.fromisoformat(pressor["time"]) <= icu.time <= datetime.fromisoformat(
        pressor["time"]) + timedelta(hours=1)
    assert "admit" in CASES["DEMO-005"].card.learning_points[2].lower()  # ASCO: admit to ICU
    assert "ASCO 2021" in CASES["DEMO-005"].card.learning_points[2]


def test_the_seizure_case_records_a_seizure_and_the_oedema_case_diffuse_oedema():
    assert any(r.get("seizure") == "resolved_rapidly" for r in rows("DEMO-008"))
    assert any(r.get("cerebral_edema") == "diffuse" for r in rows("DEMO-009"))


def test_the_child_is_under_12_and_assessed_with_the_capd_only():
    assert CASES["DEMO-004"].card.patient.age_years < 12
    assert CASES["DEMO-004"].card.patient.disease == "B-ALL"
    assert any(r.get("capd_total") for r in rows("DEMO-004"))
    assert not any(r.get("ice_orientation") for r in rows("DEMO-004"))


def test_the_infection_case_attributes_its_fevers_and_the_masked_fever_case_is_provisional():
    febrile = [r for r in rows("DEMO-011") if float(r["temp_c"]) >= 38.0]
    assert febrile and all(r["attributed_elsewhere"] == "fever" for r in febrile)
    results = list(grading.grade(grading.read_csv(CASES["DEMO-012"].timeline)).results())
    masked = [r for r in results if any(f.code == "fever_possibly_masked" for f in r.flags)]
    assert masked and {(r.crs.grade, r.crs.status) for r in masked} == {(0, "provisional")}
    first_dose = CASES["DEMO-012"].card.medications[0]
    assert first_dose.kind == "dexamethasone" and first_dose.time < CASES["DEMO-012"].card \
        .expected.grades[1].time  # prophylaxis before any fever


# CRS onset day ranges of spec §7 by product (CD28 products early; cilta-cel by its IQR)
ONSET_DAYS = {"axi-cel": (1, 3), "brexu-cel": (1, 3), "ide-cel": (1, 2), "tisa-cel": (1, 14),
              "liso-cel": (1, 14), "cilta-cel": (5, 8)}


@pytest.mark.parametrize("case_id", IDS)
def test_each_cases_crs_onset_fits_its_products_trial_timing(case_id):
    s = summary(case_id)
    if s.crs_episodes:
        low, high = ONSET_DAYS[CASES[case_id].card.patient.product]
        assert low <= s.crs_episodes[0].onset_day <= high


@pytest.mark.parametrize("case_id", [i for i in IDS if summary(i).crs_max_grade >= 2])
def test_crp_peaks_within_3_days_of_the_crs_maximum(case_id):
    card, s = CASES[case_id].card, summary(case_id)
    top = max(s.crs_episodes, key=lambda e: e.max_grade)
    infusion = datetime.fromisoformat(rows(case_id)[0]["infusion_time"]).date()
    crp = [(d["crp"], datetime.fromisoformat(d["time"])) for d in card.labs.draws if "crp" in d]
    peak_day = (max(crp)[1].date() - infusion).days
    assert top.max_grade_day <= peak_day <= top.max_grade_day + 3


# ------------------------------------------------------------------------------ verify fails
def test_verify_reports_a_wrong_maximum_a_wrong_grade_and_a_missing_flag():
    case = CASES["DEMO-012"]
    assert library.verify(card_with(case, expected__crs_max=3)) == [
        "maximum grades: the engine gives CRS 2, ICANS 0; the card says CRS 3, ICANS 0"]
    problems = library.verify(card_with(case, expected__grades__3__crs=3))
    assert problems == ["CRS at 2026-09-23T17:00: the engine gives 2 final; the card says 3 "
                        "final"]
    problems = library.verify(card_with(case, expected__flags={}))
    assert problems == ["review flags: the engine raises fever_possibly_masked at "
                        "2026-09-23T14:00, 2026-09-23T15:00; the card says none"]


def test_verify_reports_a_provisional_row_the_card_does_not_name():
    case = CASES["DEMO-012"]
    grades = [g for g in json.loads(library.card_json(case.card))["expected"]["grades"]
              if g["time"] != "2026-09-23T15:00"]
    assert library.verify(card_with(case, expected__grades=grades)) == [
        "2026-09-23T15:00: CRS provisional, ICANS final; the card states no grade there"]


def test_verify_reports_a_medication_the_timeline_does_not_show():
    case = CASES["DEMO-002"]
    meds = json.loads(library.card_json(case.card))["medications"]
    meds.append({"time": "2026-04-10T09:30", "kind": "tocilizumab", "drug": "tocilizumab",
                 "dose": 672, "unit": "mg"})
    assert library.verify(card_with(case, medications=meds)) == [
        "timeline 2026-04-10T10:00: the card's medication sets tocilizumab_given, the row does "
        "not"]


def test_a_card_with_a_bad_field_is_refused_naming_the_field():
    raw = json.loads(library.card_json(CASES["DEMO-002"].card))
    raw["medications"][0]["unit"] = "mL"
    raw["patient"]["weight_kg"] = 0
    with pytest.raises(library.CardError) as e:
        library.parse_card(raw, "bad.card.json")
    assert any("medications.0" in p and "recorded in mg" in p for p in e.value.problems)
    assert any("patient.weight_kg" in p for p in e.value.problems)


# ------------------------------------------------------------------------------ via the store
@pytest.mark.parametrize("case_id", IDS)
def test_a_loaded_case_grades_in_the_store_as_on_its_card(store, case_id):
    case = CASES[case_id]
    n = library.load_case(store, case, AT, by="eddie")
    expected = list(grading.grade(grading.read_csv(case.timeline)).results())
    assert n == len(expected)
    got = list(grading.grade(store.timeline(case_id)).results())
    shift = got[-1].time - expected[-1].time
    assert shift % timedelta(days=1) == timedelta(0) and AT - timedelta(days=1) < got[-1].time
    assert [(r.time - shift, r.crs.grade, r.crs.status, r.icans.grade, r.icans.status,
             r.day_post_infusion, {f.code for f in r.flags}) for r in got] == \
        [(r.time, r.crs.grade, r.crs.status, r.icans.grade, r.icans.status, r.day_post_infusion,
          {f.code for f in r.flags}) for r in expected]
    meds = store.administrations(case_id)
    assert [(m["kind"], m["dose"], m["given_at"] - shift, m["indication"]) for m in meds] == [
        (m.kind, m.dose, m.time.replace(tzinfo=UTC), m.indication)
        for m in case.card.medications]
    assert [(x["transferred_at"] - shift, x["returned_at"] - shift)
            for x in store.icu_stays(case_id)] == [
        (x.transferred.replace(tzinfo=UTC), x.returned.replace(tzinfo=UTC))
        for x in case.card.icu]
    labs = store.labs(case_id)
    assert [(x["test"], x["entered_value"], x["entered_unit"]) for x in labs] == [
        (test, value, unit) for test, value, unit, _ in case.card.labs.results()]
    p = store.patient(case_id)
    assert (p["is_demo"], p["product"], p["weight_kg"]) == (True, case.card.patient.product,
                                                            case.card.patient.weight_kg)
    assert store.audit(case_id)[-1]["action"] == "teaching_case_loaded"


def test_loading_a_case_again_marks_the_first_copy_and_keeps_it_in_the_audit_trail(store):
    case = CASES["DEMO-006"]
    library.load_case(store, case, AT)
    first = {h.id for h in store.history("DEMO-006")}
    library.load_case(store, case, AT + timedelta(days=2))
    assert len(store.timeline_rows("DEMO-006")) == len(library.csv_rows(case.timeline))
    history = store.history("DEMO-006")
    assert {h.id for h in history if h.status == "entered_in_error"} >= first
    assert len(store.administrations("DEMO-006")) == len(case.card.medications)
    assert len(store.labs("DEMO-006")) == len(case.card.labs.results())
    assert store.timeline_rows("DEMO-006")[-1]["time"] > AT + timedelta(days=1)


def test_an_educators_load_is_written_and_audited_under_the_educator(store):
    case = CASES["DEMO-006"]
    library.load_case(store, case, AT, by="eddie")
    assert {h.recorded_by for h in store.history("DEMO-006")} == {"eddie"}
    assert {m["recorded_by"] for m in store.administrations("DEMO-006")} == {"eddie"}
    assert {x["recorded_by"] for x in store.labs("DEMO-006")} == {"eddie"}
    assert {a["username"] for a in store.audit("DEMO-006")} == {"eddie"}
    library.load_case(store, case, AT + timedelta(days=1), by="eddie")  # a fresh copy
    again = store.audit("DEMO-006")
    # every entry the app wrote is under the educator; on PostgreSQL the database also audits
    # the admission details the load changed (docs/security.md, migration 0010)
    assert {a["username"] for a in again if a["action"] != "db_update"} == {"eddie"}
    assert {a["username"] for a in again if a["action"] == "db_update"} <= {
        f"database:{store.engine.url.username}"}
    assert [a["action"] for a in again].count("teaching_case_loaded") == 2
    assert {h.recorded_by for h in store.history("DEMO-006") if h.status == "entered_in_error"
            } == {"eddie"}


def test_a_reset_by_an_educator_is_recorded_and_each_reload_audited_like_a_load(store):
    from monitoring.demo import load_demo
    load_demo(store, at=AT)  # the first run's demo ward: the system
    assert {h.recorded_by for h in store.history("DEMO-002")} == {"system"}
    store.raise_flag("DEMO-002", "new_fever", "urgent", "fever", AT - timedelta(days=2))
    load_demo(store, reset=True, at=AT + timedelta(days=1), by="eddie")
    history = store.history("DEMO-002")
    assert {h.recorded_by for h in history if h.replaces_id is not None} == {"eddie"}  # marks
    assert {h.recorded_by for h in history if h.status == "final"} == {"eddie"}  # reloaded
    assert {r["recorded_by"] for r in store.administrations("DEMO-002")} == {"eddie"}
    before = [f for f in store.flags("DEMO-002") if f["raised_at"] <= AT]
    assert before and {(f["ack_by"], f["ack_dismissed"], f["ack_reason"]) for f in before} == {
        ("eddie", True, "demo ward reset")}  # the demo's own flags and the one raised here
    loaded = [a for a in store.audit() if a["action"] == "teaching_case_loaded"]
    assert sorted(a["patient_id"] for a in loaded if a["username"] == "eddie") == standard_ids()


def test_only_a_demo_patient_is_cleared_and_an_educator_imports_demo_patients_only(store):
    from monitoring.store import PatientIn
    store.admit(PatientIn(patient_id="REAL"), by="drx")
    store.record_assessment("REAL", {"time": AT, "temp_c": 37.0}, by="nina")
    with pytest.raises(StoreError, match="not a demo patient: a real record is corrected"):
        store.clear_demo_patient("REAL", "tidy up", by="drx")
    with pytest.raises(StoreError, match="eddie"):
        store.clear_demo_patient("REAL", "tidy up", by="eddie")
    assert len(store.timeline_rows("REAL")) == 1
    csv_text = b"patient_id,time,temp_c\nREAL,2026-11-21T10:00,37.2\n"
    with pytest.raises(StoreError, match=r"educator.*may not import for REAL"):
        store.import_csv(csv_text, by="eddie", demo=True)
    with pytest.raises(StoreError, match="eddie"):
        store.import_csv(csv_text, by="eddie")  # not a demo import at all
    with pytest.raises(StoreError, match="synthetic demo patients only"):
        store.update_patient("REAL", {"bed": "3"}, "moved", by="eddie")


def test_a_case_never_replaces_a_real_patient(store):
    from monitoring.store import PatientIn
    store.admit(PatientIn(patient_id="DEMO-006"), by="drx")
    with pytest.raises(StoreError, match="not a demo patient"):
        library.load_case(store, CASES["DEMO-006"], AT)


# ------------------------------------------------------------------------------ store table
def test_saved_teaching_cases_keep_every_version_with_who_and_when(store):
    first = store.save_teaching_case("EDU-001", "First try", "{}", "csv", by="eddie")
    second = store.save_teaching_case("EDU-001", "Second try", "{}", "csv", by="eddie")
    (current,) = store.teaching_cases()
    assert (current["id"], current["title"], current["replaces_id"]) == (second, "Second try",
                                                                         first)
    versions = store.teaching_case_versions("EDU-001")
    assert [v["title"] for v in versions] == ["First try", "Second try"]
    assert {v["recorded_by"] for v in versions} == {"eddie"}
    assert all(v["recorded_at"].tzinfo is not None for v in versions)
    assert [a["action"] for a in store.audit() if a["entity"] == "teaching_case"] == [
        "save", "new_version"]
    with pytest.raises(StoreError, match="nina"):
        store.save_teaching_case("EDU-002", "x", "{}", "csv", by="nina")  # a nurse


def test_the_teaching_case_table_is_append_only(store):
    import sqlalchemy as sa
    store.save_teaching_case("EDU-001", "A case", "{}", "csv", by="eddie")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE teaching_cases SET title = 'changed'"))


def test_migration_0005_adds_the_teaching_cases_table_to_an_older_database(tmp_path):
    import sqlalchemy as sa

    from monitoring.store import WardStore
    from tests.monitoring.revisions import upgrade_to
    from tests.monitoring.test_reliability import _head_revision
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade_to(url, "0004")  # a database from before revision 0005
    engine = sa.create_engine(url)
    assert not sa.inspect(engine).has_table("teaching_cases")
    engine.dispose()
    store = WardStore(url)
    with store.engine.connect() as conn:
        assert "teaching_cases" in sa.inspect(conn).get_table_names()
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            _head_revision()
        triggers = {r[0] for r in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'teaching_cases'"))}
    assert triggers == {"teaching_cases_no_update", "teaching_cases_no_delete",
                        "teaching_cases_no_replace"}
    store.engine.dispose()


def test_an_educator_charts_for_demo_patients_only(store):
    from monitoring.store import PatientIn
    store.admit(PatientIn(patient_id="REAL"), by="drx")
    with pytest.raises(StoreError, match="demo patients only"):
        store.record_assessment("REAL", {"time": AT, "temp_c": 37.0}, by="eddie")
    with pytest.raises(StoreError, match="eddie"):
        store.admit(PatientIn(patient_id="REAL-2"), by="eddie")
    store.admit(PatientIn(patient_id="EDU-001", is_demo=True), by="eddie")
    store.record_assessment("EDU-001", {"time": AT, "temp_c": 37.0}, by="eddie")
    store.record_administration("EDU-001", "antipyretic", AT, by="eddie", dose=1000)
    store.record_lab("EDU-001", "crp", 12, "mg/L", AT, by="eddie")
    with pytest.raises(StoreError, match="demo patients only"):
        store.record_lab("REAL", "crp", 12, "mg/L", AT, by="eddie")
    assert [h.recorded_by for h in store.history("EDU-001")] == ["eddie"]


def test_a_reset_marks_medications_and_labs_and_discharges_cases_outside_the_standard_ward(
        store):
    from monitoring.demo import load_demo
    load_demo(store, at=AT)
    library.load_case(store, CASES["DEMO-009"], AT)
    standard_labs = len(store.labs("DEMO-002"))
    load_demo(store, reset=True, at=AT + timedelta(days=3))
    assert store.patient("DEMO-009")["discharged_at"] is not None
    assert store.timeline_rows("DEMO-009") == [] and store.labs("DEMO-009") == []
    assert store.administrations("DEMO-009") == [] and store.icu_stays("DEMO-009") == []
    assert store.patient("DEMO-002")["discharged_at"] is None
    assert len(store.labs("DEMO-002")) == standard_labs  # loaded again, not added twice
    until = standard_now()["DEMO-002"]  # the demo ward shows the case up to its now (W16)
    assert len(store.administrations("DEMO-002")) == len(
        [m for m in CASES["DEMO-002"].card.medications if m.time <= until])
    expected = [(r.crs.grade, r.icans.grade) for r in grading.grade(grading.read_csv(
        library.cut_timeline(CASES["DEMO-002"].timeline, until))).results()]
    assert [(r.crs.grade, r.icans.grade) for r in
            grading.grade(store.timeline("DEMO-002")).results()] == expected
    marks = [a for a in store.audit("DEMO-009") if a["action"] == "entered_in_error"]
    assert {a["entity"] for a in marks} == {"assessment", "administration", "lab", "icu_stay"}
    library.load_case(store, CASES["DEMO-009"], AT + timedelta(days=3))  # back on the ward
    assert store.patient("DEMO-009")["discharged_at"] is None
    assert len(store.icu_stays("DEMO-009")) == 1  # loaded again, not added twice


def test_an_exported_case_is_the_two_sample_data_files_and_reads_back_the_same():
    import io
    import zipfile
    case = CASES["DEMO-008"]
    with zipfile.ZipFile(io.BytesIO(library.export_zip(case))) as z:
        assert sorted(z.namelist()) == ["crs_then_icans3_seizure.card.json",
                                        "crs_then_icans3_seizure.csv"]
        card = library.parse_card(z.read("crs_then_icans3_seizure.card.json"))
        timeline = z.read("crs_then_icans3_seizure.csv")
    assert card == case.card and timeline == case.timeline
    assert library.verify(library.LibraryCase(card, timeline, "built-in")) == []


def test_shifting_a_case_keeps_the_seconds_of_entries_timed_to_the_second():
    """Review: the bedside form times an entry left at "now" to the second (issue 18.10), so
    a case saved from a demo patient can hold two assessments in one minute (``record_csv``
    keeps the seconds). Loading it shifts every time by whole days: the seconds must stay,
    or the two rows fall on one time (refused as a second assessment at one time) and a
    medication recorded between them moves to the other row."""
    timeline = (b"patient_id,time,infusion_time,temp_c\n"
                b"EDU-001,2026-12-01T10:00:15,2026-11-30T09:00,38.1\n"
                b"EDU-001,2026-12-01T10:00:45,,38.3\n"
                b"EDU-001,2026-12-01T11:00,,38.2\n")
    rows = library.csv_rows(library.shifted_timeline(timeline, timedelta(days=3)))
    assert [(r["time"], r["infusion_time"]) for r in rows] == [
        ("2026-12-04T10:00:15", "2026-12-03T09:00"), ("2026-12-04T10:00:45", ""),
        ("2026-12-04T11:00", "")]


# W7 across a clock change: the ward zone's clock changes within the days a case is moved to
CLOCK_CHANGES = [
    # 2026-03-08 02:00 does not exist in New York: the whole-day move wrote it and the import
    # refused it, so no case with a 02:00 assessment loaded for two weeks after spring forward
    ("America/New_York", datetime(2026, 3, 11, 12, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 4, 5, 30, tzinfo=UTC)),   # fall back
    ("Europe/London", datetime(2026, 3, 31, 12, 0, tzinfo=UTC)),      # spring forward
]


@pytest.mark.parametrize(("zone", "at"), CLOCK_CHANGES, ids=lambda v: str(v)[:16])
@pytest.mark.parametrize("case_id", ["DEMO-002", "DEMO-003", "DEMO-005"])
def test_a_case_loaded_across_a_clock_change_keeps_real_elapsed_time_and_its_cards_grades(
        zone, at, case_id):
    store = WardStore.in_memory(zone)
    store.add_user("eddie", "educator")
    case = CASES[case_id]
    n = library.load_case(store, case, at, by="eddie")
    expected = list(grading.grade(grading.read_csv(case.timeline)).results())
    got = list(grading.grade(store.timeline(case_id)).results())
    assert n == len(got) == len(expected)
    assert [(r.crs.grade, r.crs.status, r.icans.grade, r.icans.status,
             {f.code for f in r.flags}) for r in got] == \
        [(r.crs.grade, r.crs.status, r.icans.grade, r.icans.status, {f.code for f in r.flags})
         for r in expected]
    end, card_end = got[-1].time.astimezone(UTC), expected[-1].time
    # the last assessment at its card clock time, within the day before the load
    assert got[-1].time.astimezone(store.tz).time() == card_end.time()
    assert at - timedelta(days=1) < end <= at
    # every assessment, medication and lab at its card distance from the last, in real time
    assert [r.time.astimezone(UTC) - end for r in got] == [r.time - card_end for r in expected]
    card_end = card_end.replace(tzinfo=None)
    assert [(m["kind"], m["given_at"].astimezone(UTC) - end)
            for m in store.administrations(case_id)] == [
        (m.kind, m.time - card_end) for m in case.card.medications]
    assert sorted(x["taken_at"].astimezone(UTC) - end for x in store.labs(case_id)) == sorted(
        when - card_end for *_, when in case.card.labs.results())


# ------------------------------------------------------------ why each dose, ICU stays (W20, R10)
# What each card's story says each anti-cytokine agent and steroid was given for (the summary
# and the notes), and the ICU stays its events give (transfer, return to the ward).
GIVEN_FOR = {
    "DEMO-001": {}, "DEMO-006": {},  # antipyretics only
    "DEMO-002": {"tocilizumab": "crs"},
    "DEMO-003": {"dexamethasone": "icans"},  # the CRS ended on Day 2; ICANS from Day 5
    "DEMO-004": {"tocilizumab": "crs", "dexamethasone": "icans"},
    "DEMO-005": {"tocilizumab": "crs", "dexamethasone": "crs"},
    "DEMO-007": {"tocilizumab": "crs", "dexamethasone": "crs", "methylprednisolone": "crs"},
    "DEMO-008": {"tocilizumab": "crs", "dexamethasone": "icans"},
    "DEMO-009": {"tocilizumab": "crs", "dexamethasone": "icans", "methylprednisolone": "icans",
                 "anakinra": "icans"},
    "DEMO-010": {"dexamethasone": "icans"},
    "DEMO-011": {"antipyretic": "other"},  # the line infection's fever
    "DEMO-012": {"dexamethasone": "prophylaxis", "tocilizumab": "crs"},
    "DEMO-013": {"tocilizumab": "crs"},
    "DEMO-014": {"tocilizumab": "crs"},
}
ICU = {
    "DEMO-003": [("2026-05-17T02:30", "2026-05-18T10:00")],
    "DEMO-005": [("2026-07-07T22:30", "2026-07-09T10:00")],
    "DEMO-007": [("2026-08-11T15:30", "2026-08-14T12:00")],
    "DEMO-008": [("2026-08-22T17:20", "2026-08-23T12:00")],
    "DEMO-009": [("2026-08-28T06:30", "2026-09-02T10:00")],
}


def test_the_table_of_reasons_covers_every_card():
    assert set(GIVEN_FOR) == set(IDS)


@pytest.mark.parametrize("case_id", IDS)
def test_each_card_says_why_each_anticytokine_and_steroid_dose_was_given_as_its_story_does(
        case_id):
    from monitoring.medications import INDICATION_ASKED, NOT_STATED
    meds = CASES[case_id].card.medications
    assert {m.kind: m.indication for m in meds if m.indication != NOT_STATED} == \
        GIVEN_FOR[case_id]
    # one reason per drug on every card: each dose of a drug has it
    assert all(m.indication == GIVEN_FOR[case_id][m.kind] for m in meds
               if m.kind in GIVEN_FOR[case_id])
    assert not [m for m in meds if m.kind in INDICATION_ASKED and m.indication == NOT_STATED]


@pytest.mark.parametrize("case_id", IDS)
def test_each_card_whose_story_goes_to_the_icu_has_the_stay_at_the_times_of_its_events(
        case_id):
    card = CASES[case_id].card
    stays = [(f"{x.transferred:%Y-%m-%dT%H:%M}", f"{x.returned:%Y-%m-%dT%H:%M}")
             for x in card.icu]
    assert stays == ICU.get(case_id, [])
    assert ("ICU" in card.summary) == bool(stays)
    events = {e.what: f"{e.time:%Y-%m-%dT%H:%M}" for e in card.events}
    assert [(events.get("ICU admission"), events.get("back to the ward"))] == (
        stays or [(None, None)])


def test_a_card_with_a_reason_the_record_does_not_know_is_refused_naming_the_dose_and_choices():
    from monitoring.medications import INDICATIONS
    raw = json.loads(library.card_json(CASES["DEMO-003"].card))
    raw["medications"][3]["indication"] = "neurotoxicity"
    with pytest.raises(library.CardError) as e:
        library.parse_card(raw, "grade3_icans.card.json")
    (problem,) = e.value.problems
    assert problem.startswith("grade3_icans.card.json: medications.3: ")
    assert "dexamethasone at 2026-05-17T01:50" in problem and "'neurotoxicity'" in problem
    assert all(f"{k} ({w})" in problem for k, w in INDICATIONS.items())  # the record's list


def test_a_card_medication_without_a_reason_is_loaded_as_not_stated(memory_store):
    raw = json.loads(library.card_json(CASES["DEMO-002"].card))
    for m in raw["medications"]:
        m.pop("indication", None)
    case = library.LibraryCase(library.parse_card(raw), CASES["DEMO-002"].timeline, "built-in")
    library.load_case(memory_store, case, AT)
    assert {m["indication"] for m in memory_store.administrations("DEMO-002")} == {"not_stated"}


@pytest.mark.parametrize(("stays", "words"), [
    ([{"transferred": "2026-07-08T10:00", "returned": "2026-07-08T09:00"}],
     ["icu.0", "the return to the ward (2026-07-08T09:00) must be after the transfer"]),
    ([{"transferred": "2026-07-08T10:00+02:00"}], ["icu.0.transferred", "without a UTC offset"]),
    ([{"transferred": "2026-07-07T22:30", "returned": "2026-07-09T10:00"},
      {"transferred": "2026-07-08T12:00", "returned": "2026-07-08T18:00"}],
     ["icu: the stay from 2026-07-08T12:00", "one ICU stay at a time"]),
    ([{"transferred": "2026-07-07T22:30"}, {"transferred": "2026-07-09T12:00"}],
     ["icu: the stay from 2026-07-09T12:00", "has a return to the ward"]),
    ([{"transferred": "2026-07-07T22:30", "left": "2026-07-09T10:00"}], ["icu.0.left"]),
])
def test_a_card_with_an_impossible_icu_stay_is_refused_naming_it(stays, words):
    raw = json.loads(library.card_json(CASES["DEMO-005"].card))
    raw["icu"] = stays
    with pytest.raises(library.CardError) as e:
        library.parse_card(raw, "grade3_crs_icu.card.json")
    (problem,) = e.value.problems
    assert problem.startswith("grade3_crs_icu.card.json: ")
    assert all(w in problem for w in words), problem


def test_verify_reports_an_icu_event_without_its_stay_and_a_stay_after_the_last_assessment():
    case = CASES["DEMO-005"]
    assert library.verify(card_with(case, icu=[])) == [
        "event 'ICU admission' at 2026-07-07T22:30: no ICU stay on the card transferred then "
        "(give it in icu)",
        "event 'back to the ward' at 2026-07-09T10:00: no ICU stay on the card returned then "
        "(give it in icu)"]
    late = [{"transferred": "2026-07-07T22:30", "returned": "2026-07-09T10:00"},
            {"transferred": "2026-07-13T23:00"}]
    assert library.verify(card_with(case, icu=late)) == [
        "ICU stay from 2026-07-13T23:00: transferred after the last assessment"]


@pytest.mark.parametrize(("until", "stays"), [
    ("2026-07-07T22:00", []),                                            # before the transfer
    ("2026-07-07T22:30", [("2026-07-07T22:30", None)]),                  # at it: open
    ("2026-07-08T02:10", [("2026-07-07T22:30", None)]),                  # in the ICU: open
    ("2026-07-09T10:00", [("2026-07-07T22:30", "2026-07-09T10:00")]),    # back at the cut
    ("2026-07-10T02:00", [("2026-07-07T22:30", "2026-07-09T10:00")]),
])
def test_a_case_cut_at_a_time_has_the_icu_stays_as_they_stood_then(until, stays):
    got = library.icu_stays_until(CASES["DEMO-005"].card, datetime.fromisoformat(until))
    assert [(x.transferred.isoformat(timespec="minutes"),
             x.returned and x.returned.isoformat(timespec="minutes")) for x in got] == stays


def test_a_case_loaded_up_to_a_time_in_the_icu_is_in_the_icu_since_its_transfer(memory_store):
    until = datetime(2026, 7, 8, 2, 10)
    library.load_case(memory_store, CASES["DEMO-005"], AT, until=until)
    (stay,) = memory_store.icu_stays("DEMO-005")
    now_ = AT.replace(second=0, microsecond=0)
    assert (stay["transferred_at"], stay["returned_at"]) == (
        now_ - (until - datetime(2026, 7, 7, 22, 30)), None)
    assert memory_store.in_icu(["DEMO-005"]) == {"DEMO-005": stay["transferred_at"]}
    given = {(m["kind"], m["indication"]) for m in memory_store.administrations("DEMO-005")}
    assert given == {("antipyretic", "not_stated"), ("fluid_bolus", "not_stated"),
                     ("tocilizumab", "crs"), ("dexamethasone", "crs")}


def test_a_card_built_from_a_record_keeps_why_each_dose_was_given_and_the_icu_stays(store):
    case = CASES["DEMO-009"]
    library.load_case(store, case, AT)
    card, _ = library.card_from_record(
        store, "DEMO-009", title="Grade 4 ICANS", summary="As loaded.",
        learning_points=["ICU and the reasons come along."], disease="DLBCL")
    shift = card.icu[0].transferred - case.card.icu[0].transferred
    assert shift % timedelta(days=1) == timedelta(0)
    assert [(x.transferred - shift, x.returned - shift) for x in card.icu] == [
        (x.transferred, x.returned) for x in case.card.icu]
    assert [(m.kind, m.time - shift, m.indication) for m in card.medications] == [
        (m.kind, m.time, m.indication) for m in case.card.medications]
