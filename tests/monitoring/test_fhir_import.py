"""FHIR R4 import into the ward record (services.import_fhir, docs/fhir.md) on every backend:
the same validator as the form and CSV import, all or nothing, idempotent by source system and
resource id, later amended / entered-in-error versions as amendments with a reason (F2), the
provenance in its table and the audit trail, and the command line."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitoring import cli, services, tables, ward
from monitoring.fhir import FhirError, load
from monitoring.record import ConcurrentChangeError
from monitoring.store import StoreError, WardStore
from tests.fuzz_files import run_in_process

from .fhir_helpers import bp, bundle, coded, ndjson, neuro, patient, vital

REPO = Path(__file__).resolve().parents[2]
AT = "2026-03-01T08:00:00+00:00"
LATER = "2026-03-01T12:00:00+00:00"


def count(store: WardStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def current(store: WardStore, pid: str = "MRN-1") -> list:
    return [h for h in store.history(pid) if h.status == "final"]


def test_a_bundle_becomes_a_patient_and_one_assessment_row_per_time(
        store: WardStore, tmp_path: Path) -> None:
    f = bundle(tmp_path / "b.json", patient(), vital("t", "8310-5", 101.3, "[degF]"),
               vital("h", "8867-4", 118, "/min", at="2026-03-01T08:03:00+00:00"), bp("bp", 86, 50),
               vital("t2", "8310-5", 37.1, "Cel", at=LATER))
    done = services.import_fhir(store, [f], "nina")
    assert (done.added, done.unchanged) == (2, 0)
    p = store.patient("MRN-1")
    assert (p["name"], str(p["date_of_birth"]), p["sex"]) == ("Pat Test", "1970-06-15", "female")
    first, second = current(store)
    assert {k: first.values[k] for k in ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg",
                                         "age_years")} == \
        {"temp_c": 38.5, "hr_bpm": 118, "sbp_mmhg": 86, "dbp_mmhg": 50, "age_years": 55}
    assert second.values["temp_c"] == 37.1
    # graded like any other row: fever with hypotension is CRS grade 2 (ASTCT 2019)
    assert next(iter(ward.grades_now(store, "MRN-1").values()))[0] == 2


def test_importing_the_same_resources_again_adds_nothing(store: WardStore, tmp_path: Path
                                                         ) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"))
    services.import_fhir(store, [f], "nina")
    rows, audit = count(store, tables.assessments), count(store, tables.audit_log)
    done = services.import_fhir(store, [f], "nina")
    assert (done.added, done.unchanged) == (0, 2)
    assert (count(store, tables.assessments), count(store, tables.audit_log)) == (rows, audit)


def test_the_provenance_is_kept_with_the_row_and_in_the_audit_trail(store: WardStore,
                                                                     tmp_path: Path) -> None:
    f = bundle(tmp_path / "b.json", patient(), vital("h", "8867-4", 90, "/min"))
    services.import_fhir(store, [f], "nina")
    (row,) = current(store)
    with store.engine.connect() as conn:
        prov = conn.execute(sa.select(tables.fhir_provenance).where(
            tables.fhir_provenance.c.resource_type == "Observation")).one()
    assert (prov.source_system, prov.resource_id, prov.version, prov.assessment_id,
            prov.imported_by) == ("https://ehr.example/fhir", "h", 1, row.id, "nina")
    entries = [json.loads(a["after"]) for a in store.audit("MRN-1")
               if a["action"] == "fhir_import"]
    assert {(e["resource_type"], e["resource_id"], e["source_system"]) for e in entries} == {
        ("Patient", "p1", "https://ehr.example/fhir"),
        ("Observation", "h", "https://ehr.example/fhir")}


def test_a_patient_the_import_admits_is_audited_as_an_import_naming_system_and_resource(
        store: WardStore, tmp_path: Path) -> None:
    """Decision F10, for the admission too: the audit trail says the patient came from the
    hospital record, not that a user typed the admission."""
    f = bundle(tmp_path / "b.json", patient(), vital("h", "8867-4", 90, "/min"))
    services.import_fhir(store, [f], "nina")
    first = store.audit("MRN-1")[0]
    assert (first["action"], first["entity"], first["username"]) == ("import", "patient", "nina")
    after = json.loads(first["after"])
    assert after["imported_from"] == {"via": "FHIR", "source_system": "https://ehr.example/fhir",
                                      "resource": "Patient/p1"}
    assert (after["patient_id"], after["name"]) == ("MRN-1", "Pat Test")
    assert "admit" not in [a["action"] for a in store.audit("MRN-1")]


def test_one_value_the_record_refuses_imports_nothing_and_names_the_resource(
        store: WardStore, tmp_path: Path) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("ok", "8867-4", 90, "/min"),
               vital("bad", "8867-4", 400, "/min", at=LATER))
    with pytest.raises(FhirError) as e:
        services.import_fhir(store, [f], "nina")
    assert "a.ndjson line 3: Observation/bad, value (Heart rate) '400'" in e.value.lines[0]
    assert "0 to 300" in e.value.lines[0]
    assert (count(store, tables.patients), count(store, tables.assessments),
            count(store, tables.fhir_provenance)) == (0, 0, 0)


def test_an_unreadable_resource_anywhere_imports_nothing_from_any_file(
        store: WardStore, tmp_path: Path) -> None:
    good = ndjson(tmp_path / "a.ndjson", patient(), vital("ok", "8867-4", 90, "/min"))
    bad = ndjson(tmp_path / "b.ndjson", vital("x", "8310-5", 37, "K", at=LATER))
    with pytest.raises(FhirError):
        services.import_fhir(store, [good, bad], "nina")
    assert count(store, tables.assessments) == 0


def test_an_observation_of_an_unknown_patient_is_refused(store: WardStore, tmp_path: Path
                                                         ) -> None:
    f = ndjson(tmp_path / "a.ndjson", vital("o", "8867-4", 90, "/min", subject="nobody"))
    with pytest.raises(FhirError, match=re.escape(
            "Observation/o, subject.reference 'Patient/nobody': no such Patient")):
        services.import_fhir(store, [f], "nina")


def test_a_later_import_may_refer_to_a_patient_imported_before(store: WardStore,
                                                              tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "p.ndjson", patient())], "nina")
    services.import_fhir(store, [ndjson(tmp_path / "o.ndjson", vital("o", "8867-4", 90, "/min"))],
                         "nina")
    assert current(store)[0].values["hr_bpm"] == 90


def test_patient_details_that_differ_from_the_ward_record_are_kept_and_said(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient())], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(
        birthDate="1971-06-15"), vital("h", "8867-4", 90, "/min"))], "nina")
    assert str(store.patient("MRN-1")["date_of_birth"]) == "1970-06-15"
    assert done.notices == [
        "patient MRN-1: the date of birth in the source (Patient/p1) differs from the ward "
        "record, which is kept; a physician corrects the admission details with a reason if "
        "the source is right"]
    assert current(store)[0].values["age_years"] == 55  # from the ward record's date of birth


def test_an_amended_value_amends_the_stored_row_with_a_reason(store: WardStore, tmp_path: Path
                                                              ) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 38.4, "Cel"),
                                        vital("h", "8867-4", 90, "/min"))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), vital(
        "t", "8310-5", 37.4, "Cel", status="amended"))], "nina")
    assert (done.amended, done.added) == (1, 0)
    (row,) = current(store)
    assert (row.values["temp_c"], row.values["hr_bpm"]) == (37.4, 90)
    assert "amended in the source record" in row.reason and "Observation/t" in row.reason
    assert any(h.status == "amended" and h.values["temp_c"] == 38.4
               for h in store.history("MRN-1"))  # the original stays


def test_an_amended_value_later_in_its_row_amends_that_row_and_a_moved_one_is_refused(
        store: WardStore, tmp_path: Path) -> None:
    three = "2026-03-01T08:03:00+00:00"
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 38.4, "Cel"),
                                        vital("h", "8867-4", 90, "/min", at=three))], "nina")
    services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), vital(
        "h", "8867-4", 96, "/min", at=three, status="corrected"))], "nina")
    (row,) = current(store)
    assert (row.values["temp_c"], row.values["hr_bpm"]) == (38.4, 96)
    with pytest.raises(FhirError, match="moves an observation to another time"):
        services.import_fhir(store, [ndjson(tmp_path / "c.ndjson", patient(), vital(
            "h", "8867-4", 97, "/min", at=LATER, status="amended"))], "nina")
    assert current(store)[0].values["hr_bpm"] == 96


def test_amended_to_the_same_value_changes_nothing_in_the_row(store: WardStore,
                                                             tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 38.4, "Cel"))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), vital(
        "t", "8310-5", 38.4, "Cel", status="amended"))], "nina")
    assert (done.amended, done.unchanged) == (0, 2)
    assert len(store.history("MRN-1")) == 1


def test_a_changed_value_without_amended_status_is_refused_not_overwritten(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 38.4, "Cel"))], "nina")
    with pytest.raises(FhirError, match=re.escape(
            "Observation/t, status 'final': imported before with other values")):
        services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(),
                                            vital("t", "8310-5", 36.9, "Cel"))], "nina")
    assert current(store)[0].values["temp_c"] == 38.4


def test_entered_in_error_withdraws_its_value_and_keeps_the_rest_of_the_row(
        store: WardStore, tmp_path: Path) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(), bp("bp", 80, 45),
                                        vital("h", "8867-4", 90, "/min"))], "nina")
    done = services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), bp(
        "bp", 80, 45, status="entered-in-error"))], "nina")
    assert done.marked == 1
    (row,) = current(store)
    assert (row.values["sbp_mmhg"], row.values["dbp_mmhg"], row.values["hr_bpm"]) == \
        (None, None, 90)
    assert row.reason.startswith("entered in error in the source record")


def test_entered_in_error_of_a_rows_only_value_marks_the_row(store: WardStore, tmp_path: Path
                                                             ) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 39.0, "Cel"))], "nina")
    services.import_fhir(store, [ndjson(tmp_path / "b.ndjson", patient(), vital(
        "t", "8310-5", 39.0, "Cel", status="entered-in-error"))], "nina")
    assert current(store) == []
    assert any(h.status == "entered_in_error" for h in store.history("MRN-1"))


def test_an_entered_in_error_resource_never_imported_is_not_charted(store: WardStore,
                                                                    tmp_path: Path) -> None:
    done = services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(), vital(
        "t", "8310-5", 39.0, "Cel", status="entered-in-error"))], "nina")
    assert (done.not_charted, done.added, count(store, tables.assessments)) == (1, 0, 0)


def test_two_imports_of_one_resource_at_once_cannot_both_land(
        store: WardStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unique key on (source, type, id, version) decides, not the read before the write:
    an import that read before the other committed is refused whole."""
    f = ndjson(tmp_path / "a.ndjson", patient(birthDate="1971-01-01"))
    services.import_fhir(store, [ndjson(tmp_path / "p.ndjson", patient())], "nina")
    audit = count(store, tables.audit_log)
    monkeypatch.setattr(load, "_latest", lambda conn, batch: {})  # as if read before it landed
    with pytest.raises(ConcurrentChangeError, match="nothing was imported"):
        services.import_fhir(store, [f], "nina")
    assert (count(store, tables.fhir_provenance), count(store, tables.audit_log)) == (1, audit)


