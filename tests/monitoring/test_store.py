"""The ward record (issue 3), on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.

Nothing a nurse records may be lost, silently changed or left without a record of who did it:
migrations, append-only triggers, validation on save, amendments and entered-in-error marks, the
audit trail, the effective timeline handed to ``grading``, labs, atomic import and the
import/export round trip, the demo ward and the ``python -m monitoring`` command.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings

import grading
from grading.fields import COLUMNS
from grading.parse import InputError
from monitoring import tables as t
from monitoring.db import MIGRATIONS, database_url, migrate
from monitoring.demo import load_demo, standard_cases, standard_now
from monitoring.library import cut_timeline
from monitoring.store import PatientIn, StoreError, WardStore
from tests.grading.test_properties import timelines, write_csv

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------ helpers
def at(hours: float) -> str:
    """An assessment time ``hours`` after 08:00 UTC on 2 March 2026, with its offset."""
    return (T0 + timedelta(hours=hours)).isoformat()


def when(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def admit(store: WardStore, pid: str = "P1", infusion: datetime | None = INFUSION) -> str:
    return store.admit({"patient_id": pid, "infusion_time": infusion}, by="drx")


def record(store: WardStore, hours: float, pid: str = "P1", by: str = "nina",
           **values: object) -> int:
    return store.record_assessment(pid, {"time": at(hours), **values}, by=by)


def count(store: WardStore, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def row_of(store: WardStore, table: str, row_id: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT * FROM {table} WHERE id = :id"),
                                 {"id": row_id}).one()._mapping)


def csv_bytes(rows: Sequence[Mapping[str, object]]) -> bytes:
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def effective_times(store: WardStore, pid: str = "P1") -> list[datetime]:
    return [r["time"] for r in store.timeline_rows(pid)]


def problems_of(e: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return e.value.lines if isinstance(e.value, InputError) else [str(e.value)]


def triggers(store: WardStore) -> set[str]:
    query = ("SELECT name FROM sqlite_master WHERE type = 'trigger'"
             if store.engine.dialect.name == "sqlite"
             else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text(query)).scalars())


def schema(store: WardStore) -> tuple[object, ...]:
    insp = sa.inspect(store.engine)
    tables = sorted(insp.get_table_names())
    columns = {name: [c["name"] for c in insp.get_columns(name)] for name in tables}
    with store.engine.connect() as conn:
        versions = sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                          .scalars())
    return tables, columns, sorted(triggers(store)), versions


# ------------------------------------------------------------------------------ migrations
@pytest.fixture
def new_store(new_database_url) -> Iterator[Callable[[], WardStore]]:
    """Open ward records on a database with nothing in it yet (closed after the test)."""
    url = new_database_url(empty=True)
    opened: list[WardStore] = []

    def open_store() -> WardStore:
        opened.append(WardStore(url))
        return opened[-1]

    probe = sa.create_engine(database_url(url), poolclass=sa.NullPool)
    assert sa.inspect(probe).get_table_names() == []
    probe.dispose()
    yield open_store
    for s in opened:
        s.engine.dispose()


def test_migrations_build_every_table_on_a_new_database(new_store):
    store = new_store()
    tables, _, trigger_names, versions = schema(store)
    assert set(t.metadata.tables) | {"alembic_version"} <= set(tables)
    assert versions == [ScriptDirectory(str(MIGRATIONS)).get_current_head()]
    assert trigger_names  # the append-only triggers come with the schema


def test_reapplying_the_migrations_is_a_no_op(new_store):
    store = new_store()
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    admit(store)
    record(store, 0, temp_c=37.0)
    before = schema(store), count(store, "users"), count(store, "assessments")
    audit_before = count(store, "audit_log")

    migrate(store.engine)
    again = new_store()  # a second workstation opening the same record
    assert (schema(again), count(again, "users"), count(again, "assessments")) == before
    assert count(again, "audit_log") == audit_before
    assert [r["temp_c"] for r in again.timeline_rows("P1")] == [37.0]


def test_the_default_sqlite_file_is_created_in_wal_mode_with_foreign_keys_on(
        tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # the default lives in the repository's data/ folder; point it at the test's folder
    monkeypatch.setattr("monitoring.db.DEFAULT_URL", f"sqlite:///{tmp_path}/data/ward.db")
    store = WardStore()
    try:
        path = tmp_path / "data" / "ward.db"
        assert path.is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        store.engine.dispose()
    raw = sqlite3.connect(path)  # WAL is a property of the file itself
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_foreign_keys_are_enforced(store):
    insert = sa.text("INSERT INTO assessments (patient_id, assessed_at, recorded_at, "
                     "recorded_by, status, source) VALUES ('NOBODY', :t, :t, 'nina', 'final', "
                     "'form')")
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(insert, {"t": datetime(2026, 3, 2, 8, 0)})
    assert count(store, "assessments") == 0


# ------------------------------------------------------------------------------ triggers
CHANGES = {
    "update": "UPDATE {table} SET {column} = {value} WHERE id = :id",
    "delete": "DELETE FROM {table} WHERE id = :id",
}
TARGETS = {"assessments": ("temp_c", "41.5"), "audit_log": ("username", "'mallory'")}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("table", list(TARGETS))
def test_the_database_refuses_to_change_or_delete_clinical_rows(store, table, change):
    admit(store)
    assessment_id = record(store, 0, temp_c=38.2)
    row_id = assessment_id if table == "assessments" else store.audit("P1")[-1]["id"]
    before = row_of(store, table, row_id)
    n = count(store, table)
    column, value = TARGETS[table]
    sql = CHANGES[change].format(table=table, column=column, value=value)

    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text(sql), {"id": row_id})

    assert row_of(store, table, row_id) == before
    assert count(store, table) == n


# ------------------------------------------------------------------------------ recording
def test_a_value_beyond_a_hard_limit_is_rejected_naming_the_column(store):
    admit(store)
    with pytest.raises(InputError) as e:
        record(store, 0, temp_c=45.5, hr_bpm=80)
    assert any("temp_c" in p for p in e.value.lines), e.value.lines
    assert not any("hr_bpm" in p for p in e.value.lines)
    assert store.history("P1") == []


def test_a_value_beyond_a_soft_limit_is_accepted(store):
    admit(store)
    record(store, 0, temp_c=42.5)
    assert store.timeline_rows("P1")[0]["temp_c"] == 42.5


def test_a_flow_is_accepted_when_the_device_is_in_force_from_an_earlier_row(store):
    admit(store)
    record(store, 0, o2_device="nasal_cannula", o2_flow_l_min=2, temp_c=37.0)
    record(store, 2, o2_flow_l_min=4, temp_c=37.1)
    rows = store.timeline_rows("P1")
    assert [r.get("o2_flow_l_min") for r in rows] == [2, 4]
    assert "o2_device" not in rows[1]  # blank: unchanged since the previous row
    assert len(list(grading.grade(store.timeline("P1")).results())) == 2


def test_a_flow_after_the_device_was_taken_off_is_rejected(store):
    admit(store)
    record(store, 0, o2_device="nasal_cannula", o2_flow_l_min=2)
    record(store, 1, o2_device="room_air")
    with pytest.raises(InputError) as e:
        record(store, 2, o2_flow_l_min=4)
    assert any("o2_flow_l_min" in p for p in e.value.lines), e.value.lines


def test_a_flow_with_no_device_ever_recorded_is_rejected(store):
    admit(store)
    record(store, 0, temp_c=37.0)
    with pytest.raises(InputError) as e:
        record(store, 1, o2_flow_l_min=4)
    assert any("o2_flow_l_min" in p for p in e.value.lines), e.value.lines
    assert len(store.history("P1")) == 1


def test_a_backdated_room_air_row_may_not_strand_a_later_flow(store):
    """Whatever the store accepts, the patient's timeline must stay gradable."""
    admit(store)
    record(store, 0, o2_device="nasal_cannula", o2_flow_l_min=2, temp_c=37.0)
    record(store, 2, o2_flow_l_min=4, temp_c=37.0)
    with pytest.raises((StoreError, InputError)):
        record(store, 1, o2_device="room_air", temp_c=37.0)
    grading.grade(store.timeline("P1"))


