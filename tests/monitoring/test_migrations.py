"""Migrations that stand on their own (issue 17, point 5).

Each revision creates what it adds, written out in its file; so a database at any revision -
an empty one, or one built by the migrations up to 0001, 0002, ... - upgrades to the newest,
and the schema it ends with is the one ``monitoring.tables`` describes: the same tables,
columns, types, nullability, defaults, keys, indexes, unique and check constraints as
``metadata.create_all`` builds on the same backend, and no difference for Alembic's
autogenerate comparison. The triggers (append-only, one assessment per time, the database's
own audit of users and patients) and their functions are those of a database migrated from
nothing; rows written at an early revision are read back through the store after the upgrade;
and the application role's rights are granted whichever revision the owner upgraded from.
SQLite always; PostgreSQL when ``TEST_DATABASE_URL`` is set (tests/monitoring/conftest.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitoring import db
from monitoring import tables as t
from monitoring.store import WardStore

from .conftest import BACKENDS
from .revisions import current, head, revisions, upgrade_to

START = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
VERSIONS = Path(db.MIGRATIONS) / "versions"


# ------------------------------------------------------------------ what a schema is made of
def _where(index: dict[str, Any]) -> str | None:
    options = index.get("dialect_options") or {}
    where = options.get("sqlite_where", options.get("postgresql_where"))
    return None if where is None else " ".join(str(where).replace("(", " ").replace(
        ")", " ").split())


def schema_of(conn: sa.Connection) -> dict[str, dict[str, object]]:
    """Every ward table as the database reflects it (``alembic_version`` aside)."""
    insp = sa.inspect(conn)
    out: dict[str, dict[str, object]] = {}
    for name in sorted(insp.get_table_names()):
        if name == "alembic_version":
            continue
        out[name] = {
            "columns": {c["name"]: (str(c["type"].compile(dialect=conn.dialect)),
                                    c["nullable"], c.get("default"))
                        for c in insp.get_columns(name)},
            "primary key": insp.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"]))
                                   for f in insp.get_foreign_keys(name)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]), _where(i))
                              for i in insp.get_indexes(name)),
            "unique constraints": sorted(tuple(u["column_names"])
                                         for u in insp.get_unique_constraints(name)),
            "checks": sorted((c["name"] or "", " ".join(c["sqltext"].split()))
                             for c in insp.get_check_constraints(name)),
        }
    return out


def triggers_of(conn: sa.Connection) -> dict[str, str]:
    """Trigger name -> its definition, whitespace aside."""
    query = ("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
             if conn.dialect.name == "sqlite" else
             "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
    return {name: " ".join(sql.split()) for name, sql in conn.execute(sa.text(query))}


def functions_of(conn: sa.Connection) -> dict[str, tuple[str, object]]:
    """PostgreSQL: the ward's trigger functions (body and settings) in its schema."""
    if conn.dialect.name == "sqlite":
        return {}
    return {name: (" ".join(src.split()), config) for name, src, config in conn.execute(sa.text(
        "SELECT proname, prosrc, proconfig FROM pg_proc "
        "WHERE pronamespace = current_schema()::regnamespace"))}


def expected_triggers(dialect: str) -> set[str]:
    """The triggers a database at the newest revision has (docs/security.md)."""
    if dialect == "sqlite":
        return ({f"{table}_no_{what}" for table in t.APPEND_ONLY
                 for what in ("update", "delete", "replace")}
                | {"assessments_one_per_time", "assessments_corrected_once"})
    return ({f"{table}_{what}" for table in t.APPEND_ONLY
             for what in ("append_only", "no_truncate")}
            | {"assessments_one_per_time", "users_audit_update", "patients_audit_update"})


def described(url: str) -> dict[str, dict[str, object]]:
    """The schema ``monitoring.tables`` describes, built by SQLAlchemy on this backend."""
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            t.metadata.create_all(conn)
            return schema_of(conn)
    finally:
        engine.dispose()