def test_an_educator_may_not_import_for_real_patients(store: WardStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                            vital("h", "8867-4", 90, "/min"))], "eddie")
    assert count(store, tables.patients) == 0


def test_an_import_resyncs_the_flags_in_the_same_transaction(store: WardStore, tmp_path: Path
                                                             ) -> None:
    services.import_fhir(store, [ndjson(tmp_path / "a.ndjson", patient(),
                                        vital("t", "8310-5", 39.2, "Cel"),
                                        neuro("c", "consciousness", **coded("unarousable")))],
                         "nina")
    assert store.open_flags("MRN-1"), "a grade 4 ICANS finding must raise a flag"


# ------------------------------------------------------------------------------ sample data
SAMPLE = REPO / "sample_data" / "fhir"


def test_the_sample_data_imports_and_grades_as_its_readme_says(store: WardStore) -> None:
    done = services.import_fhir(store, [SAMPLE], "nina")
    assert done.added == 8
    crs1 = [g[0] for g in ward.grades_now(store, "FHIR-DEMO-1").values()]
    crs2, icans2 = zip(*ward.grades_now(store, "FHIR-DEMO-2").values())
    assert crs1 == [0, 1, 2, 0]
    assert (list(crs2), list(icans2)) == ([0, 2, 2, 0], [0, 0, 2, 0])
    assert [h.values["temp_c"] for h in current(store, "FHIR-DEMO-1")] == [37.0, 38.0, 39.0, 37.2]
    assert "not_recorded" in {f["code"] for f in store.open_flags("FHIR-DEMO-1")}  # no device
    assert [(m["kind"], m["dose"], m["unit"], m["route"])
            for p in ("FHIR-DEMO-1", "FHIR-DEMO-2") for m in store.administrations(p)] == [
        ("paracetamol", 1.0, "g", "PO"), ("tocilizumab", 660.0, "mg", "IV")]
    assert sorted((x["test"], x["entered_value"], x["entered_unit"])
                  for p in ("FHIR-DEMO-1", "FHIR-DEMO-2") for x in store.labs(p)) == [
        ("crp", 45.0, "mg/L"), ("crp", 152.0, "mg/L"), ("ferritin", 850.0, "ug/L"),
        ("ferritin", 2400.0, "ug/L"), ("il6", 850.0, "pg/mL")]
    again = services.import_fhir(store, [SAMPLE], "nina")
    assert (again.added, again.medications, again.labs) == (0, 0, 0)


