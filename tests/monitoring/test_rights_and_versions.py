"""Issue 14 review: teaching-case versions held by the database (migration 0010), the app role's
column rights and the database's own audit of account and admission changes, and a correct
sign-in that never clears a lock set meanwhile (docs/security.md "What the database enforces").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from monitoring import auth, db
from monitoring import tables as t
from monitoring.store import ConcurrentChangeError, WardStore
from tests.monitoring.test_concurrent_saves import at_once
from tests.monitoring.test_database_rights import PG, roles  # noqa: F401  (a fixture)

START = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
PASSWORD = "Vq8#tLm2!xRz9pWc"


# ------------------------------------------------------------------ teaching-case versions
def test_two_educators_saving_one_case_at_once_never_split_its_versions(store):
    store.add_user("edna", "educator")
    for i in range(10):
        case = f"EDU-{i}"
        store.save_teaching_case(case, "first", "{}", "csv", by="eddie")
        outcomes = at_once(*(lambda c=case, u=u: store.save_teaching_case(
            c, f"by {u}", "{}", "csv", by=u) for u in ("eddie", "edna")))
        assert "ok" in [k for k, _ in outcomes], outcomes
        for kind, value in outcomes:
            if kind == "error":  # PostgreSQL: the unique index refused the second
                assert isinstance(value, ConcurrentChangeError), repr(value)
                assert "saved teaching case" in str(value)
        versions = store.teaching_case_versions(case)
        replaced = [v["replaces_id"] for v in versions if v["replaces_id"] is not None]
        assert len(replaced) == len(set(replaced)) == len(versions) - 1  # one chain
        assert len([c for c in store.teaching_cases() if c["case_id"] == case]) == 1


def test_the_database_refuses_a_second_replacement_or_first_version_of_a_case(store):
    first = store.save_teaching_case("EDU-1", "first", "{}", "csv", by="eddie")
    store.save_teaching_case("EDU-1", "second", "{}", "csv", by="eddie")
    row = {"case_id": "EDU-1", "title": "x", "card": "{}", "timeline": "csv",
           "recorded_at": START, "recorded_by": "eddie", "status": "final"}
    for replaces in (first, None):  # as a writer whose check read too early would insert
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(t.teaching_cases.insert().values(**row, replaces_id=replaces))
    assert [c["title"] for c in store.teaching_cases()] == ["second"]


def test_cases_split_before_migration_0010_are_kept_reported_and_still_saved_to(
        new_database_url, capsys):
    url = new_database_url(empty=True)
    engine = db.make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
        for user in ("system", "eddie"):
            conn.execute(t.users.insert().values(username=user, display_name=user,
                                                 role="educator", active=True,
                                                 created_at=START, created_by="system"))
        row = {"case_id": "EDU-1", "title": "v", "card": "{}", "timeline": "csv",
               "recorded_at": START, "recorded_by": "eddie", "status": "final"}
        ids = [conn.execute(t.teaching_cases.insert().values(**row, replaces_id=r))
               .inserted_primary_key[0] for r in (None, None)]
        for _ in range(2):
            conn.execute(t.teaching_cases.insert().values(**row, replaces_id=ids[0]))
        before = conn.execute(sa.select(t.teaching_cases).order_by(t.teaching_cases.c.id)).all()
    engine.dispose()
    store = WardStore(url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(t.teaching_cases).order_by(t.teaching_cases.c.id)
                                ).all() == before  # nothing changed or deleted
        found = [json.loads(r["after"]) for r in store.audit()
                 if r["action"] == "integrity_problem"]
        assert [(f["problem"], f["ids"]) for f in found] == [
            ("a teaching case version replaced more than once", [3, 4]),
            ("a teaching case with more than one first version", [1, 2])]
        assert "record problem found by migration 0010" in capsys.readouterr().err
        store.save_teaching_case("EDU-2", "new", "{}", "csv", by="eddie")
        store.save_teaching_case("EDU-2", "newer", "{}", "csv", by="eddie")
    finally:
        store.engine.dispose()


# ------------------------------------------------------------------ the app role's rights
@pytest.mark.parametrize("backend", PG)
def test_the_app_role_updates_only_the_columns_the_app_changes_and_the_database_audits_them(
        roles, backend):  # noqa: F811
    harness = WardStore(roles["harness"])
    harness.add_user("drx", "physician")
    harness.add_user("nina", "nurse")
    harness.engine.dispose()
    app = WardStore(roles["app"])
    try:
        app.admit({"patient_id": "P1", "infusion_time": START}, by="drx")
        app.record_assessment("P1", {"time": START + timedelta(days=1), "temp_c": 37.0},
                              by="nina")
        refused = []
        for sql in ("UPDATE patients SET is_demo = true",
                    "UPDATE patients SET created_by = 'nina'",
                    "UPDATE patients SET admitted_at = now()",
                    "UPDATE patients SET created_at = now()",
                    "UPDATE patients SET patient_id = 'P2'",
                    "UPDATE users SET created_by = 'drx'",
                    "UPDATE users SET display_name = 'Dr X'",
                    "UPDATE users SET username = 'root'"):
            try:
                with app.engine.begin() as conn:
                    conn.exec_driver_sql(sql)
            except sa.exc.ProgrammingError as e:
                assert "permission denied" in str(e), e
                refused.append(sql)
            # an accepted one shows up as a failure below
        assert len(refused) == 8
        before = len(app.audit())
        with app.engine.begin() as conn:  # rights the app needs, used outside the app
            conn.exec_driver_sql("UPDATE patients SET infusion_time = "
                                 "'2026-03-04T10:00:00+00' WHERE patient_id = 'P1'")
            conn.exec_driver_sql("UPDATE users SET role = 'admin' WHERE username = 'nina'")
        new = app.audit()[before:]
        user = sa.engine.make_url(roles["app"]).username
        assert [(r["username"], r["action"], r["entity"], r["entity_id"], r["patient_id"])
                for r in new] == [
            (f"database:{user}", "db_update", "patient", "P1", "P1"),
            (f"database:{user}", "db_update", "user", "nina", None)]
        assert json.loads(new[0]["before"]) == {"infusion_time": "2026-03-05T08:00:00+00:00"}
        assert json.loads(new[0]["after"]) == {"infusion_time": "2026-03-04T10:00:00+00:00"}
        assert (json.loads(new[1]["before"]), json.loads(new[1]["after"])) == (
            {"role": "nurse"}, {"role": "admin"})
        # through the app: its own entry (who in the ward, why) and the database's
        before = len(app.audit())
        app.update_patient("P1", {"bed": "4"}, reason="moved", by="drx")
        assert [(r["action"], r["username"]) for r in app.audit()[before:]] == [
            ("db_update", f"database:{user}"), ("update", "drx")]
        # the sign-in counters alone are left to the sign-in's own entries; a password hash
        # is never copied into the log
        harness = WardStore(roles["harness"])
        harness.set_password("nina", PASSWORD, by="system")
        harness.engine.dispose()
        before = len(app.audit())
        assert not app.sign_in("nina", "wrong password", client="x").ok
        assert app.sign_in("nina", PASSWORD, client="x").ok
        assert [r["action"] for r in app.audit()[before:]] == ["sign_in_failed", "sign_in"]
        hashes = [r for r in app.audit() if "argon2" in (r["before"] or "") + (r["after"] or "")]
        assert hashes == []
    finally:
        app.engine.dispose()


# ------------------------------------------------------------------ sign-in and the lock
def test_a_correct_sign_in_does_not_clear_a_lock_set_while_its_password_was_checked(
        store, monkeypatch):
    store.set_password("nina", PASSWORD, by="system")
    real = auth.password_matches
    policy = auth.DEFAULT_POLICY

    def meanwhile(password_hash, password):
        if password == PASSWORD:  # while the real nurse's password is hashed: a guesser
            for _ in range(policy.max_failed_attempts - 1):
                assert not store.sign_in("nina", "guess", at=START, client="other").ok
        return real(password_hash, password)

    monkeypatch.setattr(auth, "password_matches", meanwhile)
    assert store.sign_in("nina", PASSWORD, at=START, client="ward").ok  # taken before the lock
    account = store.user("nina")
    assert account["locked_until"] == START + policy.lockout  # the guesser's lock stays
    assert account["failed_attempts"] == 0
    monkeypatch.setattr(auth, "password_matches", real)
    refused = store.sign_in("nina", PASSWORD, at=START + timedelta(minutes=1), client="ward")
    assert not refused.ok  # locked
    # an admin unlocks by setting a new password
    store.set_password("nina", "Zk4$wQp7!nTr2yHd", by="system")
    assert store.user("nina")["locked_until"] is None
    assert store.sign_in("nina", "Zk4$wQp7!nTr2yHd", at=START + timedelta(minutes=2),
                         client="ward").ok