def migrated(url: str) -> tuple[dict[str, Any], dict[str, str], dict[str, Any], list[Any]]:
    """Upgrade to the newest revision as the app does; then its schema, triggers, trigger
    functions and Alembic's differences from ``monitoring.tables``."""
    engine = db.make_engine(url)
    try:
        db.migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return (schema_of(conn), triggers_of(conn), functions_of(conn),
                    compare_metadata(context, t.metadata))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
               ) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Per backend, made once: the schema ``monitoring.tables`` describes, and the triggers
    and functions of a database migrated from nothing."""
    made: dict[str, dict[str, Any]] = {}
    dropped: list[str] = []

    def url_of(backend: str, what: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp(what)}/ward.db"
        server, _ = request.getfixturevalue("postgres")
        dropped.append(server.create())
        return str(server.url_of(dropped[-1]))

    def get(backend: str) -> dict[str, Any]:
        if backend not in made:
            schema, triggers, functions, _ = migrated(url_of(backend, "scratch"))
            made[backend] = {"described": described(url_of(backend, "described")),
                             "scratch schema": schema, "triggers": triggers,
                             "functions": functions}
        return made[backend]

    yield get
    if dropped:
        server, _ = request.getfixturevalue("postgres")
        server.drop(dropped)


# ------------------------------------------------------------------ from every revision
@pytest.mark.parametrize("start", [None, *revisions()], ids=lambda r: r or "empty")
def test_a_database_at_any_revision_upgrades_to_the_schema_the_tables_describe(
        backend, new_database_url, references, start):
    url = new_database_url(empty=True)
    if start is not None:
        upgrade_to(url, start)
        assert current(url) == start
    schema, triggers, functions, differences = migrated(url)
    assert current(url) == head()
    assert differences == []                       # Alembic's autogenerate comparison
    reference = references(backend)
    for table in reference["described"]:           # one table at a time: a readable failure
        assert schema.get(table) == reference["described"][table], table
    assert schema == reference["described"]
    assert set(triggers) == expected_triggers(backend)
    assert triggers == reference["triggers"]       # definitions too, as from nothing
    assert set(functions) == ({"forbid_change", "assessments_check_slot", "audit_row_update"}
                              if backend == "postgresql" else set())
    assert functions == reference["functions"]


def test_the_revisions_keep_their_ids_in_one_line():
    """Existing databases name these ids in alembic_version: they are never renumbered."""
    assert revisions()[:10] == [f"{n:04d}" for n in range(1, 11)]
    assert revisions() == [f"{n:04d}" for n in range(1, len(revisions()) + 1)]
    assert head() == revisions()[-1]


# ------------------------------------------------------------------ 0004 as it was before
def _at_0004_as_it_was(url: str, scale: int | None = None) -> None:
    """A database created before 0004 and upgraded by the 0004 of that time: the column
    without its check (as that revision added it, frozen here); a patient with ``scale``."""
    upgrade_to(url, "0003")
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE patients ADD COLUMN spo2_scale INTEGER "
                                 "DEFAULT '1' NOT NULL")
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0004'")
            if scale is not None:
                conn.execute(sa.text(
                    "INSERT INTO users (username, display_name, role, active, created_at, "
                    "created_by) VALUES ('drx', 'Drx', 'physician', true, :at, 'drx')"),
                    {"at": START.replace(tzinfo=None)})
                conn.execute(sa.text(
                    "INSERT INTO patients (patient_id, is_demo, created_at, created_by, "
                    "spo2_scale) VALUES ('P1', false, :at, 'drx', :scale)"),
                    {"at": START.replace(tzinfo=None), "scale": scale})
    finally:
        engine.dispose()


def test_a_database_that_took_spo2_scale_from_the_old_0004_gets_its_check(
        backend, new_database_url, references):
    url = new_database_url(empty=True)
    _at_0004_as_it_was(url)
    schema, triggers, functions, differences = migrated(url)
    assert differences == []
    assert schema == references(backend)["described"]   # the check included
    assert triggers == references(backend)["triggers"]
    assert functions == references(backend)["functions"]


def test_a_scale_other_than_1_or_2_stored_before_the_check_is_kept_and_reported(
        backend, new_database_url, capsys):
    url = new_database_url(empty=True)
    _at_0004_as_it_was(url, scale=3)
    store = WardStore(url, check=True)   # opens: SQLite's integrity check still passes
    try:
        assert store.patient("P1")["spo2_scale"] == 3     # nothing changed or hidden
        found = [(r["patient_id"], json.loads(r["after"])) for r in store.audit()
                 if r["action"] == "integrity_problem"]
        assert found == [("P1", {"problem": "a NEWS2 SpO2 scale other than 1 or 2",
                                 "spo2_scale": 3})]
        assert "ward record problem found by migration 0011: patient P1" in \
            capsys.readouterr().err
        if backend == "postgresql":   # the check holds for new rows (NOT VALID: not the old)
            with pytest.raises(sa.exc.IntegrityError, match="spo2_scale"), \
                    store.engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO patients (patient_id, is_demo, created_at, "
                                     "created_by, spo2_scale) VALUES "
                                     "('P2', false, now(), 'drx', 3)")
    finally:
        store.engine.dispose()


def test_no_revision_reads_the_live_tables_or_field_lists_or_asks_what_exists():
    """A revision writes out what it adds; it never builds from definitions that move on
    (``monitoring.tables``, ``grading.fields``) nor tests whether its table is there. (0011
    alone looks for one check constraint, which two histories of 0004 left different.)"""
    files = sorted(VERSIONS.glob("0*.py"))
    assert len(files) == len(revisions())
    for path in files:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(monitoring|grading)\b", text, re.M), path
        for asked in ("get_table_names", "get_columns", "has_table", "IF NOT EXISTS",
                      "create_all", "OR REPLACE FUNCTION", "IF EXISTS"):
            assert asked not in text, (path.name, asked)


# ------------------------------------------------------------------ rows kept
def _frozen_0001() -> dict[str, sa.TableClause]:
    """The columns of revision 0001 these tests write, as its software wrote them."""
    def table(name: str, *columns: str, times: tuple[str, ...] = ()) -> sa.TableClause:
        return sa.table(name, *(sa.column(c, t.UtcDateTime if c in times else None)
                                for c in columns))
    record = ("recorded_at", "recorded_by", "status", "reason")
    return {
        "users": table("users", "username", "display_name", "role", "active", "created_at",
                       "created_by", times=("created_at",)),
        "patients": table("patients", "patient_id", "product", "weight_kg", "baseline_ice",
                          "infusion_time", "admitted_at", "is_demo", "created_at",
                          "created_by", times=("infusion_time", "admitted_at", "created_at")),
        "assessments": table("assessments", "id", "patient_id", "assessed_at", "replaces_id",
                             "source", "temp_c", "hr_bpm", *record,
                             times=("assessed_at", "recorded_at")),
        "administrations": table("administrations", "patient_id", "given_at", "kind", "dose",
                                 "unit", *record, times=("given_at", "recorded_at")),
        "labs": table("labs", "patient_id", "taken_at", "test", "value", "unit",
                      "entered_value", "entered_unit", *record,
                      times=("taken_at", "recorded_at")),
        "flags": table("flags", "patient_id", "assessment_id", "code", "severity", "message",
                       "raised_at", *record, times=("raised_at", "recorded_at")),
        "audit_log": table("audit_log", "at", "username", "action", "entity", "entity_id",
                           "patient_id", "after", times=("at",)),
    }


def _write_at_0001(url: str) -> None:
    tables = _frozen_0001()
    engine = db.make_engine(url)
    by = {"recorded_at": START, "status": "final"}
    try:
        with engine.begin() as conn:
            for user, role in (("system", "admin"), ("nina", "nurse"), ("drx", "physician")):
                conn.execute(tables["users"].insert().values(
                    username=user, display_name=user.title(), role=role, active=True,
                    created_at=START - timedelta(days=2), created_by="system"))
            conn.execute(tables["patients"].insert().values(
                patient_id="P1", product="axi-cel", weight_kg=71.5, baseline_ice=10,
                infusion_time=START - timedelta(days=1), admitted_at=START - timedelta(days=2),
                is_demo=False, created_at=START - timedelta(days=2), created_by="drx"))
            a = tables["assessments"]
            ids = []
            for row in ({"assessed_at": START, "temp_c": 38.6, "hr_bpm": 112,
                         "recorded_by": "nina", "replaces_id": None, "reason": None},
                        {"assessed_at": START, "temp_c": 38.9, "hr_bpm": 112,
                         "recorded_by": "drx", "replaces_id": 1, "reason": "misread"},
                        {"assessed_at": START + timedelta(hours=4), "temp_c": 37.4,
                         "hr_bpm": 96, "recorded_by": "nina", "replaces_id": None,
                         "reason": None}):
                ids.append(conn.execute(a.insert().values(patient_id="P1", source="form",
                                                          **by, **row).returning(a.c.id)
                                        ).scalar_one())
            assert ids == [1, 2, 3]  # the ids the database gave, as the store then did
            conn.execute(tables["administrations"].insert().values(
                patient_id="P1", given_at=START + timedelta(hours=1), kind="anakinra",
                dose=100.0, unit="mg", recorded_by="nina", reason=None, **by))
            conn.execute(tables["labs"].insert().values(
                patient_id="P1", taken_at=START, test="crp", value=120.0, unit="mg/L",
                entered_value=12.0, entered_unit="mg/dL", recorded_by="drx", reason=None,
                **by))
            conn.execute(tables["flags"].insert().values(
                patient_id="P1", assessment_id=2, code="new_fever", severity="review",
                message="New fever", raised_at=START, recorded_by="system", reason=None, **by))
            conn.execute(tables["audit_log"].insert().values(
                at=START, username="nina", action="add", entity="assessment", entity_id="1",
                patient_id="P1", after='{"temp_c": 38.6}'))
    finally:
        engine.dispose()


def test_rows_written_at_revision_0001_are_read_back_through_the_store_after_the_upgrade(
        new_database_url):
    url = new_database_url(empty=True)
    upgrade_to(url, "0001")
    _write_at_0001(url)
    store = WardStore(url)                       # the app's start: upgrades to the newest
    try:
        assert current(url) == head()
        assert [(r["time"], r["temp_c"], r["hr_bpm"]) for r in store.timeline_rows("P1")] == [
            (START, 38.9, 112), (START + timedelta(hours=4), 37.4, 96)]
        assert [(h.id, h.status, h.reason) for h in store.history("P1")] == [
            (1, "amended", None), (2, "final", "misread"), (3, "final", None)]
        # the anakinra dose of 0001 sets the field 0007 added, on the next assessment (W10)
        assert [r.get("anticytokine_given") for r in store.timeline_rows("P1")] == [None, True]
        patient = store.patient("P1")
        assert patient is not None
        assert (patient["product"], patient["weight_kg"], patient["infusion_time"],
                patient["spo2_scale"], patient["lymphodepletion_at"]) == (
            "axi-cel", 71.5, START - timedelta(days=1), 1, None)
        nina = store.user("nina")
        assert nina is not None
        assert (nina["role"], nina["active"], nina["failed_attempts"], nina["locked_until"]) \
            == ("nurse", True, 0, None)
        assert [(m["kind"], m["dose"], m["given_at"]) for m in store.administrations("P1")] \
            == [("anakinra", 100.0, START + timedelta(hours=1))]
        # 0016: nobody said why it was given, and the migration does not guess (W20)
        assert [m["indication"] for m in store.administrations("P1")] == ["not_stated"]
        assert [(x["test"], x["value"], x["entered_unit"]) for x in store.labs("P1")] == [
            ("crp", 120.0, "mg/dL")]
        assert [(f["code"], f["assessment_id"]) for f in store.flags("P1")] == [
            ("new_fever", 2)]
        assert [(r["at"], r["username"], r["action"]) for r in store.audit("P1")
                if r["action"] == "add"] == [(START, "nina", "add")]
        assert store.record_problems() == {}

        # the old rows take part in what 0008 enforces: amended again, once, in one chain
        store.amend_assessment(2, {"time": START, "temp_c": 39.1, "hr_bpm": 112},
                               reason="re-measured", by="drx")
        store.record_assessment("P1", {"time": START + timedelta(hours=8), "temp_c": 37.0},
                                by="nina")
        assert [r["temp_c"] for r in store.timeline_rows("P1")] == [39.1, 37.4, 37.0]
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE assessments SET temp_c = 36.6 WHERE id = 1"))
        with pytest.raises(sa.exc.DBAPIError, match="assessment_already_corrected"), \
                store.engine.begin() as conn:    # id 2 was corrected just above
            conn.execute(t.assessments.insert().values(
                patient_id="P1", assessed_at=START, recorded_at=START, recorded_by="drx",
                status="final", replaces_id=2, follows_id=4, source="form", temp_c=36.0))
    finally:
        store.engine.dispose()


# ------------------------------------------------------------------ the app role's rights
PG = [b for b in BACKENDS if b == "postgresql"]


@pytest.mark.parametrize("backend", PG)
@pytest.mark.parametrize("start", ["0001", "0009"])
def test_init_after_an_upgrade_from_an_old_revision_grants_the_app_role_exactly_its_rights(
        backend, request, start):
    server, _ = request.getfixturevalue("postgres")
    name = server.create(owner=server.role("owner")[0])
    owner_url, app_url = server.role_url_of(name, "owner"), server.role_url_of(name, "app")
    try:
        upgrade_to(owner_url, start)               # the deployment, as its owner left it
        done = db.init_database({"DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url})
        assert done[0].startswith("schema migrated as") and len(done) == 2, done
        app = WardStore(app_url)
        try:
            app.add_user("drx", "physician")
            app.admit({"patient_id": "P1", "infusion_time": START}, by="drx")
            app.record_assessment("P1", {"time": START + timedelta(hours=2), "temp_c": 38.2},
                                  by="drx")
            refused = []
            for sql in ("UPDATE assessments SET temp_c = 36.0",
                        "DELETE FROM audit_log",
                        "TRUNCATE notes",
                        "UPDATE users SET created_by = 'drx'",
                        "UPDATE patients SET is_demo = true",
                        "ALTER TABLE assessments DISABLE TRIGGER ALL"):
                with pytest.raises(sa.exc.ProgrammingError) as e, app.engine.begin() as conn:
                    conn.exec_driver_sql(sql)
                assert "permission denied" in str(e.value) or "must be owner" in str(e.value)
                refused.append(sql)
            assert len(refused) == 6
            before = len(app.audit())
            with app.engine.begin() as conn:       # a right it has, used outside the app
                conn.exec_driver_sql("UPDATE patients SET bed = '7' WHERE patient_id = 'P1'")
            assert [(r["action"], r["entity_id"]) for r in app.audit()[before:]] == [
                ("db_update", "P1")]               # audited by the database itself (0010)
        finally:
            app.engine.dispose()
    finally:
        server.drop([name])