def test_two_assessments_at_the_same_time_are_refused(store):
    admit(store)
    record(store, 0, temp_c=37.0)
    with pytest.raises(StoreError, match="already has an assessment"):
        record(store, 0, temp_c=37.2)
    same_instant = (T0 + timedelta(hours=1)).replace(tzinfo=None).isoformat() + "+01:00"
    with pytest.raises(StoreError, match="already has an assessment"):
        store.record_assessment("P1", {"time": same_instant, "temp_c": 37.4}, by="nina")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.0]


def test_nothing_can_be_recorded_after_a_death(store):
    admit(store)
    record(store, 0, temp_c=37.0)
    record(store, 1, died_of="crs")
    with pytest.raises(StoreError):
        record(store, 2, temp_c=36.0)
    assert len(store.timeline_rows("P1")) == 2


def test_an_unknown_patient_is_refused(store):
    with pytest.raises(StoreError, match="unknown patient"):
        record(store, 0, pid="NOBODY", temp_c=37.0)
    assert count(store, "assessments") == 0


@pytest.mark.parametrize("who", ["nobody", "disabled", "eddie"])
def test_only_an_active_nurse_or_physician_may_record(store, who):
    admit(store)
    if who == "disabled":
        store.add_user("disabled", "nurse")
        with store.engine.begin() as conn:  # users are not clinical rows: they can be disabled
            conn.execute(t.users.update().where(t.users.c.username == "disabled")
                         .values(active=False))
    audit_before = count(store, "audit_log")
    with pytest.raises(StoreError, match=who):
        record(store, 0, by=who, temp_c=37.0)
    assert count(store, "assessments") == 0
    assert count(store, "audit_log") == audit_before


def test_a_physician_may_record(store):
    admit(store)
    record(store, 0, by="drx", temp_c=37.0)
    assert store.history("P1")[0].recorded_by == "drx"


# ------------------------------------------------------------------------------ corrections
def test_an_amendment_keeps_the_original_in_the_history(store):
    admit(store)
    original = record(store, 0, temp_c=38.5, hr_bpm=90)
    amended = store.amend_assessment(original, {"time": at(0), "temp_c": 37.5, "hr_bpm": 90},
                                     reason="thermometer of the next bed", by="nina")
    history = {h.id: h for h in store.history("P1")}
    assert set(history) == {original, amended}
    assert history[original].status == "amended"
    assert history[original].values["temp_c"] == 38.5
    assert history[amended].status == "final"
    assert history[amended].replaces_id == original
    assert history[amended].reason == "thermometer of the next bed"
    assert history[amended].values["temp_c"] == 37.5
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.5]


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_amendment_needs_a_reason(store, reason):
    admit(store)
    original = record(store, 0, temp_c=38.5)
    with pytest.raises(StoreError, match="reason"):
        store.amend_assessment(original, {"time": at(0), "temp_c": 37.5}, reason=reason,
                               by="nina")
    with pytest.raises(StoreError, match="reason"):
        store.mark_entered_in_error(original, reason=reason, by="nina")
    assert [h.status for h in store.history("P1")] == ["final"]


