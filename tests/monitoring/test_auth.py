"""Local sign-in: argon2 hashes, lock-out after repeated failures, disabled accounts, idle timeout,
pages per role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitoring import auth
from monitoring.store import StoreError, WardStore

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GOOD = "correct horse battery"


@pytest.fixture
def nina(store: WardStore) -> WardStore:
    store.add_user("root", "admin")
    store.set_password("nina", GOOD, by="root")
    return store


def test_passwords_are_stored_only_as_argon2_hashes(nina: WardStore) -> None:
    with nina.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users WHERE username='nina'")
                              ).scalar_one()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert auth.password_matches(stored, GOOD) and not auth.password_matches(stored, GOOD + "!")


def test_the_right_password_signs_in_and_is_audited(nina: WardStore) -> None:
    result = nina.sign_in("nina", GOOD, at=T)
    assert result.ok and result.user is not None and result.user["role"] == "nurse"
    assert "password_hash" not in result.user
    assert nina.audit()[-1]["action"] == "sign_in"


@pytest.mark.parametrize(("username", "password"), [("nina", "wrong password"),
                                                    ("nobody", GOOD)])
def test_a_failed_sign_in_does_not_say_which_part_was_wrong(nina: WardStore, username: str,
                                                            password: str) -> None:
    result = nina.sign_in(username, password, at=T)
    assert (result.ok, result.message) == (False, "user name or password not recognised")
    assert nina.audit()[-1]["action"] == "sign_in_failed"


def test_four_failures_do_not_lock_and_the_fifth_does(nina: WardStore) -> None:
    for i in range(4):
        assert not nina.sign_in("nina", "wrong password", at=T + timedelta(seconds=i)).ok
    assert nina.sign_in("nina", GOOD, at=T + timedelta(seconds=5)).ok  # 4 failures: not locked
    for i in range(5):
        nina.sign_in("nina", "wrong password", at=T + timedelta(minutes=1, seconds=i))
    locked = nina.sign_in("nina", GOOD, at=T + timedelta(minutes=2))
    assert not locked.ok and "locked" in locked.message
    assert "lock_out" in [e["action"] for e in nina.audit()]


def test_a_lock_out_ends_after_fifteen_minutes(nina: WardStore) -> None:
    for i in range(5):
        nina.sign_in("nina", "wrong password", at=T + timedelta(seconds=i))
    assert not nina.sign_in("nina", GOOD, at=T + timedelta(minutes=14, seconds=59)).ok
    assert nina.sign_in("nina", GOOD, at=T + timedelta(minutes=15, seconds=4)).ok


def test_an_admin_password_reset_clears_a_lock_out(nina: WardStore) -> None:
    for i in range(5):
        nina.sign_in("nina", "wrong password", at=T + timedelta(seconds=i))
    nina.set_password("nina", "another good one", by="root")
    assert nina.sign_in("nina", "another good one", at=T + timedelta(minutes=1)).ok


def test_a_disabled_account_cannot_sign_in_and_is_kept(nina: WardStore) -> None:
    nina.set_active("nina", False, by="root")
    assert not nina.sign_in("nina", GOOD, at=T).ok
    assert nina.user("nina") is not None  # disabled, never deleted
    nina.set_active("nina", True, by="root")
    assert nina.sign_in("nina", GOOD, at=T).ok


@pytest.mark.parametrize("by", ["drx", "eddie"])
def test_only_an_admin_may_disable_or_reset_someone_else(nina: WardStore, by: str) -> None:
    with pytest.raises(StoreError):
        nina.set_active("nina", False, by=by)
    with pytest.raises(StoreError):
        nina.set_password("nina", "a new password", by=by)


def test_a_short_password_is_refused_with_the_rule(nina: WardStore) -> None:
    with pytest.raises(StoreError, match="at least 10 characters"):
        nina.set_password("nina", "short", by="nina")


@pytest.mark.parametrize(("idle", "expired"), [(timedelta(minutes=14, seconds=59), False),
                                               (timedelta(minutes=15), True)])
def test_idle_timeout_signs_out_at_fifteen_minutes(idle: timedelta, expired: bool) -> None:
    assert auth.idle_expired(T, T + idle) is expired


def test_an_educator_is_never_given_a_real_patient_page() -> None:
    assert not auth.SEES_REAL_PATIENTS["educator"]
    for page in ("ward_overview", "bedside_entry", "patient", "admission"):
        assert not auth.may_open("educator", page)
    assert auth.may_open("nurse", "bedside_entry") and not auth.may_open("nurse", "users")
