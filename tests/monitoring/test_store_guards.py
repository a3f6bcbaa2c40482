"""Writes the database guards, not a read before them: an admission or a new account racing
another one with the same key gets the plain "already exists", never SQL (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from monitoring.store import StoreError, WardStore

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@contextmanager
def check_reads_too_early(store: WardStore, table: str, key: str) -> Iterator[None]:
    """The store's own "is it taken?" read finds nothing, as when another workstation's row
    is committed between that read and this insert: only the database's key can refuse."""
    probe = f"SELECT {table}.{key} \nFROM {table} \nWHERE {table}.{key} ="

    def blind(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(probe):
            statement = statement.replace("\nWHERE ", "\nWHERE 1 = 0 AND ", 1)
        return statement, parameters

    sa.event.listen(store.engine, "before_cursor_execute", blind, retval=True)
    try:
        yield
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", blind)


def test_an_admission_racing_another_of_the_same_patient_is_told_it_already_exists(store):
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    with check_reads_too_early(store, "patients", "patient_id"), \
            pytest.raises(StoreError, match=r"^patient 'P1' already exists$"):
        store.admit({"patient_id": "P1", "infusion_time": INFUSION, "name": "Other"},
                    by="drx")
    assert [p["name"] for p in store.patients()] == [None]


def test_a_new_account_racing_another_of_the_same_name_is_told_it_already_exists(store):
    with check_reads_too_early(store, "users", "username"), \
            pytest.raises(StoreError, match=r"^user 'nina' already exists$"):
        store.add_user("nina", "physician", by="system")
    assert {u["username"]: u["role"] for u in store.users()}["nina"] == "nurse"