def test_an_amended_row_cannot_be_amended_again(store):
    admit(store)
    original = record(store, 0, temp_c=38.5)
    amended = store.amend_assessment(original, {"time": at(0), "temp_c": 37.5}, "typo", "nina")
    with pytest.raises(StoreError, match="already corrected"):
        store.amend_assessment(original, {"time": at(0), "temp_c": 36.5}, "typo", "nina")
    with pytest.raises(StoreError):
        store.mark_entered_in_error(original, "typo", "nina")
    again = store.amend_assessment(amended, {"time": at(0), "temp_c": 36.5}, "typo", "nina")
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [36.5]
    assert [h.id for h in store.history("P1") if h.status == "final"] == [again]


def test_an_amendment_may_not_move_onto_another_assessments_time(store):
    admit(store)
    first = record(store, 0, temp_c=37.0)
    record(store, 1, temp_c=37.1)
    with pytest.raises(StoreError, match="already has an assessment"):
        store.amend_assessment(first, {"time": at(1), "temp_c": 37.0}, "wrong time", "nina")
    assert effective_times(store) == [when(0), when(1)]


def test_a_row_entered_in_error_stays_in_the_history_and_leaves_the_timeline(store):
    admit(store)
    wrong = record(store, 0, temp_c=39.4)
    kept = record(store, 1, temp_c=37.0)
    mark = store.mark_entered_in_error(wrong, "recorded on the wrong patient", by="nina")

    history = {h.id: h for h in store.history("P1")}
    assert set(history) == {wrong, kept, mark}
    assert history[wrong].values["temp_c"] == 39.4
    assert history[wrong].status == "entered_in_error"  # the original is labelled as such
    assert history[mark].status == "entered_in_error"
    assert history[mark].replaces_id == wrong
    assert history[mark].reason == "recorded on the wrong patient"
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [37.0]
    with pytest.raises(StoreError):
        store.amend_assessment(wrong, {"time": at(0), "temp_c": 37.0}, "again", "nina")
    with pytest.raises(StoreError):
        store.amend_assessment(mark, {"time": at(0), "temp_c": 37.0}, "again", "nina")
    # the time is free again for the right patient's reading
    record(store, 0, temp_c=36.9)
    assert [r["temp_c"] for r in store.timeline_rows("P1")] == [36.9, 37.0]


def test_marking_the_device_row_in_error_may_not_strand_a_later_flow(store):
    """Whatever the store accepts, the patient's timeline must stay gradable."""
    admit(store)
    device_row = record(store, 0, o2_device="nasal_cannula", o2_flow_l_min=2, temp_c=37.0)
    record(store, 2, o2_flow_l_min=4, temp_c=37.0)
    with contextlib.suppress(StoreError, InputError):  # refusing is one right answer ...
        store.mark_entered_in_error(device_row, "wrong patient", by="nina")
    # ... an ungradable timeline is not
    grading.grade(store.timeline("P1"))


def test_every_write_leaves_one_audit_entry_with_who_when_and_before_after(store):
    admit(store)
    first = record(store, 0, temp_c=38.5)
    second = store.amend_assessment(first, {"time": at(0), "temp_c": 37.5}, "typo", by="drx")
    third = record(store, 1, temp_c=37.0)
    mark = store.mark_entered_in_error(third, "wrong patient", by="nina")

    entries = [e for e in store.audit("P1") if e["entity"] == "assessment"]
    assert [(e["action"], e["username"], e["entity_id"]) for e in entries] == [
        ("record", "nina", str(first)), ("amend", "drx", str(second)),
        ("record", "nina", str(third)), ("entered_in_error", "nina", str(mark))]
    for e in entries:
        assert e["at"].tzinfo is not None and e["at"].utcoffset() == timedelta(0)
        assert abs(e["at"] - datetime.now(UTC)) < timedelta(minutes=5)
        assert json.loads(e["after"])["id"] == int(e["entity_id"])
    assert entries[0]["before"] is None and entries[2]["before"] is None
    assert json.loads(entries[1]["before"])["temp_c"] == 38.5
    assert json.loads(entries[1]["after"])["temp_c"] == 37.5
    assert json.loads(entries[1]["after"])["reason"] == "typo"
    assert json.loads(entries[3]["before"])["id"] == third
    assert json.loads(entries[3]["after"])["status"] == "entered_in_error"


def test_each_kind_of_write_adds_exactly_one_audit_entry(store):
    ids: dict[str, int] = {}
    writes = {
        "admit": lambda: admit(store),
        "record": lambda: record(store, 0, temp_c=38.5),
        "amend": lambda: store.amend_assessment(ids["record"], {"time": at(0), "temp_c": 38.6},
                                                "typo", "nina"),
        "administration": lambda: store.record_administration("P1", "tocilizumab", when(0.5),
                                                              "nina", dose=560),
        "lab": lambda: store.record_lab("P1", "crp", 120, "mg/L", when(0.5), "nina"),
        "attribute": lambda: store.attribute(ids["amend"], "fever", "line infection", "drx"),
        "entered_in_error": lambda: store.mark_entered_in_error(ids["amend"], "wrong patient",
                                                                "nina"),
    }
    for name, write in writes.items():
        n = count(store, "audit_log")
        ids[name] = write()
        assert count(store, "audit_log") == n + 1, name
    assert all(e["at"].tzinfo is not None for e in store.audit())


