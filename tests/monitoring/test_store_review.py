"""Physician grade confirmations, flags and acknowledgements, discharge, and death ordering."""

from __future__ import annotations

import pytest

from monitoring.store import StoreError, WardStore
from tests.monitoring.test_store import admit, count, record, when


def test_a_physician_confirms_a_grade_with_an_audited_record(store: WardStore) -> None:
    admit(store)
    row = record(store, 0, temp_c=38.4)
    confirmation = store.confirm_grade(row, "crs", 1, by="drx", note="agree: fever only")
    [c] = store.confirmations("P1")
    assert (c["id"], c["assessment_id"], c["syndrome"], c["grade"], c["recorded_by"]) == (
        confirmation, row, "crs", 1, "drx")
    assert c["recorded_at"].tzinfo is not None
    assert [(e["action"], e["entity"]) for e in store.audit("P1")][-1] == ("confirm", "grade")


@pytest.mark.parametrize(("syndrome", "grade", "by"), [
    ("crs", 1, "nina"),        # a nurse may not confirm
    ("crs", 6, "drx"),         # grades are 0-5
    ("sepsis", 1, "drx"),      # only CRS or ICANS
])
def test_grade_confirmation_is_refused_outside_its_rules(store: WardStore, syndrome: str,
                                                          grade: int, by: str) -> None:
    admit(store)
    row = record(store, 0, temp_c=38.4)
    with pytest.raises(StoreError):
        store.confirm_grade(row, syndrome, grade, by=by)
    assert store.confirmations("P1") == []


def test_a_flag_stays_open_until_acknowledged_with_the_action_taken(store: WardStore) -> None:
    admit(store)
    flag = store.raise_flag("P1", "fever", "urgent", "new fever 38.4 °C", when(0))
    assert [f["id"] for f in store.open_flags("P1")] == [flag]
    store.acknowledge_flag(flag, "cultures taken, physician informed", by="nina")
    assert store.open_flags("P1") == []
    assert [e["action"] for e in store.audit("P1")][-2:] == ["raise", "acknowledge"]


def test_dismissing_a_flag_needs_a_reason(store: WardStore) -> None:
    admit(store)
    flag = store.raise_flag("P1", "fever", "urgent", "new fever", when(0))
    with pytest.raises(StoreError, match="reason"):
        store.acknowledge_flag(flag, "dismissed", by="nina", dismiss=True)
    store.acknowledge_flag(flag, "dismissed", by="nina", dismiss=True,
                           reason="measurement error: repeated 37.1")
    assert store.open_flags("P1") == []
    assert store.audit("P1")[-1]["action"] == "dismiss"


def test_an_educator_cannot_acknowledge_a_flag(store: WardStore) -> None:
    admit(store)
    flag = store.raise_flag("P1", "fever", "urgent", "new fever", when(0))
    with pytest.raises(StoreError, match="educator"):
        store.acknowledge_flag(flag, "seen", by="eddie")
    assert [f["id"] for f in store.open_flags("P1")] == [flag]


def test_discharge_is_recorded_and_audited_with_before_and_after(store: WardStore) -> None:
    admit(store)
    store.discharge("P1", by="drx", at=when(48))
    assert store.patient("P1")["discharged_at"] == when(48)
    assert store.patients(admitted_only=True) == []
    entry = store.audit("P1")[-1]
    assert entry["action"] == "discharge" and '"discharged_at": null' in entry["before"]


def test_no_assessment_may_follow_a_recorded_death(store: WardStore) -> None:
    admit(store)
    record(store, 0, temp_c=38.4)
    record(store, 1, died_of="crs")
    before = count(store, "assessments")
    with pytest.raises(StoreError, match="death"):
        record(store, 2, temp_c=37.0)
    assert count(store, "assessments") == before


def test_a_death_must_be_the_last_assessment(store: WardStore) -> None:
    admit(store)
    record(store, 0, temp_c=38.4)
    record(store, 2, temp_c=38.0)
    with pytest.raises(StoreError, match="must be the last"):
        record(store, 1, died_of="other")
