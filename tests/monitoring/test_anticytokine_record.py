"""Anakinra, siltuximab and other anti-IL-6 / anti-IL-1 agents in the ward record (issue 15,
decisions C20, W10): recorded as medications, they set ``anticytokine_given`` on the next
assessment (never ``tocilizumab_given``: the tocilizumab dose limits count tocilizumab only),
survive export and import, reach an older database through migration 0007, and act like
tocilizumab for the fever waiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import grading
from grading.fields import COLUMNS
from monitoring import library
from monitoring import tables as t
from monitoring.review import tocilizumab_doses
from monitoring.store import StoreError, WardStore
from tests.monitoring.revisions import upgrade_to
from tests.monitoring.test_reliability import _head_revision

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def when(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def admit(store: WardStore) -> None:
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")


def record(store: WardStore, hours: float, **values: object) -> int:
    return store.record_assessment("P1", {"time": when(hours), **values}, by="nina")


def febrile_then_afebrile_on_a_vasopressor(store: WardStore, kind: str) -> None:
    admit(store)
    record(store, 0, temp_c=38.6, sbp_mmhg=86, dbp_mmhg=50, o2_device="room_air",
           vasopressors="none")
    record(store, 2, temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50)
    store.record_administration("P1", kind, when(1), by="nina", dose=100)
    record(store, 8, temp_c=37.1, sbp_mmhg=100, dbp_mmhg=60, vasopressors="norepinephrine")


@pytest.mark.parametrize("kind", ["anakinra", "siltuximab", "other_anticytokine"])
def test_an_anticytokine_dose_sets_anticytokine_given_and_never_tocilizumab(store, kind):
    febrile_then_afebrile_on_a_vasopressor(store, kind)
    rows = store.timeline_rows("P1")
    assert [bool(r.get("anticytokine_given")) for r in rows] == [False, True, False]
    assert not any(r.get("tocilizumab_given") for r in rows)
    assert tocilizumab_doses(rows, store.administrations("P1")) == []  # ASCO limits: none
    last = list(grading.grade(store.timeline("P1")).results())[-1]
    assert (last.crs.grade, last.crs.status) == (3, "final")  # the waiver, like tocilizumab
    assert "CRS-R3" in [r.rule for r in last.crs.reasons]


def test_without_the_anticytokine_dose_the_same_course_is_provisional(store):
    admit(store)
    record(store, 0, temp_c=38.6, sbp_mmhg=86, dbp_mmhg=50, o2_device="room_air",
           vasopressors="none")
    record(store, 2, temp_c=38.9, sbp_mmhg=86, dbp_mmhg=50)
    record(store, 8, temp_c=37.1, sbp_mmhg=100, dbp_mmhg=60, vasopressors="norepinephrine")
    last = list(grading.grade(store.timeline("P1")).results())[-1]
    assert (last.crs.grade, last.crs.status) == (3, "provisional")


def test_the_anticytokine_kinds_are_recorded_in_mg_and_named_in_plain_words(store):
    admit(store)
    record(store, 0, temp_c=37.0)
    for kind in ("anakinra", "siltuximab", "other_anticytokine"):
        store.record_administration("P1", kind, when(-1), by="nina", dose=100)
    given = store.administrations("P1")
    assert [(m["kind"], m["unit"]) for m in given] == [
        ("anakinra", "mg"), ("siltuximab", "mg"), ("other_anticytokine", "mg")]
    assert t.KIND_WORDS["other_anticytokine"] == "other anti-IL-6 / anti-IL-1 agent"
    with pytest.raises(StoreError, match="siltuximab"):
        store.record_administration("P1", "emapalumab", when(-1), by="nina", dose=1)


def test_a_ticked_anticytokine_box_is_kept_and_exported_and_imported_back(store, make_store):
    admit(store)
    record(store, 0, temp_c=38.6, o2_device="room_air", vasopressors="none")
    record(store, 2, temp_c=38.9, anticytokine_given=True)  # ticked on the form
    store.record_administration("P1", "siltuximab", when(3), by="nina", dose=770)
    record(store, 4, temp_c=37.4)
    exported = store.export_csv()
    header = exported.splitlines()[0].split(",")
    assert "anticytokine_given" in header and header == list(COLUMNS)
    column = header.index("anticytokine_given")
    assert [line.split(",")[column] for line in exported.splitlines()[1:]] == \
        ["", "true", "true"]
    fresh = make_store()
    fresh.import_csv(exported.encode(), by="nina")
    assert fresh.export_csv() == exported
    assert [bool(r.get("anticytokine_given")) for r in fresh.timeline_rows("P1")] == \
        [False, True, True]


def test_a_case_card_lists_a_ticked_anticytokine_box_as_an_agent_not_named(store):
    admit(store)
    record(store, 0, temp_c=38.6, o2_device="room_air", vasopressors="none")
    record(store, 2, temp_c=38.9, anticytokine_given=True)
    meds = library.medications_of_record(store, "P1")
    assert [(m.kind, m.drug) for m in meds] == [("other_anticytokine", "anti-cytokine agent")]
    assert "which agent" in (meds[0].note or "")


def test_the_library_case_with_anakinra_verifies_against_its_timeline():
    case = library.builtin_case(next(c.card.id for c in library.builtin_cases()
                                     if any(m.kind == "anakinra" for m in c.card.medications)))
    assert case is not None
    assert library.verify(case) == []


def test_migration_0007_adds_the_anticytokine_column_and_kinds_to_an_older_database(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade_to(url, "0006")  # a database from before revision 0007
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert "anticytokine_given" not in {
            c["name"] for c in sa.inspect(conn).get_columns("assessments")}
        kinds = conn.execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE name = 'administrations'")).scalar_one()
        assert "anakinra" in kinds and "siltuximab" not in kinds
    engine.dispose()

    store = WardStore(url)
    with store.engine.connect() as conn:
        assert "anticytokine_given" in {
            c["name"] for c in sa.inspect(conn).get_columns("assessments")}
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            _head_revision()
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    store.add_user("nina", "nurse")
    store.add_user("drx", "physician")
    admit(store)
    record(store, 0, temp_c=38.6)
    dose = store.record_administration("P1", "siltuximab", when(1), by="nina", dose=770)
    record(store, 2, temp_c=38.0)
    assert store.timeline_rows("P1")[-1]["anticytokine_given"] is True
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
            store.engine.begin() as conn:  # the append-only triggers are still there
        conn.execute(sa.text("UPDATE administrations SET dose = 1 WHERE id = :i"), {"i": dose})
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:  # still checked
        conn.execute(sa.text(
            "INSERT INTO administrations (patient_id, given_at, kind, recorded_at, recorded_by,"
            " status) VALUES ('P1', '2026-03-02 09:00:00', 'emapalumab', '2026-03-02 09:00:00',"
            " 'nina', 'final')"))
    store.engine.dispose()


# ------------------------------------------------- anakinra recorded before migration 0007 (W10)
def test_flags_are_resynced_once_for_anakinra_recorded_before_migration_0007(store):
    """Before 0007 an anakinra dose set no field; after it the dose sets anticytokine_given on
    the next row, so the past course grades differently (the fever waiver closes the 'afebrile
    open episode' question). The stored flags follow once, on the first open after it."""
    from monitoring import ward
    admit(store)
    for hours, values in ((0, {"temp_c": 38.6, "sbp_mmhg": 86, "dbp_mmhg": 50,
                               "o2_device": "room_air", "vasopressors": "none"}),
                          (2, {"temp_c": 38.9, "sbp_mmhg": 86, "dbp_mmhg": 50}),
                          (8, {"temp_c": 37.1, "sbp_mmhg": 100, "dbp_mmhg": 60,
                               "vasopressors": "norepinephrine"})):
        ward.save(store, "P1", {"time": when(hours), **values}, by="nina")
    # the dose as a database from before 0007 holds it: recorded, its flags never re-evaluated
    store.record_administration("P1", "anakinra", when(1), by="nina", dose=100)
    assert "afebrile_open_episode" in {f["code"] for f in store.open_flags()}

    assert ward.resync_after_anticytokine_migration(store) == ["P1"]
    codes = {f["code"] for f in store.open_flags()}
    assert "afebrile_open_episode" not in codes            # withdrawn: the waiver applies now
    assert {"new_fever", "crs_rise", "hypotension"} <= codes
    # once per database: a second open changes nothing
    store.record_administration("P1", "anakinra", when(3), by="nina", dose=100)
    assert ward.resync_after_anticytokine_migration(store) == []
    assert not store.claim_once(ward.ANTICYTOKINE_RESYNC)


def test_the_migrations_freeze_their_medication_kinds_and_the_newest_has_every_kind():
    import importlib.util

    from monitoring.tables import ADMINISTRATION_KINDS
    frozen = {}
    for name in ("0007_anticytokine", "0012_medications_and_labs"):
        spec = importlib.util.spec_from_file_location(
            name, f"monitoring/migrations/versions/{name}.py")
        assert spec is not None and spec.loader is not None
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        assert "ADMINISTRATION_KINDS" not in vars(m)       # no live app constant read
        frozen[name] = m.KINDS
    assert set(frozen["0007_anticytokine"]) < set(frozen["0012_medications_and_labs"])
    # a later kind needs a later migration: this fails until one is written
    assert tuple(ADMINISTRATION_KINDS) == frozen["0012_medications_and_labs"]


def test_migration_0007_refuses_a_changed_kind_check_with_a_clear_message(tmp_path):
    url = f"sqlite:///{tmp_path}/odd.db"
    upgrade_to(url, "0006")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a database from before 0007 whose kind check was rewritten
        sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'administrations'")).scalar_one()
        start = sql.index("kind IN (")
        odd = sql[:start] + "length(kind) > 0" + sql[sql.index(")", start) + 1:]
        version = conn.execute(sa.text("PRAGMA schema_version")).scalar_one()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE name = "
                             "'administrations'"), {"sql": odd})
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    engine.dispose()
    with pytest.raises(RuntimeError, match=r"migration 0007: the administrations table has no "
                                           r"medication-kind check"):
        WardStore(url)


def test_an_unknown_medication_kind_is_refused_naming_the_kinds_in_words(store):
    admit(store)
    with pytest.raises(StoreError) as e:
        store.record_administration("P1", "emapalumab", when(1), by="nina", dose=10)
    text = str(e.value)
    assert text.startswith("medication: not a kind the ward records; one of tocilizumab, ")
    assert "other anti-IL-6 / anti-IL-1 agent" in text and "IV fluid bolus" in text
    assert "_" not in text                                     # no raw kind ids


@pytest.mark.parametrize(("kind", "unit", "message"), [
    ("emapalumab", "mg", "medication: not a kind the ward records; one of tocilizumab, "),
    ("other_anticytokine", "mL", "other anti-IL-6 / anti-IL-1 agent is recorded in mg, not mL"),
])
def test_a_case_card_medication_error_names_kinds_in_words(kind, unit, message):
    with pytest.raises(ValueError, match=message) as e:
        library.Medication(time=datetime(2026, 3, 2, 8, 0), kind=kind, drug="x", dose=1,
                           unit=unit)
    assert "other_anticytokine" not in str(e.value)