# ------------------------------------------------------------------------------ command line
@pytest.fixture
def cli_ward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ward.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert run_in_process(cli.main, "init")[0] == 0
    assert run_in_process(cli.main, "user", "add", "n1", "--role", "nurse")[0] == 0
    return path


def test_the_command_imports_a_file_and_says_what_it_did(cli_ward: Path, tmp_path: Path) -> None:
    f = ndjson(tmp_path / "a.ndjson", patient(), vital("h", "8867-4", 90, "/min"))
    code, out, err = run_in_process(cli.main, "fhir", "import", str(f), "--user", "n1")
    assert (code, "Traceback" in err) == (0, False)
    assert out.startswith("FHIR import: 1 assessments added")
    code, out, _ = run_in_process(cli.main, "fhir", "import", str(f), "--user", "n1")
    assert "0 assessments added" in out and "2 resources already imported unchanged" in out


@pytest.mark.parametrize("make", [
    lambda d: ndjson(d / "a.ndjson", patient(), vital("h", "8867-4", 90, "/kg")),
    lambda d: d / "missing.ndjson",
    lambda d: (d / "empty").mkdir() or d / "empty",
    lambda d: (d / "x.json").write_text("[1]") and d / "x.json",
])
def test_a_bad_file_exits_with_status_2_naming_the_problem_without_a_traceback(
        cli_ward: Path, tmp_path: Path, make) -> None:
    code, out, err = run_in_process(cli.main, "fhir", "import", str(make(tmp_path)),
                                    "--user", "n1")
    assert (code, out) == (2, "")
    assert err.strip() and "Traceback" not in err, err