# ------------------------------------------------------------------------------ timeline
def test_the_timeline_holds_effective_canonical_rows_in_time_order(store):
    admit(store)
    admit(store, "P2", infusion=None)
    record(store, 4, temp_c=37.4)
    record(store, 0, temp_c=37.0, o2_device="room_air", vasopressors="none")
    first_wrong = record(store, 2, temp_c=40.0)
    store.amend_assessment(first_wrong, {"time": at(2), "temp_c": 37.2}, "typo", "nina")
    record(store, 1, pid="P2", temp_c=36.8)

    rows = store.timeline_rows()
    assert [(r["patient_id"], r["time"]) for r in rows] == [
        ("P1", when(0)), ("P1", when(2)), ("P1", when(4)), ("P2", when(1))]
    assert [r["temp_c"] for r in rows] == [37.0, 37.2, 37.4, 36.8]
    assert [r["infusion_time"] for r in rows] == [INFUSION] * 3 + [None]
    for r in rows:
        assert set(r) <= set(COLUMNS)
        assert all(v is not None for k, v in r.items() if k != "infusion_time")
    assert rows[0]["o2_device"] == "room_air" and rows[0]["vasopressors"] == "none"
    assert store.timeline_rows("P1") == rows[:3]
    assert grading.from_rows(rows).frame["temp_c"].tolist() == [37.0, 37.2, 37.4, 36.8]


def test_administrations_count_on_the_first_assessment_at_or_after_them(store):
    admit(store)
    for hours in (0, 4, 8):
        record(store, hours, temp_c=37.0)
    given = [("antipyretic", -1), ("fluid_bolus", 0),        # -> 08:00 (at/before it)
             ("tocilizumab", 2), ("dexamethasone", 4),       # -> 12:00
             ("methylprednisolone", 4 + 1 / 3600),           # -> 16:00 (after 12:00)
             ("anakinra", 6),                                # -> 16:00, not tocilizumab
             ("antipyretic", 9)]                             # after the last row: nowhere yet
    for kind, hours in given:
        store.record_administration("P1", kind, when(hours), by="nina")
    drugs = ("antipyretic_given", "tocilizumab_given", "corticosteroid_given",
             "fluid_bolus_given", "anticytokine_given")
    got = [{d for d in drugs if r.get(d)} for r in store.timeline_rows("P1")]
    assert got == [{"antipyretic_given", "fluid_bolus_given"},
                   {"tocilizumab_given", "corticosteroid_given"},
                   {"corticosteroid_given", "anticytokine_given"}]


def test_a_dose_before_a_row_entered_in_error_counts_on_the_next_effective_row(store):
    admit(store)
    record(store, 0, temp_c=38.5)
    wrong = record(store, 2, temp_c=38.6)
    record(store, 4, temp_c=38.7)
    store.record_administration("P1", "tocilizumab", when(1), by="nina", dose=560)
    store.mark_entered_in_error(wrong, "wrong patient", by="nina")
    rows = store.timeline_rows("P1")
    assert [r["time"] for r in rows] == [when(0), when(4)]
    assert [bool(r.get("tocilizumab_given")) for r in rows] == [False, True]


def test_physician_attributions_are_merged_into_attributed_elsewhere(store):
    admit(store)
    a = record(store, 0, temp_c=38.4, attributed_elsewhere="hypoxia")
    b = record(store, 1, temp_c=38.6)
    store.attribute(a, "fever", "line infection", by="drx")
    store.attribute(b, "fever", "line infection", by="drx")
    with pytest.raises(StoreError):
        store.attribute(b, "neuro", "a nurse cannot attribute", by="nina")
    rows = store.timeline_rows("P1")
    assert [r["attributed_elsewhere"] for r in rows] == ["fever;hypoxia", "fever"]
    graded = list(grading.grade(store.timeline("P1")).results())
    assert [r.crs.grade for r in graded] == [0, 0]  # the only fever is attributed elsewhere


def test_an_attribution_survives_a_nurses_amendment_of_the_row(store):
    """A physician's judgement may not vanish silently when a typo on the row is corrected."""
    admit(store)
    a = record(store, 0, temp_c=38.4, hr_bpm=90)
    store.attribute(a, "fever", "line infection", by="drx")
    store.amend_assessment(a, {"time": at(0), "temp_c": 38.4, "hr_bpm": 96}, "typo", "nina")
    assert store.timeline_rows("P1")[0].get("attributed_elsewhere") == "fever"


