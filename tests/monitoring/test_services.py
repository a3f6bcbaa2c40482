"""The ward's use cases (monitoring/services.py): each write, its audit and the patient's flag
resync land in one transaction. The behaviour runs on the in-memory record; that a failed
resync rolls the write back runs on the databases (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitoring import services, ward
from monitoring.store import StoreError, WardStore

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EARLIER, LATER = NOW - timedelta(minutes=60), NOW - timedelta(minutes=30)
NORMAL = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 75, "rr_per_min": 16,
          "spo2_pct": 98}


def ward_with_two_normal_rows(store: WardStore) -> tuple[int, int]:
    """P1 admitted, two normal assessments (an hour and half an hour ago): no flag is true."""
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    first = ward.save(store, "P1", {"time": EARLIER, **NORMAL}, by="nina")
    second = ward.save(store, "P1", {"time": LATER, **NORMAL, "temp_c": 37.2}, by="nina")
    assert first.problem is None and second.problem is None
    return first.assessment_id, second.assessment_id


def stale_fever_flag(store: WardStore, assessment_id: int) -> int:
    """A fever flag the record no longer supports (as if an earlier resync had failed)."""
    return store.raise_flag("P1", "new_fever", "urgent", "fever", LATER,
                            assessment_id=assessment_id)


# Each use case that changes what the rules see, as (name, call): the call changes the record at
# or before the latest row.
USE_CASES: list[tuple[str, Callable[[WardStore, int], Any]]] = [
    ("amend", lambda s, a: services.amend(s, "P1", a, {**NORMAL, "time": LATER, "temp_c": 37.1},
                                          "transcription error", by="drx")),
    ("mark_in_error", lambda s, a: services.mark_in_error(s, "P1", a, "wrong patient",
                                                          by="drx")),
    ("attribute", lambda s, a: services.attribute(s, "P1", a, "fever", "line infection",
                                                  by="drx")),
    ("confirm_grade", lambda s, a: services.confirm_grade(s, "P1", a, "crs", 0, by="drx")),
    ("update_patient", lambda s, a: services.update_patient(s, "P1", {"weight_kg": 71.5},
                                                            "weighed again", by="drx")),
    ("discharge", lambda s, a: services.discharge(s, "P1", by="drx")),
    ("record_medication", lambda s, a: services.record_medication(
        s, "P1", "antipyretic", NOW - timedelta(minutes=45), by="drx", dose=1000)),
    ("record_lab", lambda s, a: services.record_lab(
        s, "P1", "crp", 5.0, "mg/dL", NOW - timedelta(minutes=45), by="drx")),
]


# ------------------------------------------------------------------------------ behaviour
@pytest.mark.parametrize(("name", "call"), USE_CASES, ids=[n for n, _ in USE_CASES])
def test_each_use_case_brings_the_patients_flags_in_line_in_the_same_call(memory_store, name,
                                                                          call):
    _, latest = ward_with_two_normal_rows(memory_store)
    stale = stale_fever_flag(memory_store, latest)
    call(memory_store, latest)
    assert stale not in {f["id"] for f in memory_store.open_flags("P1")}


def test_amending_a_fever_away_withdraws_its_flag_and_keeps_the_original(memory_store):
    memory_store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    ward.save(memory_store, "P1", {"time": EARLIER, **NORMAL}, by="nina")
    fever = ward.save(memory_store, "P1", {"time": LATER, **NORMAL, "temp_c": 38.9}, by="nina")
    assert "new_fever" in {f["code"] for f in memory_store.open_flags("P1")}
    new_id = services.amend(memory_store, "P1", fever.assessment_id,
                            {**NORMAL, "time": LATER, "temp_c": 37.1}, "38.9 was 37.1",
                            by="nina")
    assert "new_fever" not in {f["code"] for f in memory_store.open_flags("P1")}
    statuses = {h.id: h.status for h in memory_store.history("P1")}
    assert statuses == {fever.assessment_id - 1: "final", fever.assessment_id: "amended",
                        new_id: "final"}


def test_marking_a_fever_entered_in_error_withdraws_its_flag(memory_store):
    memory_store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    ward.save(memory_store, "P1", {"time": EARLIER, **NORMAL}, by="nina")
    fever = ward.save(memory_store, "P1", {"time": LATER, **NORMAL, "temp_c": 38.9}, by="nina")
    services.mark_in_error(memory_store, "P1", fever.assessment_id, "wrong patient", by="nina")
    assert "new_fever" not in {f["code"] for f in memory_store.open_flags("P1")}


def test_a_fever_that_appears_after_an_amendment_is_flagged_at_once(memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    services.amend(memory_store, "P1", latest, {**NORMAL, "time": LATER, "temp_c": 39.0},
                   "39.0 was charted as 37.2", by="nina")
    assert "new_fever" in {f["code"] for f in memory_store.open_flags("P1")}


def test_an_assessment_of_another_patient_is_refused_and_nothing_is_written(memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    memory_store.admit({"patient_id": "P2", "infusion_time": INFUSION}, by="drx")
    before = len(memory_store.audit())
    with pytest.raises(StoreError, match="not in the record of patient 'P2'"):
        services.mark_in_error(memory_store, "P2", latest, "wrong patient", by="drx")
    assert len(memory_store.audit()) == before
    assert all(h.status == "final" for h in memory_store.history("P1"))


def test_admitting_through_the_service_validates_the_details_and_starts_without_flags(
        memory_store):
    assert services.admit(memory_store, {"patient_id": "P7", "infusion_time": INFUSION},
                          by="drx") == "P7"
    assert memory_store.patient("P7") is not None
    assert memory_store.open_flags("P7") == []
    with pytest.raises(ValueError, match="weight_kg"):  # pydantic's ValidationError
        services.admit(memory_store, {"patient_id": "P8", "weight_kg": -1}, by="drx")
    assert memory_store.patient("P8") is None


def test_a_flag_is_acknowledged_only_through_its_own_patient(memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    memory_store.admit({"patient_id": "P2", "infusion_time": INFUSION}, by="drx")
    flag = stale_fever_flag(memory_store, latest)
    with pytest.raises(StoreError, match="not a flag of patient 'P2'"):
        services.acknowledge_flag(memory_store, "P2", flag, "seen", by="nina")
    services.acknowledge_flag(memory_store, "P1", flag, "paracetamol given", by="nina")
    assert memory_store.open_flags("P1") == []
    acked = next(f for f in memory_store.flags("P1") if f["id"] == flag)
    assert (acked["ack_action"], acked["ack_by"]) == ("paracetamol given", "nina")


def test_a_note_is_added_to_the_course(memory_store):
    ward_with_two_normal_rows(memory_store)
    services.add_note(memory_store, "P1", "family informed", by="drx")
    assert [n["text"] for n in memory_store.notes("P1")] == ["family informed"]


def test_a_user_whose_password_is_refused_is_not_created(database_store):
    with pytest.raises(StoreError):  # passwords live in the database record only
        services.add_user(database_store, "newnurse", "nurse", by=services.SYSTEM_USER,
                          password="short")
    assert database_store.user("newnurse") is None
    services.add_user(database_store, "newnurse", "nurse", by=services.SYSTEM_USER,
                      password="a long enough passphrase 42")
    assert database_store.user("newnurse")["role"] == "nurse"


# ------------------------------------------------------------------------------ one transaction
def reads(store: WardStore) -> dict[str, Any]:
    """Everything a use case could have written, as a comparable value."""
    return {"history": [(h.id, h.status) for h in store.history("P1")],
            "patient": store.patient("P1"), "P9": store.patient("P9"),
            "attributions": store.attributions("P1"), "confirmations": store.confirmations("P1"),
            "medications": store.administrations("P1"), "labs": store.labs("P1"),
            "flags": store.flags("P1"), "audit": len(store.audit())}


ADMIT = ("admit", lambda s, a: services.admit(s, {"patient_id": "P9",
                                                  "infusion_time": INFUSION}, by="drx"))


@pytest.mark.parametrize(("name", "call"), [*USE_CASES, ADMIT],
                         ids=[n for n, _ in [*USE_CASES, ADMIT]])
def test_a_failed_flag_resync_rolls_back_the_write_and_its_audit(database_store, monkeypatch,
                                                                  name, call):
    _, latest = ward_with_two_normal_rows(database_store)
    before = reads(database_store)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("resync failed")

    monkeypatch.setattr(ward, "sync_flags", fail)
    with pytest.raises(StoreError, match="nothing was saved"):  # the page says "Not saved"
        call(database_store, latest)
    assert reads(database_store) == before


def stored(store: WardStore, assessment_id: int):
    return next(h for h in store.history("P1") if h.id == assessment_id)


def charted(h) -> dict[str, Any]:
    """What the correction form starts from: the stored row's recorded values and its time."""
    return {**{k: v for k, v in h.values.items() if v is not None}, "time": h.assessed_at}


