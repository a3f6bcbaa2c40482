"""The ward record keeps the inputs of the other scales (issue 8): migration 0006, save and
read back, validation on save, export/import round trip, lymphodepletion start, the admission
weight for doses charted per kg. SQLite always, PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

import grading
from grading.fields import SCALE_INPUT_FIELDS
from grading.parse import InputError
from monitoring.db import MIGRATIONS
from monitoring.store import StoreError, WardStore
from tests.monitoring.revisions import upgrade_to
from tests.monitoring.test_store import INFUSION, admit, at, record

SCALE_VALUES = {
    "weight_kg": 82.5, "vasopressors": "norepinephrine;dopamine",
    "norepinephrine_ug_kg_min": 0.12, "dopamine_ug_kg_min": 5.0,
    "transaminitis_ctcae_grade": 2, "creatinine_ctcae_grade": 1, "other_organ_ctcae_grade": 0,
    "iv_therapy_given": True, "coagulopathy_products_given": False,
    "ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
    "ice_attention": 1, "cartox_head_of_state": 0,
    "seizure": "resolved_rapidly", "seizure_type": "focal",
    "raised_icp_signs": "papilledema", "papilledema_frisen_stage": 2,
    "csf_opening_pressure_mmhg": 18.5,
}
# the dose columns not on the first row (one dose column per agent and row)
MORE_DOSES = (
    {"vasopressors": "norepinephrine;epinephrine;phenylephrine", "norepinephrine_ug_min": 9.5,
     "epinephrine_ug_kg_min": 0.05, "phenylephrine_ug_min": 150},
    {"epinephrine_ug_min": 4.25, "phenylephrine_ug_kg_min": 1.5},
)


def test_every_scale_input_is_saved_and_read_back_unchanged(store):
    admit(store)
    written = [{"temp_c": 38.2, "o2_device": "room_air", **SCALE_VALUES}, *MORE_DOSES]
    for hours, values in enumerate(written):
        record(store, hours, **values)
    rows = store.timeline_rows("P1")
    for row, values in zip(rows, written, strict=True):
        for name, value in values.items():
            assert row[name] == value, name
    assert set(SCALE_INPUT_FIELDS) <= {k for values in written for k in values}


def test_a_dose_for_an_agent_not_running_is_refused_naming_both_fields(store):
    admit(store)
    record(store, 0, vasopressors="norepinephrine", norepinephrine_ug_min=8)
    with pytest.raises(InputError) as e:
        record(store, 1, vasopressors="vasopressin", norepinephrine_ug_min=8)
    (line,) = e.value.lines
    assert "norepinephrine_ug_min" in line and "vasopressors" in line and "vasopressin" in line
    assert len(store.timeline_rows("P1")) == 1


def test_a_dose_may_rely_on_the_agent_running_since_an_earlier_row(store):
    admit(store)
    record(store, 0, vasopressors="norepinephrine")
    record(store, 1, norepinephrine_ug_min=12)
    assert [r.get("norepinephrine_ug_min") for r in store.timeline_rows("P1")] == [None, 12]


def test_the_scales_read_the_record_with_the_admission_weight(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION, "weight_kg": 80}, by="drx")
    record(store, 0, temp_c=38.5, sbp_mmhg=85, dbp_mmhg=50, o2_device="room_air",
           vasopressors="norepinephrine", norepinephrine_ug_kg_min=0.3,
           transaminitis_ctcae_grade=0)
    record(store, 3, temp_c=38.5, sbp_mmhg=86, dbp_mmhg=50)
    a, _ = store.timelines(["P1"])
    weight = {"P1": store.patient("P1")["weight_kg"]}
    graded = grading.grade_scales(a, ["lee2014", "penn"], weights=weight)
    # 0.3 µg/kg/min x 80 kg = 24 µg/min >= 20, held 3 h: high dose (spec §1.5)
    assert [g["lee2014"].grade for g in graded] == [2, 3]
    assert graded[-1]["penn"].grade == 4
    without = grading.grade_scales(a, ["lee2014"])
    assert without[-1]["lee2014"].grade == 2 and without[-1]["lee2014"].status == "provisional"


def test_export_then_import_keeps_every_scale_input(store, make_store):
    admit(store)
    record(store, 0, temp_c=38.2, o2_device="room_air", **SCALE_VALUES)
    for hours, values in enumerate(MORE_DOSES, start=1):
        record(store, hours, **values)
    record(store, 3, csf_opening_pressure_mmhg=21, vasopressors="none")
    exported = store.export_csv()
    assert all(name in exported.splitlines()[0].split(",") for name in SCALE_INPUT_FIELDS)
    fresh = make_store()
    fresh.import_csv(exported.encode(), by="nina")
    assert fresh.export_csv() == exported
    assert fresh.timeline_rows("P1") == store.timeline_rows("P1")


def test_the_lymphodepletion_start_is_kept_and_changed_with_a_reason(store):
    start = INFUSION - timedelta(days=5)
    store.admit({"patient_id": "P1", "infusion_time": INFUSION, "lymphodepletion_at": start},
                by="drx")
    assert store.patient("P1")["lymphodepletion_at"] == start
    store.update_patient("P1", {"lymphodepletion_at": start - timedelta(days=1)},
                         "day -6 per protocol", by="drx")
    assert store.patient("P1")["lymphodepletion_at"] == start - timedelta(days=1)
    with pytest.raises(Exception, match="timezone-aware"):
        store.admit({"patient_id": "P2", "lymphodepletion_at": start.replace(tzinfo=None)},
                    by="drx")


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def test_migration_0006_adds_the_scale_inputs_to_a_database_made_before_it(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade_to(url, "0005")  # a database from before revision 0006
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        before = {c["name"] for c in sa.inspect(conn).get_columns("assessments")}
        assert "lymphodepletion_at" not in {c["name"] for c in sa.inspect(conn).get_columns(
            "patients")}
    engine.dispose()
    assert not before & set(SCALE_INPUT_FIELDS)
    store = WardStore(url)
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("assessments")}
        assert set(SCALE_INPUT_FIELDS) <= columns
        assert "lymphodepletion_at" in {c["name"] for c in sa.inspect(conn).get_columns(
            "patients")}
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            _head()
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    admit(store)
    new_id = record(store, 0, vasopressors="dopamine", dopamine_ug_kg_min=7)
    assert store.timeline_rows("P1")[0]["dopamine_ug_kg_min"] == 7
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
            store.engine.begin() as conn:  # the triggers survived the new columns
        conn.execute(sa.text("UPDATE assessments SET dopamine_ug_kg_min = 1 WHERE id = :i"),
                     {"i": new_id})
    store.engine.dispose()


def test_an_amendment_may_not_leave_a_dose_without_its_agent(store):
    admit(store)
    first = record(store, 0, vasopressors="norepinephrine")
    record(store, 1, norepinephrine_ug_min=10)
    with pytest.raises((InputError, StoreError)):
        store.amend_assessment(first, {"time": at(0), "vasopressors": "none"}, "typo", "nina")
    assert store.timeline_rows("P1")[0]["vasopressors"] == "norepinephrine"


def test_an_imported_dose_may_rely_on_the_agent_running_in_the_record(store):
    """As for a flow (W4): the form and the import accept the same row."""
    from tests.monitoring.test_store import csv_bytes
    admit(store)
    record(store, 0, vasopressors="norepinephrine", temp_c=38.4)
    rows = [{"patient_id": "P1", "time": at(1), "norepinephrine_ug_min": 6, "temp_c": 38.2}]
    store.import_csv(csv_bytes(rows), by="nina")
    assert [r.get("norepinephrine_ug_min") for r in store.timeline_rows("P1")] == [None, 6]
    bad = [{"patient_id": "P1", "time": at(2), "epinephrine_ug_min": 3}]
    with pytest.raises(InputError, match="epinephrine"):
        store.import_csv(csv_bytes(bad), by="nina")