def test_grading_takes_the_timeline_unchanged_fever_waiver_after_tocilizumab(store):
    admit(store)
    febrile = {"temp_c": 38.6, "hr_bpm": 110, "sbp_mmhg": 118, "dbp_mmhg": 70, "spo2_pct": 96,
               "o2_device": "room_air", "vasopressors": "none"}
    hypoxic = {"temp_c": 37.1, "hr_bpm": 100, "sbp_mmhg": 116, "dbp_mmhg": 68, "spo2_pct": 93,
               "o2_device": "nasal_cannula", "o2_flow_l_min": 3}
    record(store, 0, **febrile)
    store.record_administration("P1", "tocilizumab", when(1), by="nina", dose=560)
    record(store, 2, **hypoxic)

    results = list(grading.grade(store.timeline("P1")).results())
    assert [r.crs.grade for r in results] == [1, 2]
    assert "CRS-R3" in [x.rule for x in results[1].crs.reasons]  # graded under the waiver
    assert results[1].crs.status == "final"
    assert results[1].day_post_infusion == 1
    # the same rows written by hand grade identically
    by_hand = [{"patient_id": "P1", "time": at(0), "infusion_time": INFUSION.isoformat(),
                **febrile},
               {"patient_id": "P1", "time": at(2), "infusion_time": INFUSION.isoformat(),
                "tocilizumab_given": True, **hypoxic}]
    expected = list(grading.grade(grading.from_rows(by_hand)).results())
    assert [(r.crs, r.icans, r.flags) for r in results] == [
        (r.crs, r.icans, r.flags) for r in expected]


# ------------------------------------------------------------------------------ labs
LAB_CONVERSIONS = [  # spec §6.3: (test, entered value, entered unit, canonical value, unit)
    ("creatinine", 88.4, "µmol/L", 1.0, "mg/dL"),
    ("crp", 50.0, "mg/L", 5.0, "mg/dL"),
    ("platelets", 150_000.0, "/µL", 150.0, "10^9/L"),
    ("anc", 1.5, "10^9/L", 1500.0, "/µL"),
    ("haemoglobin", 120.0, "g/L", 12.0, "g/dL"),
    ("haemoglobin", 7.5, "mmol/L", 7.5 * 1.611, "g/dL"),
    ("fibrinogen", 2.5, "g/L", 250.0, "mg/dL"),
    ("ldh", 5.0, "µkat/L", 300.0, "U/L"),
    ("ferritin", 800.0, "µg/L", 800.0, "ng/mL"),
    ("crp", 5.0, "mg/dL", 5.0, "mg/dL"),
]


def test_every_lab_is_kept_as_entered_and_converted_to_its_canonical_unit(store):
    admit(store)
    for i, (test, value, unit, _, _) in enumerate(LAB_CONVERSIONS):
        store.record_lab("P1", test, value, unit, when(i), by="nina")
    labs = store.labs("P1")
    assert len(labs) == len(LAB_CONVERSIONS)
    for i, (lab, (test, value, unit, canonical, canonical_unit)) in enumerate(
            zip(labs, LAB_CONVERSIONS)):
        assert (lab["test"], lab["taken_at"]) == (test, when(i))
        assert lab["value"] == pytest.approx(canonical, rel=1e-9), (test, unit)
        assert lab["unit"] == canonical_unit, (test, unit)
        assert (lab["entered_value"], lab["entered_unit"]) == (value, unit)


def test_a_lab_in_an_unknown_unit_is_refused(store):
    admit(store)
    with pytest.raises(StoreError, match="unit"):
        store.record_lab("P1", "crp", 5.0, "mmol/L", when(0), by="nina")
    assert store.labs("P1") == []
    assert count(store, "labs") == 0


@pytest.mark.parametrize(("test", "value", "unit", "message"), [
    ("platelets", 150_000, "10^9/L", "platelets 150000 10^9/L is not possible: allowed 0 to "
                                     "5000 10^9/L"),
    ("platelets", 5000.1, "10^9/L", "allowed 0 to 5000 10^9/L"),
    ("platelets", 5_000_001, "/µL", "platelets 5000001 /µL is not possible: allowed 0 to "
                                    "5000000 /µL"),
    ("haemoglobin", 120, "g/dL", "haemoglobin 120 g/dL is not possible: allowed 0 to 25 g/dL"),
    ("creatinine", 88.4, "mg/dL", "creatinine 88.4 mg/dL is not possible"),
    ("anc", 1500, "10^9/L", "neutrophils (ANC) 1500 10^9/L is not possible: allowed 0 to "
                            "1000 10^9/L"),
    ("crp", -1, "mg/L", "CRP -1 mg/L is not possible: allowed 0 to 1000 mg/L"),
    ("ldh", float("nan"), "U/L", "LDH nan U/L is not possible: allowed 0 to 100000 U/L"),
], ids=["platelets per µL in 10^9/L", "platelets just above", "platelets per µL too high",
        "haemoglobin in g/L as g/dL", "creatinine in µmol/L as mg/dL", "anc per µL as 10^9/L",
        "negative", "not a number"])
def test_an_impossible_lab_value_is_refused_naming_test_value_unit_and_the_range(
        store, test, value, unit, message):
    admit(store)
    with pytest.raises(StoreError, match="check the unit") as e:
        store.record_lab("P1", test, value, unit, when(0), by="nina")
    assert message in str(e.value)
    assert store.labs("P1") == []


@pytest.mark.parametrize(("test", "value", "unit"), [
    ("platelets", 5000, "10^9/L"), ("platelets", 150_000, "/µL"), ("haemoglobin", 120, "g/L"),
    ("creatinine", 88.4, "µmol/L"), ("anc", 1500, "/µL"), ("crp", 0, "mg/L")])
