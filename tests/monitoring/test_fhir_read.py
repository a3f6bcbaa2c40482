"""Reading FHIR R4 resources (monitoring/fhir/read.py, docs/fhir.md): each LOINC code and
unit to its canonical field, the grouping rule (decision F1), and every kind of resource this
monitor cannot read named precisely. No database here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitoring.fhir import FhirError, group_rows, read_all, read_paths
from monitoring.fhir.read import ObservationResource

from .fhir_helpers import bp, bundle, coded, ndjson, neuro, patient, vital


def read_one(tmp_path: Path, resource: dict) -> dict:
    _, obs = read_paths([ndjson(tmp_path / "x.ndjson", patient(), resource)])
    assert len(obs) == 1
    return obs[0].values


def refused(tmp_path: Path, *resources: dict) -> str:
    with pytest.raises(FhirError) as e:
        read_paths([ndjson(tmp_path / "x.ndjson", *resources)])
    return "\n".join(e.value.lines)


@pytest.mark.parametrize(("code", "value", "unit", "field", "expected"), [
    ("8310-5", 38.0, "Cel", "temp_c", 38.0),
    ("8310-5", 100.4, "[degF]", "temp_c", 38.0),     # the fever threshold, exactly
    ("8310-5", 100.3, "[degF]", "temp_c", 37.9),     # just below it
    ("8310-5", 100.5, "[degF]", "temp_c", 38.1),
    ("8310-5", 98.6, "[degF]", "temp_c", 37.0),
    ("8867-4", 112, "/min", "hr_bpm", 112),
    ("9279-1", 24, "/min", "rr_per_min", 24),
    ("59408-5", 93, "%", "spo2_pct", 93),
    ("2708-6", 91, "%", "spo2_pct", 91),
    ("3151-8", 4, "L/min", "o2_flow_l_min", 4),
    ("3150-0", 40, "%", "fio2_pct", 40),
    ("29463-7", 71.5, "kg", "weight_kg", 71.5),
])
def test_each_vital_sign_code_and_unit_reads_into_its_canonical_field(
        tmp_path: Path, code: str, value: float, unit: str, field: str, expected: float) -> None:
    assert read_one(tmp_path, vital("o1", code, value, unit)) == {field: expected}


def test_a_blood_pressure_panel_reads_its_systolic_and_diastolic_components(
        tmp_path: Path) -> None:
    assert read_one(tmp_path, bp("o1", 88, 52)) == {"sbp_mmhg": 88, "dbp_mmhg": 52}


@pytest.mark.parametrize(("code", "value", "expected"), [
    ("ice-orientation", {"valueInteger": 3}, {"ice_orientation": 3}),
    ("ice-naming", {"valueInteger": 2}, {"ice_naming": 2}),
    ("ice-commands", {"valueInteger": 1}, {"ice_commands": 1}),
    ("ice-writing", {"valueInteger": 0}, {"ice_writing": 0}),
    ("ice-attention", {"valueInteger": 1}, {"ice_attention": 1}),
    ("capd-total", {"valueInteger": 12}, {"capd_total": 12}),
    ("consciousness", coded("awakens_to_voice"), {"consciousness": "awakens_to_voice"}),
    ("o2-device", coded("nasal_cannula"), {"o2_device": "nasal_cannula"}),
])
def test_each_neuro_and_device_code_of_our_system_reads_into_its_field(
        tmp_path: Path, code: str, value: dict, expected: dict) -> None:
    assert read_one(tmp_path, neuro("o1", code, **value)) == expected


def test_a_patient_gives_its_record_number_name_birth_date_and_sex(tmp_path: Path) -> None:
    mrn = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                "code": "MR"}]}, "value": "MRN-77"}
    p = patient(identifier=[{"value": "OTHER-1"}, mrn])
    (got,), _ = read_paths([ndjson(tmp_path / "p.ndjson", p)])
    assert (got.patient_id, got.name, str(got.birth_date), got.sex) == \
        ("MRN-77", "Pat Test", "1970-06-15", "female")


def test_the_source_system_is_meta_source_else_the_base_of_the_full_url(tmp_path: Path) -> None:
    _, (o1,) = read_paths([bundle(tmp_path / "b.json", patient(),
                                  vital("o1", "8867-4", 80, "/min"), base="https://ehr.one/fhir")])
    assert o1.source == "https://ehr.one/fhir"
    _, (o2,) = read_paths([ndjson(tmp_path / "n.ndjson", patient(), vital(
        "o1", "8867-4", 80, "/min", meta={"source": "https://lab.two"}))])
    assert o2.source == "https://lab.two"


@pytest.mark.parametrize(("resource", "words"), [
    (vital("o1", "8310-5", 310, "K"),
     "Observation/o1, valueQuantity.code 'K': the unit must be UCUM Cel or [degF]"),
    (vital("o1", "8867-4", 80, "/min", status="preliminary"),
     "Observation/o1, status 'preliminary': allowed: final, amended, corrected"),
    ({**vital("o1", "8867-4", 80, "/min"), "effectiveDateTime": "2026-03-01"},
     "Observation/o1, effectiveDateTime '2026-03-01': needs a date and time with its offset"),
    ({**vital("o1", "8867-4", 80, "/min"), "subject": {"reference": "Group/g1"}},
     "Observation/o1, subject.reference 'Group/g1': must refer to a Patient"),
    (vital("o1", "8302-2", 170, "cm"),
     "Observation/o1, code 'http://loinc.org|8302-2': not a vital sign, neuro item or lab"),
    (neuro("o1", "consciousness", **coded("drowsy")),
     "Observation/o1, valueCodeableConcept 'drowsy': allowed: alert"),
    ({**vital("o1", "8867-4", 80, "/min"), "valueQuantity": {"value": "fast"}},
     "Observation/o1, valueQuantity.value 'fast': not valid FHIR R4"),
    ({"resourceType": "MedicationRequest", "id": "m1"},
     "MedicationRequest/m1, resourceType 'MedicationRequest': this monitor imports Patient, "
     "Observation (vital signs, neuro items, labs) and MedicationAdministration resources "
     "only"),
    ({"resourceType": "MedicationAdministration", "id": "m1"},
     "MedicationAdministration/m1, effectiveDateTime '': a MedicationAdministration needs the "
     "time it was given"),
    (patient("p9", birthDate="1970-13-45"),
     "Patient/p9, birthDate '1970-13-45': not valid FHIR R4"),
    ({**patient("p9"), "identifier": []}, "Patient/p9, identifier '': a Patient needs an "
     "identifier"),
    ({k: v for k, v in vital("o1", "8867-4", 80, "/min").items() if k != "id"},
     "Observation, id '': every resource needs an id"),
])
def test_a_resource_this_monitor_cannot_read_is_named_with_element_value_and_why(
        tmp_path: Path, resource: dict, words: str) -> None:
    message = refused(tmp_path, patient(), resource)
    assert f"x.ndjson line 2: {words}" in message, message


def test_a_bad_json_line_and_a_bundle_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    (tmp_path / "x.ndjson").write_text('{"resourceType": "Patient",\n', encoding="utf-8")
    with pytest.raises(FhirError) as e:
        read_paths([tmp_path / "x.ndjson"])
    assert "x.ndjson line 1: ?, JSON" in e.value.lines[0]
    with pytest.raises(FhirError) as e:
        read_paths([bundle(tmp_path / "b.json", patient(), kind="history")])
    assert "Bundle/?, type 'history': allowed: collection, transaction, searchset" in \
        e.value.lines[0]


def test_the_check_of_a_large_file_reports_its_progress_every_500_resources(
        tmp_path: Path) -> None:
    obs = [vital(f"h{i}", "8867-4", 80, "/min", at=f"2026-03-01T{i // 60 % 24:02d}:"
                 f"{i % 60:02d}:00+00:00") for i in range(1100)]
    f = ndjson(tmp_path / "o.ndjson", patient(), *obs)
    seen: list[tuple[int, int]] = []
    found = read_all([f], lambda done, total: seen.append((done, total)))
    assert len(found.observations) == 1100
    assert seen == [(500, 1101), (1000, 1101), (1101, 1101)]


def test_json_nested_too_deeply_is_named_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep.ndjson").write_text('{"a":' * 50_000 + "1" + "}" * 50_000 + "\n")
    with pytest.raises(FhirError) as e:
        read_paths([tmp_path / "deep.json", tmp_path / "deep.ndjson"])
    text = str(e.value)
    assert "deep.json: ?, JSON '': the JSON is nested too deeply" in text
    assert "deep.ndjson line 1: ?, JSON" in text and text.count("nested too deeply") == 2


def test_nan_a_line_that_is_not_an_object_and_a_missing_code_are_named(tmp_path: Path) -> None:
    f = tmp_path / "x.ndjson"
    no_code = {**vital("o9", "8867-4", 80, "/min"), "code": None}
    f.write_text('{"resourceType": "Observation", "valueQuantity": {"value": NaN}}\n[1, 2]\n'
                 + json.dumps(patient()) + "\n" + json.dumps(no_code) + "\n", encoding="utf-8")
    with pytest.raises(FhirError) as e:
        read_paths([f])
    first, second, third = e.value.lines
    assert first.startswith(f"{f} line 1: ?, JSON") and first.endswith("NaN is not a JSON number")
    assert second == f"{f} line 2: ?, JSON '[1, 2]': each line must hold one FHIR resource " \
        "(an object)"
    assert third == f"{f} line 4: Observation/o9, code '': an Observation needs a code " \
        "(FHIR R4: 1..1)"


def test_the_same_resource_twice_in_one_import_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, patient(), vital("o1", "8867-4", 80, "/min"),
                      vital("o1", "8867-4", 81, "/min"))
    assert "line 3: Observation/o1, id 'o1': the same resource is also at" in message


# ------------------------------------------------------------------------------ grouping (F1)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def obs(rid: str, seconds: int, field: str = "hr_bpm", subject: str = "p1"
        ) -> ObservationResource:
    return ObservationResource(rid, "s", "final", subject, T0 + timedelta(seconds=seconds),
                               {field: 1})


def rows(*observations: ObservationResource) -> list[list[str]]:
    return [[o.resource_id for o in g] for g in group_rows(list(observations))]


def test_observations_within_5_minutes_of_the_first_form_one_row_and_5_min_1_s_does_not(
) -> None:
    assert rows(obs("a", 0), obs("b", 300, "temp_c")) == [["a", "b"]]
    assert rows(obs("a", 0), obs("b", 301, "temp_c")) == [["a"], ["b"]]


def test_the_window_counts_from_the_first_observation_of_the_row_not_the_last() -> None:
    assert rows(obs("a", 0), obs("b", 180, "temp_c"), obs("c", 360, "rr_per_min")) == \
        [["a", "b"], ["c"]]


def test_a_second_value_of_the_same_item_starts_a_new_row_even_within_the_window() -> None:
    assert rows(obs("a", 0), obs("b", 60)) == [["a"], ["b"]]


def test_observations_of_two_patients_never_share_a_row() -> None:
    assert rows(obs("a", 0), obs("b", 0, "temp_c", subject="p2")) == [["a"], ["b"]]
