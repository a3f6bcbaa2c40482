"""Append-only cannot be sidestepped (issue 14, point 6; docs/security.md).

SQLite: every way of rewriting a row through an insert - ``INSERT OR REPLACE``, ``REPLACE``,
an UPSERT's ``DO UPDATE``, ``UPDATE OR REPLACE``, a copy colliding on a unique key - is refused
on every protected table, through the app's connections and through a bare ``sqlite3``
connection that does not turn recursive triggers on.

PostgreSQL (``TEST_DATABASE_URL``): the application's role (``grant_app_role``) reads and adds
records and nothing else: UPDATE, DELETE, TRUNCATE, UPSERT and ``ALTER TABLE ... DISABLE
TRIGGER`` are refused on every protected table; the app works as that role; it refuses to
migrate with a message; ``python -m monitoring init`` run with the owner's URL migrates and
grants.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitoring import services
from monitoring import tables as t
from monitoring.db import SetupError
from monitoring.store import WardStore

from .conftest import BACKENDS
from .fhir_helpers import ndjson, patient, vital

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def test_every_table_is_either_append_only_or_mutable():
    """A new table must be classified, so the app role gets exactly the rights it needs."""
    assert set(t.APPEND_ONLY).isdisjoint(set(t.MUTABLE) | set(t.COUNTERS))
    assert set(t.MUTABLE).isdisjoint(t.COUNTERS)
    assert set(t.metadata.tables) == set(t.APPEND_ONLY) | set(t.MUTABLE) | set(t.COUNTERS)


def fill(store: WardStore) -> None:
    """A row in every protected table, through the ward record's own functions."""
    store.admit({"patient_id": "P1", "infusion_time": START - timedelta(days=2)}, by="drx")
    aid = store.record_assessment("P1", {"time": START, "temp_c": 38.5}, by="nina")
    store.record_administration("P1", "antipyretic", START, by="nina", dose=1000)
    store.record_lab("P1", "crp", 12.0, "mg/dL", START, by="drx")
    store.attribute(aid, "fever", "line infection", by="drx")
    store.attribute_period("P1", "fever", START, None, "line infection", by="drx")
    store.confirm_grade(aid, "crs", 1, by="drx")
    flag = store.raise_flag("P1", "new_fever", "review", "new fever", START)
    store.acknowledge_flag(flag, "paracetamol given", by="nina")
    store.add_note("P1", "febrile overnight", by="drx", at=START)
    stay = store.record_icu_transfer("P1", START, by="nina")
    store.record_icu_return("P1", stay, START + timedelta(hours=5), by="nina")
    store.save_teaching_case("C1", "A first fever", "{}", "patient_id,time\n", by="eddie")
    with tempfile.TemporaryDirectory() as folder:  # a FHIR import keeps its provenance
        services.import_fhir(store, [ndjson(Path(folder) / "a.ndjson", patient(),
                                            vital("h", "8867-4", 90, "/min"))], by="nina")


def changed(table: str) -> str:
    """A column to rewrite in an attempted replacement (a text column in every table)."""
    return {"audit_log": "after", "fhir_provenance": "fhir_status"}.get(table, "reason")


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in t.APPEND_ONLY}


def rewrites(conn: sqlite3.Connection, table: str, row_id: int) -> dict[str, str]:
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    col = changed(table)
    same = ", ".join(cols)
    edited = ", ".join("'rewritten'" if c == col else c for c in cols)
    but_id = [c for c in cols if c != "id"]
    where = f"FROM {table} WHERE id = {row_id}"
    out = {
        "INSERT OR REPLACE": f"INSERT OR REPLACE INTO {table} ({same}) SELECT {edited} {where}",
        "REPLACE": f"REPLACE INTO {table} ({same}) SELECT {edited} {where}",
        "UPSERT DO UPDATE": f"INSERT INTO {table} ({same}) SELECT {edited} {where} "
                            f"ON CONFLICT (id) DO UPDATE SET {col} = excluded.{col}",
        "UPDATE OR REPLACE": f"UPDATE OR REPLACE {table} SET {col} = 'rewritten' "
                             f"WHERE id = {row_id}",
        "INSERT OR REPLACE (temp_c)": "",
    }
    if table == "assessments":  # a copy under a new id, colliding on the one-per-time key
        out["INSERT OR REPLACE (temp_c)"] = (
            f"INSERT OR REPLACE INTO {table} ({', '.join(but_id)}) SELECT "
            + ", ".join("36.6" if c == "temp_c" else c for c in but_id) + f" {where}")
    else:
        del out["INSERT OR REPLACE (temp_c)"]
    return out


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[WardStore]:
    store = WardStore(f"sqlite:///{tmp_path}/ward.db")
    for user, role in (("nina", "nurse"), ("drx", "physician"), ("eddie", "educator")):
        store.add_user(user, role)
    fill(store)
    yield store
    store.engine.dispose()


@pytest.mark.parametrize("connection", ["the app's engine", "a bare sqlite3 connection"])
def test_no_insert_can_replace_a_row_of_any_protected_table_on_sqlite(sqlite_store, tmp_path,
                                                                       connection):
    if connection == "a bare sqlite3 connection":  # recursive_triggers off, as by default
        conn = sqlite3.connect(tmp_path / "ward.db", isolation_level=None)
        assert conn.execute("PRAGMA recursive_triggers").fetchone() == (0,)
    else:
        conn = sqlite_store.engine.raw_connection().driver_connection
        assert conn.execute("PRAGMA recursive_triggers").fetchone() == (1,)
    before = snapshot(conn)
    accepted = []
    tried = 0
    for table in t.APPEND_ONLY:
        assert before[table], f"{table} has no row to try"
        for form, sql in rewrites(conn, table, before[table][0][0]).items():
            tried += 1
            try:
                conn.execute(sql)
            except sqlite3.DatabaseError as e:
                assert "append-only" in str(e) or "assessment_" in str(e), (table, form, e)
            else:
                accepted.append(f"{table}: {form}")
    assert accepted == []
    assert tried == 4 * len(t.APPEND_ONLY) + 1
    assert snapshot(conn) == before
    conn.close()