def test_a_lab_value_at_or_inside_its_limit_is_stored(store, test, value, unit):
    admit(store)
    store.record_lab("P1", test, value, unit, when(0), by="nina")
    assert len(store.labs("P1")) == 1


@pytest.mark.parametrize("user", ["nina", "drx", "eddie"])
def test_a_medication_or_lab_result_in_the_future_is_refused_naming_the_field(store, user):
    store.admit(PatientIn(patient_id="EDU-001", is_demo=True, infusion_time=INFUSION),
                by="drx")  # a demo patient, so that the educator may chart too
    soon = datetime.now(UTC) + timedelta(minutes=5)
    with pytest.raises(StoreError, match=r"the time given \d\d/\d\d/\d{4} \d\d:\d\d \(UTC\) "
                                         r"is in the future: a medication is recorded when it "
                                         r"was given \(allowed: any time up to now"):
        store.record_administration("EDU-001", "tocilizumab", soon, by=user, dose=560)
    with pytest.raises(StoreError, match=r"the time taken \d\d/\d\d/\d{4} \d\d:\d\d \(UTC\) "
                                         r"is in the future: a result is recorded at the time "
                                         r"the sample was taken \(allowed: any time up to now"):
        store.record_lab("EDU-001", "crp", 12, "mg/L", soon, by=user)
    assert store.administrations("EDU-001") == [] and store.labs("EDU-001") == []
    just_now = datetime.now(UTC) - timedelta(seconds=1)  # the boundary: up to now is fine
    store.record_administration("EDU-001", "tocilizumab", just_now, by=user, dose=560)
    store.record_lab("EDU-001", "crp", 12, "mg/L", just_now, by=user)


# ------------------------------------------------------------------------------ import
def _rows(pid: str, hours: Sequence[float], **extra: object) -> list[dict[str, object]]:
    return [{"patient_id": pid, "time": at(h), "temp_c": 37.0 + h / 10, **extra}
            for h in hours]


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(store):
    admit(store)
    rows = _rows("P1", [0, 1]) + _rows("P9", [0, 1])
    rows[2]["temp_c"] = 47.0  # row 3 of the file
    audit_before = count(store, "audit_log")
    with pytest.raises(InputError) as e:
        store.import_csv(csv_bytes(rows), by="nina")
    assert any("row 3" in p and "temp_c" in p for p in e.value.lines), e.value.lines
    assert count(store, "assessments") == 0
    assert store.patient("P9") is None
    assert count(store, "audit_log") == audit_before


def test_a_valid_file_imports_every_row_with_one_audit_entry_each(store):
    admit(store)
    rows = (_rows("P1", [0, 1, 2]) +
            _rows("P9", [0.5, 1.5], infusion_time="2026-03-01T12:00:00+00:00"))
    assert store.import_csv(csv_bytes(rows), by="nina") == 5

    timeline = store.timeline_rows()
    assert [(r["patient_id"], r["time"], r["temp_c"]) for r in timeline] == [
        (r["patient_id"], datetime.fromisoformat(str(r["time"])), r["temp_c"]) for r in rows]
    imports = [e for e in store.audit() if e["action"] == "import"]
    assert len(imports) == 5
    assert {e["username"] for e in imports} == {"nina"}
    ids = {h.id for pid in ("P1", "P9") for h in store.history(pid)}
    assert {int(e["entity_id"]) for e in imports} == ids
    patient = store.patient("P9")  # an unknown patient is created
    assert patient is not None
    assert patient["infusion_time"] == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert store.audit("P9")[0]["action"] == "admit"


def test_an_import_clashing_with_a_recorded_time_is_refused_whole(store):
    admit(store)
    record(store, 1, temp_c=37.5)
    rows = _rows("P1", [0, 1, 2]) + _rows("P9", [0])
    audit_before = count(store, "audit_log")
    with pytest.raises((InputError, StoreError)) as e:
        store.import_csv(csv_bytes(rows), by="nina")
    assert any("row 2" in p for p in problems_of(e)), problems_of(e)
    assert [r["temp_c"] for r in store.timeline_rows()] == [37.5]
    assert store.patient("P9") is None
    assert count(store, "audit_log") == audit_before


def test_an_educator_may_not_import(store):
    with pytest.raises(StoreError, match="eddie"):
        store.import_csv(csv_bytes(_rows("P9", [0])), by="eddie")
    assert store.patient("P9") is None


def test_an_imported_flow_may_rely_on_the_device_in_force_in_the_record(store):
    """Form and import must never disagree (decision W4): the form accepts this row."""
    admit(store)
    record(store, 0, o2_device="nasal_cannula", o2_flow_l_min=2, temp_c=37.0)
    rows = [{"patient_id": "P1", "time": at(1), "o2_flow_l_min": 4, "temp_c": 37.1}]
    store.import_csv(csv_bytes(rows), by="nina")
    assert [r.get("o2_flow_l_min") for r in store.timeline_rows("P1")] == [2, 4]