def test_a_correction_keeps_blank_support_blank_and_the_values_the_form_does_not_draw(
        memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    h = stored(memory_store, latest)
    # the form shows a blank device as room air and blank infusions as none: unchanged = blank
    draft = services.draft_amendment(
        memory_store, "P1", h, {**charted(h), "temp_c": 37.4,
                                "o2_device": "room_air", "vasopressors": "none"}, drawn=())
    assert "o2_device" not in draft.values and "vasopressors" not in draft.values
    assert draft.values["temp_c"] == 37.4 and draft.problems == [] and draft.left_out == []
    # a device chosen on the correction is kept
    draft = services.draft_amendment(
        memory_store, "P1", h, {**charted(h), "o2_device": "nasal_cannula",
                                "o2_flow_l_min": 2.0}, drawn=())
    assert (draft.values["o2_device"], draft.problems) == ("nasal_cannula", [])


def test_a_correction_leaves_out_a_dose_whose_infusion_no_longer_runs_and_says_so(memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    h = stored(memory_store, latest)
    draft = services.draft_amendment(
        memory_store, "P1", h, {**charted(h), "vasopressors": "vasopressin",
                                "norepinephrine_ug_min": 8.0}, drawn=())
    assert "norepinephrine_ug_min" not in draft.values
    (words,) = draft.left_out
    assert words.endswith("8 µg/min is left out: norepinephrine is no longer running on this "
                          "assessment.")


def test_a_correction_is_checked_with_the_rest_of_the_record_and_names_the_field(memory_store):
    _, latest = ward_with_two_normal_rows(memory_store)
    h = stored(memory_store, latest)
    # a flow without any oxygen device in force on this row or before it
    draft = services.draft_amendment(
        memory_store, "P1", h, {**charted(h), "o2_flow_l_min": 4.0},
        drawn=())
    assert draft.problems and {p.field for p in draft.problems} >= {"o2_flow_l_min"}
    assert services.draft_amendment(
        memory_store, "P1", h, {**charted(h), "o2_flow_l_min": 4.0},
        drawn=(), validate=False).problems == []