# ------------------------------------------------------------------ PostgreSQL roles
PG = [b for b in BACKENDS if b == "postgresql"]


@pytest.fixture
def roles(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A migrated, granted database of this test: its URL as the harness (superuser), the
    application role and the owner role; and an empty one owned by the owner role."""
    server, template = request.getfixturevalue("postgres")
    owner = server.role("owner")[0]
    made = [server.create(template), server.create(owner=owner)]
    try:
        yield {"harness": server.url_of(made[0]), "app": server.role_url_of(made[0], "app"),
               "empty_owner": server.role_url_of(made[1], "owner"),
               "empty_app": server.role_url_of(made[1], "app")}
    finally:
        server.drop(made)


@pytest.mark.parametrize("backend", PG)
def test_the_app_role_may_not_rewrite_delete_truncate_or_unprotect_any_protected_table(
        roles, backend):
    harness = WardStore(roles["harness"])
    for user, role in (("nina", "nurse"), ("drx", "physician"), ("eddie", "educator")):
        harness.add_user(user, role)
    harness.engine.dispose()
    app = WardStore(roles["app"])  # the ward works as the application role
    try:
        fill(app)
        app.amend_assessment(1, {"time": START, "temp_c": 38.6}, reason="misread", by="drx")
        app.set_password("nina", "Vq8#tLm2!xRz9pWc", by="system")
        # sign-in counts attempts in users and sign_in_throttle (the upsert, the prune)
        assert not app.sign_in("nina", "not her password", client="10.0.0.9").ok
        assert app.sign_in("nina", "Vq8#tLm2!xRz9pWc", client="10.0.0.9").ok
        app.discharge("P1", by="drx")
        accepted = []
        for table in t.APPEND_ONLY:
            col = changed(table)
            for what, sql in {
                    "UPDATE": f"UPDATE {table} SET {col} = 'rewritten'",
                    "DELETE": f"DELETE FROM {table}",
                    "TRUNCATE": f"TRUNCATE {table}",
                    "DISABLE TRIGGER": f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                    "UPSERT": f"INSERT INTO {table} SELECT * FROM {table} "
                              f"ON CONFLICT (id) DO UPDATE SET {col} = 'rewritten'",
                    "DROP": f"DROP TABLE {table}"}.items():
                try:
                    with app.engine.begin() as conn:
                        conn.exec_driver_sql(sql)
                except sa.exc.ProgrammingError as e:
                    assert "permission denied" in str(e) or "must be owner" in str(e), e
                else:
                    accepted.append(f"{table}: {what}")
        assert accepted == []
        with app.engine.connect() as conn:
            owners = set(conn.exec_driver_sql(
                "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars())
            me = conn.exec_driver_sql("SELECT current_user").scalar_one()
        assert me not in owners
        assert [r["temp_c"] for r in app.timeline_rows("P1")] == [38.6]
    finally:
        app.engine.dispose()


@pytest.mark.parametrize("backend", PG)
def test_the_app_role_refuses_to_migrate_and_says_what_to_run(roles, backend):
    with pytest.raises(SetupError) as e:
        WardStore(roles["empty_app"])
    message = str(e.value)
    assert "has no schema yet" in message
    assert "may not change it" in message
    assert "python -m monitoring init" in message and "MIGRATION_DATABASE_URL" in message
    # the command line says the same, exit status 2, no traceback
    env = os.environ | {"DATABASE_URL": roles["empty_app"]}
    env.pop("MIGRATION_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "monitoring", "init"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "may not change it" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("backend", PG)
def test_init_as_the_owner_migrates_and_grants_the_app_role_exactly_its_rights(roles, backend):
    env = os.environ | {"DATABASE_URL": roles["empty_app"],
                        "MIGRATION_DATABASE_URL": roles["empty_owner"]}
    done = subprocess.run([sys.executable, "-m", "monitoring", "init"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "schema migrated as" in done.stdout
    assert "SELECT and INSERT on the record" in done.stdout
    app = WardStore(roles["empty_app"])
    try:
        app.add_user("nina", "nurse")
        app.add_user("drx", "physician")
        app.admit({"patient_id": "P1"}, by="drx")
        app.record_assessment("P1", {"time": START, "temp_c": 38.5}, by="nina")
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner"), \
                app.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE assessments DISABLE TRIGGER ALL")
    finally:
        app.engine.dispose()


def test_init_with_an_owner_url_but_no_app_url_refuses_rather_than_open_the_embedded_file():
    from monitoring.db import init_database
    with pytest.raises(SetupError, match="set DATABASE_URL to the application role's"):
        init_database({"MIGRATION_DATABASE_URL": "postgresql://owner:pw@localhost/ward"})
    with pytest.raises(SetupError, match="MIGRATION_DATABASE_URL is for PostgreSQL"):
        init_database({"MIGRATION_DATABASE_URL": "sqlite:///ward.db"})
    assert init_database({}) == []  # no owner URL: init migrates through DATABASE_URL as before