def test_export_then_import_into_a_fresh_record_exports_identically(store, make_store):
    load_demo(store)
    admit(store)
    a = record(store, 0, temp_c=38.5, o2_device="nasal_cannula", o2_flow_l_min=2,
               vasopressors="norepinephrine;vasopressin", age_years=45)
    store.amend_assessment(a, {"time": at(0), "temp_c": 38.7, "o2_device": "nasal_cannula",
                               "o2_flow_l_min": 2, "vasopressors": "norepinephrine;vasopressin",
                               "age_years": 45}, "typo", "nina")
    record(store, 1, o2_flow_l_min=3, **{"ice_orientation": 4, "ice_naming": 3,
                                        "ice_commands": 1, "ice_writing": 1,
                                        "ice_attention": 0})
    wrong = record(store, 2, temp_c=36.0)
    store.mark_entered_in_error(wrong, "wrong patient", "nina")
    record(store, 3, temp_c=37.2, sedated=True, attributed_elsewhere="fever;neuro")
    store.record_administration("P1", "dexamethasone", when(0.5), "nina", dose=10)

    exported = store.export_csv()
    fresh = make_store()
    fresh.import_csv(exported.encode(), by="nina")
    assert fresh.export_csv() == exported
    assert fresh.export_csv("P1") == store.export_csv("P1")


def test_export_keeps_every_digit_of_a_value(store, make_store):
    """37.94999999999 °C rounds to 37.9 (no fever); written as 37.95 it would be a fever."""
    admit(store)
    record(store, 0, temp_c=37.94999999999, o2_device="room_air", vasopressors="none",
           sbp_mmhg=120, dbp_mmhg=70)
    exported = store.export_csv("P1")
    assert grading.read_csv(exported.encode()).frame["temp_c"].tolist() == [37.94999999999]
    fresh = make_store()
    fresh.import_csv(exported.encode(), by="nina")
    assert [r.crs.grade for r in grading.grade(fresh.timeline("P1")).results()] == [0]


ROUND_TRIP = settings(max_examples=25, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow, HealthCheck.data_too_large])
_examples = itertools.count()


def _assert_same_typed_values(original: pd.DataFrame, exported: pd.DataFrame) -> None:
    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.assign(patient_id=frame["patient_id"].astype(str))
        return frame.sort_values(["patient_id", "time"], kind="stable").reset_index(drop=True)

    a, b = ordered(original), ordered(exported)
    assert len(a) == len(b)
    assert a["patient_id"].tolist() == b["patient_id"].tolist()
    for name in COLUMNS:
        if name == "patient_id":
            continue
        if name == "infusion_time":  # the record keeps one infusion time per patient
            for pid, rows in a.groupby("patient_id"):
                given = rows[name].dropna().unique()
                got = b.loc[b["patient_id"] == pid, name]
                if len(given):
                    assert (got == given[0]).all(), (pid, given, got.tolist())
                else:
                    assert got.isna().all(), (pid, got.tolist())
            continue
        x, y = a[name].to_numpy(), b[name].to_numpy()
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), (name, x, y)
        else:
            assert (x == y).all(), (name, x, y)


@ROUND_TRIP
@given(rows=timelines())
def test_any_valid_timeline_survives_import_then_export(store, tmp_path, rows):
    prefix = f"x{next(_examples)}-"  # one record for every example: fresh patient ids each
    rows = [{**r, "patient_id": prefix + str(r["patient_id"])} for r in rows]
    path = tmp_path / f"{prefix}timeline.csv"
    write_csv(rows, path)

    assert store.import_csv(path, by="nina") == len(rows)
    pids = sorted({str(r["patient_id"]) for r in rows})
    exports = [store.export_csv(pid).splitlines(keepends=True) for pid in pids]
    exported = exports[0][0] + "".join(line for lines in exports for line in lines[1:])

    _assert_same_typed_values(grading.read_csv(path).frame,
                              grading.read_csv(exported.encode()).frame)


# ------------------------------------------------------------------------------ demo ward
def _sample_rows() -> dict[str, int]:
    """The assessments of each demo patient: its case up to the case's now (W16)."""
    until = standard_now()
    return {c.id: len(grading.read_csv(cut_timeline(c.timeline, until[c.id])))
            for c in standard_cases()}


def test_the_demo_ward_loads_the_sample_cases_as_demo_patients(store):
    expected = _sample_rows()
    assert load_demo(store) == sum(expected.values())
    demo = store.patients(demo=True)
    assert [p["patient_id"] for p in demo] == sorted(expected) == [
        "DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005"]
    for pid, n in expected.items():
        assert len(store.timeline_rows(pid)) == n
        assert store.timeline_rows(pid)[0]["infusion_time"] is not None
    assert load_demo(store) == 0  # loaded once


def test_resetting_the_demo_ward_marks_the_old_rows_and_loads_them_again(store):
    admit(store)
    real = record(store, 0, temp_c=37.0)
    load_demo(store)
    expected = _sample_rows()
    demo_ids = sorted(expected)
    before = {pid: store.timeline_rows(pid) for pid in demo_ids}
    ids_before = {h.id for pid in demo_ids for h in store.history(pid)}
    counts = {table: count(store, table) for table in ("assessments", "audit_log", "patients")}

    load_demo(store, reset=True)

    for pid in demo_ids:
        # the same cases again, placed at the present once more: a minute may have passed
        after = store.timeline_rows(pid)
        moved = after[0]["time"] - before[pid][0]["time"]
        assert moved in (timedelta(0), timedelta(minutes=1))
        assert [{k: v - moved if k in ("time", "infusion_time") else v for k, v in r.items()}
                for r in after] == before[pid]
        history = store.history(pid)
        assert len(history) == 3 * expected[pid]  # originals, their marks, the reloaded rows
        marks = [h for h in history if h.status == "entered_in_error" and h.replaces_id]
        originals = [h for h in history if h.status == "entered_in_error" and not h.replaces_id]
        assert len(marks) == len(originals) == expected[pid]  # both sides are labelled
        assert {h.reason for h in marks} == {"demo ward reset"}
        assert {h.replaces_id for h in marks} <= ids_before
    assert ids_before <= {h.id for pid in demo_ids for h in store.history(pid)}
    for table, n in counts.items():
        assert count(store, table) >= n
    assert count(store, "assessments") == counts["assessments"] + 2 * sum(expected.values())
    assert [h.id for h in store.history("P1")] == [real]  # a real patient is left alone
    assert store.history("P1")[0].status == "final"


