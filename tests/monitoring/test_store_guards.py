"""Writes the database guards, not a read before them: an admission or a new account racing
another one with the same key gets the plain "already exists", never SQL (docs/security.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from monitoring import library, limits, teaching
from monitoring.store import CLIENT_KEY_LENGTH, StoreError, WardStore

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


# ------------------------------------------------------------------ bounded text (limits.py)
START = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def admitted_with_assessment(store: WardStore) -> int:
    store.admit({"patient_id": "P1", "infusion_time": INFUSION}, by="drx")
    return store.record_assessment("P1", {"time": START, "temp_c": 38.4}, by="nina")


def over(field: str) -> str:
    return "x" * (limits.most(field) + 1)


def test_every_write_of_free_text_refuses_text_over_its_limit_naming_the_field(store):
    a = admitted_with_assessment(store)
    flag = store.raise_flag("P1", "test_flag", "review", "check", START)
    before = len(store.audit())
    writes = [
        (lambda: store.add_note("P1", over("note"), by="drx"),
         "the note may have at most 4000 characters (this one has 4001)"),
        (lambda: store.attribute(a, "fever", over("reason"), by="drx"),
         "the reason may have at most 500 characters"),
        (lambda: store.confirm_grade(a, "crs", 1, by="drx", note=over("confirmation_note")),
         "the note may have at most 1000 characters"),
        (lambda: store.acknowledge_flag(flag, over("action"), by="nina"),
         "the action taken may have at most 1000 characters"),
        (lambda: store.acknowledge_flag(flag, "dismissed", by="drx", dismiss=True,
                                        reason=over("reason")),
         "the reason may have at most 500 characters"),
        (lambda: store.amend_assessment(a, {"temp_c": 38.5}, over("reason"), by="nina"),
         "the reason may have at most 500 characters"),
        (lambda: store.mark_entered_in_error(a, over("reason"), by="nina"),
         "the reason may have at most 500 characters"),
        (lambda: store.update_patient("P1", {"bed": "12"}, over("reason"), by="drx"),
         "the reason may have at most 500 characters"),
        (lambda: store.update_patient("P1", {"bed": over("bed")}, "moved", by="drx"),
         "the bed may have at most 32 characters"),
        (lambda: store.save_teaching_case("P1", over("case_title"), "{}", "", by="eddie"),
         "the title may have at most 200 characters"),
    ]
    for write, message in writes:
        with pytest.raises(StoreError, match=re.escape(message)):
            write()
    assert len(store.audit()) == before  # nothing written


def test_text_at_its_limit_is_accepted(store):
    a = admitted_with_assessment(store)
    store.add_note("P1", "n" * limits.most("note"), by="drx")
    store.attribute(a, "fever", "r" * limits.most("reason"), by="drx")
    assert store.notes("P1")[0]["text"] == "n" * 4000


def test_an_admission_with_a_field_over_its_limit_is_refused(store):
    with pytest.raises(ValidationError, match="at most 32 characters"):
        store.admit({"patient_id": "P2", "infusion_time": INFUSION, "bed": over("bed")},
                    by="drx")


def test_a_sign_in_from_a_very_long_client_address_audits_it_cut_to_the_throttle_key(store):
    store.sign_in("nina", "wrong password", client="203.0.113.7," + "9" * 10_000)
    entry = store.audit()[-1]
    client = json.loads(entry["after"])["client"]
    assert client == ("203.0.113.7," + "9" * 10_000)[:CLIENT_KEY_LENGTH]


def test_a_teaching_case_with_text_over_its_limits_is_refused_before_it_is_built(store):
    with pytest.raises(StoreError, match=re.escape(
            "the summary may have at most 4000 characters (this one has 4001); "
            "the learning points may have at most 4000 characters")):
        library.card_from_record(store, "P1", title="A case", summary=over("summary"),
                                 learning_points=["x" * 3000, "y" * 1001], disease="DLBCL")


def test_a_quiz_refuses_a_learner_name_over_its_limit(store):
    with pytest.raises(StoreError, match="the learner's name may have at most 100 characters"):
        teaching.start_quiz(store, "P1", over("learner"), teaching.QUIZ_SETS[0], START)