# ------------------------------------------------------------------------------ damaged input
ODD = [None, [], {}, "", "x" * 300, -1, 0, 10**30, 1.5, True, "2026-13-45T99:99",
       {"reference": "Patient/p1"}, [{"system": "http://loinc.org"}]]


def _mutated(rng: random.Random, resource: dict) -> dict:
    """The resource with one value somewhere inside replaced by an odd one."""
    out = json.loads(json.dumps(resource))
    node = out
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = rng.choice(keys)
        child = node[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.6:
            node = child
            continue
        node[key] = rng.choice(ODD)
        return out


def test_sixty_damaged_resources_are_refused_by_name_or_imported_and_never_crash(
        store: WardStore, tmp_path: Path) -> None:
    rng = random.Random(19)
    good = [patient(), vital("t", "8310-5", 100.4, "[degF]"), bp("bp", 120, 80),
            neuro("c", "consciousness", **coded("alert"))]
    assert services.import_fhir(store, [ndjson(tmp_path / "good.ndjson", *good)],
                                "nina").added == 1  # undamaged, they import
    for i in range(60):
        damaged = list(good)
        k = rng.randrange(len(damaged))
        damaged[k] = _mutated(rng, damaged[k])
        f = ndjson(tmp_path / f"d{i}.ndjson", *damaged) if i % 2 else \
            bundle(tmp_path / f"d{i}.json", *damaged)
        before = count(store, tables.assessments)
        try:
            services.import_fhir(store, [f], "nina")
        except (FhirError, StoreError) as e:
            assert str(e).strip(), i
            assert count(store, tables.assessments) == before, (i, "nothing written")