# ------------------------------------------------------------------------------ the command
def monitoring_cli(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WARD_TZ")}
    env["DATABASE_URL"] = store_url
    return subprocess.run([sys.executable, "-m", "monitoring", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_init_creates_the_ward_record(new_database_url):
    store_url = new_database_url(empty=True)
    run = monitoring_cli(store_url, "init")
    assert run.returncode == 0, run.stderr
    assert "ward record ready" in run.stdout
    opened = WardStore(store_url)
    try:
        assert set(t.metadata.tables) <= set(sa.inspect(opened.engine).get_table_names())
    finally:
        opened.engine.dispose()


def test_cli_demo_loads_the_demo_ward(store, store_url):
    run = monitoring_cli(store_url, "demo")
    assert run.returncode == 0, run.stderr
    expected = _sample_rows()
    assert f"{sum(expected.values())} assessments" in run.stdout
    assert [p["patient_id"] for p in store.patients(demo=True)] == sorted(expected)
    assert len(store.timeline_rows()) == sum(expected.values())


def test_cli_import_as_a_known_user(store, store_url, tmp_path):
    path = tmp_path / "ward.csv"
    path.write_bytes(csv_bytes(_rows("P1", [0, 1, 2])))
    run = monitoring_cli(store_url, "import", str(path), "--user", "nina")
    assert run.returncode == 0, run.stderr
    assert "imported 3 assessments" in run.stdout
    assert [e["username"] for e in store.audit("P1") if e["action"] == "import"] == ["nina"] * 3

    other = tmp_path / "more.csv"
    other.write_bytes(csv_bytes(_rows("P2", [0])))
    run = monitoring_cli(store_url, "import", str(other), "--user", "nobody")
    assert run.returncode == 2
    assert "nobody" in run.stderr
    assert run.stdout == ""
    assert store.patient("P2") is None


def test_cli_import_of_a_bad_file_lists_every_problem_and_imports_nothing(
        store, store_url, tmp_path):
    rows = _rows("P1", [0, 1, 2])
    rows[1]["temp_c"] = 47.0
    rows[2]["spo2_pct"] = 101
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows))
    run = monitoring_cli(store_url, "import", str(path), "--user", "nina")
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert any("row 2" in x and "temp_c" in x for x in lines), run.stderr
    assert any("row 3" in x and "spo2_pct" in x for x in lines), run.stderr
    assert count(store, "assessments") == 0
    assert store.patient("P1") is None


def test_cli_export_of_one_patient(store, store_url):
    store.import_csv(csv_bytes(_rows("P1", [0, 1]) + _rows("P2", [0])), by="nina")
    run = monitoring_cli(store_url, "export", "--patient", "P1")
    assert run.returncode == 0, run.stderr
    assert run.stdout == store.export_csv("P1")
    exported = grading.read_csv(run.stdout.encode())
    assert exported.patients == ["P1"] and len(exported) == 2


def test_cli_audit_of_one_patient_prints_json_lines(store, store_url):
    admit(store)
    admit(store, "P2")
    first = record(store, 0, temp_c=38.0)
    store.amend_assessment(first, {"time": at(0), "temp_c": 37.0}, "typo", "nina")
    record(store, 0, pid="P2", temp_c=36.5)
    run = monitoring_cli(store_url, "audit", "--patient", "P1")
    assert run.returncode == 0, run.stderr
    entries = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["action"] for e in entries] == ["admit", "record", "amend"]
    assert {e["patient_id"] for e in entries} == {"P1"}
    assert [e["username"] for e in entries] == ["drx", "nina", "nina"]
    for e in entries:
        assert datetime.fromisoformat(e["at"]).tzinfo is not None


def test_a_busy_error_inside_a_write_rolls_back_and_is_reported_not_retried_twice(store):
    admit(store)
    with pytest.raises(sa.exc.OperationalError, match="database is locked"), \
            store.uow._write() as conn:
        conn.execute(sa.text("SELECT 1"))
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))
    assert store.timeline_rows("P1") == []  # nothing half-written, the store still works
    record(store, 0, temp_c=37.0)
    assert len(store.timeline_rows("P1")) == 1


def test_cli_sets_a_password_from_stdin_for_the_first_admin(store, store_url):
    assert monitoring_cli(store_url, "user", "add", "boss", "--role", "admin").returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WARD_TZ")}
    env["DATABASE_URL"] = store_url
    run = subprocess.run([sys.executable, "-m", "monitoring", "user", "password", "boss"],
                         cwd=REPO, env=env, input="a-long-secret\n", capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert store.sign_in("boss", "a-long-secret").ok
    short = subprocess.run([sys.executable, "-m", "monitoring", "user", "password", "boss"],
                           cwd=REPO, env=env, input="short\n", capture_output=True, text=True,
                           timeout=120)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
