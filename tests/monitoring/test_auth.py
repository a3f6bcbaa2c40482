"""Local sign-in: argon2 hashes, lock-out after repeated failures (atomic under parallel
attempts, on SQLite and PostgreSQL), per-client throttling, bounded input, the same answer for
unknown and real names, the system and demo accounts, the password policy, disabled accounts,
idle timeout, pages per role."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitoring import auth
from monitoring import tables as t
from monitoring.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo_ward
from monitoring.store import UNKNOWN_USER, StoreError, WardStore
from tests.monitoring.revisions import upgrade_to

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GOOD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters (the real ones cost ~50 ms a check, far more on a busy
    machine); the dummy hash for unknown names made with the same, as in production."""
    hasher = auth.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "HASHER", hasher)
    monkeypatch.setattr(auth, "_DUMMY_HASH", hasher.hash("nobody knows this one"))


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
    assert (result.ok, result.message) == (False, "user name or password not accepted")
    assert nina.audit()[-1]["action"] == "sign_in_failed"


def test_four_failures_do_not_lock_and_the_fifth_does(nina: WardStore) -> None:
    for i in range(4):
        assert not nina.sign_in("nina", "wrong password", at=T + timedelta(seconds=i)).ok
    assert nina.sign_in("nina", GOOD, at=T + timedelta(seconds=5)).ok  # 4 failures: not locked
    for i in range(5):
        nina.sign_in("nina", "wrong password", at=T + timedelta(minutes=1, seconds=i))
    locked = nina.sign_in("nina", GOOD, at=T + timedelta(minutes=2))
    assert (locked.ok, locked.message) == (False, auth.REFUSED)  # says no more than a typo
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


# ------------------------------------------------------------------ parallel attempts (issue 14.2)
@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Every password check the store makes: the hash checked against (None = the dummy)."""
    seen: list[str | None] = []
    real = auth.password_matches

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "password_matches", counting)
    return seen


def burst(store: WardStore, attempts: list[tuple[str, str]], at: datetime,
          clients: Callable[[int], str] = lambda i: f"10.0.0.{i}") -> list[auth.SignIn]:
    """Every attempt in its own thread, all released at once (real concurrency)."""
    gate = threading.Barrier(len(attempts))

    def one(i: int) -> auth.SignIn:
        gate.wait()
        return store.sign_in(*attempts[i], at=at, client=clients(i))

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, range(len(attempts))))


def real_checks(seen: list[str | None]) -> int:
    return sum(h is not None for h in seen)


def test_forty_parallel_wrong_passwords_check_at_most_five_and_lock_the_account(
        nina: WardStore, checks: list[str | None]) -> None:
    results = burst(nina, [("nina", f"wrong password {i}") for i in range(40)], T)
    assert not any(r.ok for r in results)
    assert real_checks(checks) == auth.DEFAULT_POLICY.max_failed_attempts
    assert len(checks) == 40  # the other 35 were checked against the dummy hash (same time)
    assert nina.user("nina")["locked_until"] == T + auth.DEFAULT_POLICY.lockout
    actions = [e["action"] for e in nina.audit() if e["entity_id"] == "nina"]
    assert actions.count("lock_out") == 1 and actions.count("sign_in_failed") == 4


def test_a_burst_after_the_limit_is_refused_even_with_the_right_password(
        nina: WardStore, checks: list[str | None]) -> None:
    for i in range(auth.DEFAULT_POLICY.max_failed_attempts):
        nina.sign_in("nina", "wrong password", at=T + timedelta(seconds=i))
    checks.clear()
    attempts = [("nina", GOOD if i % 4 == 0 else f"guess {i}") for i in range(24)]
    results = burst(nina, attempts, T + timedelta(minutes=1))
    assert [r.ok for r in results] == [False] * 24
    assert real_checks(checks) == 0  # no password was checked once locked


def test_a_parallel_burst_from_one_client_checks_at_most_its_allowance(
        nina: WardStore, checks: list[str | None]) -> None:
    policy = auth.SignInPolicy(client_failures=3)
    gate = threading.Barrier(20)

    def one(i: int) -> auth.SignIn:
        gate.wait()
        return nina.sign_in(f"nobody{i}", "whatever", at=T, policy=policy, client="10.1.1.1")

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    assert len(checks) == 3
    assert sum("too many failed sign-ins from this device" in r.message for r in results) == 17


# ------------------------------------------------------------------ bounded input (issue 14.5)
def test_a_huge_user_name_is_refused_and_never_stored(nina: WardStore) -> None:
    huge = "n" * 2_000_000
    assert nina.sign_in(huge, GOOD, at=T).message == auth.REFUSED
    entry = nina.audit()[-1]
    assert (entry["username"], entry["entity_id"]) == (UNKNOWN_USER, None)
    assert '"name_length": 2000000' in entry["after"]
    assert max(len(str(v)) for e in nina.audit() for v in e.values()) < 500


@pytest.mark.parametrize("name", ["x" * 65, "nina\x00", "a\nb", ""])
def test_out_of_bounds_names_are_refused_without_an_error(nina: WardStore, name: str) -> None:
    """A 65-character name had shown a PostgreSQL traceback (VARCHAR(64) audit column)."""
    result = nina.sign_in(name, GOOD, at=T)
    assert (result.ok, result.message) == (False, auth.REFUSED)


def test_a_huge_password_is_refused_before_any_hashing(nina: WardStore,
                                                       checks: list[str | None]) -> None:
    assert not nina.sign_in("nina", GOOD + "x" * 1_000_000, at=T).ok
    assert real_checks(checks) == 0
    assert nina.sign_in("nina", GOOD, at=T).ok  # did not count against the account


def test_a_password_typed_into_the_name_box_is_never_stored(nina: WardStore) -> None:
    nina.sign_in(GOOD, "", at=T, client="10.2.2.2")
    with nina.engine.connect() as conn:
        everything = [str(v) for table in ("audit_log", "sign_in_throttle", "users")
                      for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row]
    assert not any(GOOD in v for v in everything)


def test_failed_sign_ins_from_one_client_are_throttled_and_write_one_counter_row(
        nina: WardStore, checks: list[str | None]) -> None:
    policy = auth.SignInPolicy(client_failures=4)
    for i in range(4):
        assert nina.sign_in(f"guess{i}", "x", at=T + timedelta(seconds=i), policy=policy,
                            client="10.3.3.3").message == auth.REFUSED
    audit_rows = len(nina.audit())
    for i in range(50):
        result = nina.sign_in("nina", GOOD, at=T + timedelta(seconds=10 + i), policy=policy,
                              client="10.3.3.3")
        assert not result.ok
    assert result.message == ("too many failed sign-ins from this device: try again in "
                              "15 minutes")  # 14 min 1 s left
    assert len(checks) == 4 and len(nina.audit()) == audit_rows  # no hashing, no audit rows
    assert nina.sign_in("nina", GOOD, at=T, policy=policy, client="10.4.4.4").ok  # others may
    assert nina.sign_in("nina", GOOD, at=T + timedelta(minutes=15), policy=policy,
                        client="10.3.3.3").ok  # the next window
    with nina.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source, failures FROM sign_in_throttle "
                                    "ORDER BY window_start, source")).all()
    assert [tuple(r) for r in rows] == [("client:10.3.3.3", 4), ("client:10.4.4.4", 0),
                                        ("client:10.3.3.3", 0)]


def test_a_success_does_not_count_against_the_client(nina: WardStore) -> None:
    policy = auth.SignInPolicy(client_failures=2)
    for i in range(5):
        assert nina.sign_in("nina", GOOD, at=T + timedelta(seconds=i), policy=policy,
                            client="10.5.5.5").ok


def test_throttle_rows_older_than_a_day_are_removed(nina: WardStore) -> None:
    for day in range(3):
        nina.sign_in("nobody", "x", at=T + timedelta(days=day), client="10.6.6.6")
    with nina.engine.connect() as conn:
        windows = conn.execute(sa.select(t.sign_in_throttle.c.window_start)
                               .order_by(t.sign_in_throttle.c.window_start)).scalars().all()
    assert windows == [T + timedelta(days=1), T + timedelta(days=2)]  # day 0 removed


@pytest.mark.parametrize("case", ["unknown", "wrong", "locked", "disabled", "system"])
def test_unknown_locked_disabled_and_system_names_get_the_same_answer_and_work(
        nina: WardStore, checks: list[str | None], case: str) -> None:
    name, password = {"unknown": ("nobody", GOOD), "wrong": ("nina", "wrong password"),
                      "locked": ("nina", GOOD), "disabled": ("nina", GOOD),
                      "system": ("system", GOOD)}[case]
    if case == "locked":
        for i in range(5):
            nina.sign_in("nina", "wrong password", at=T - timedelta(minutes=1), client=f"c{i}")
    if case == "disabled":
        nina.set_active("nina", False, by="root")
    if case == "system":  # even with a password put there behind the store's back
        with nina.engine.begin() as conn:
            conn.execute(sa.text("UPDATE users SET password_hash=:h WHERE username='system'"),
                         {"h": auth.hash_password(GOOD)})
    checks.clear()
    result = nina.sign_in(name, password, at=T)
    assert (result.ok, result.message) == (False, "user name or password not accepted")
    assert len(checks) == 1  # one argon2 verification in every case: no timing difference


# ------------------------------------------------------------------ accounts (issue 14.7)
def test_the_system_account_cannot_be_given_a_password(nina: WardStore) -> None:
    with pytest.raises(StoreError, match="system account never signs in"):
        nina.set_password("system", "a perfectly fine passphrase", by="root")
    with pytest.raises(StoreError, match="system account never signs in"):
        nina.set_password("system", "a perfectly fine passphrase", by="system")


def test_demo_accounts_are_refused_when_the_app_says_so(store: WardStore) -> None:
    ensure_demo_ward(store)
    assert store.sign_in("demo.nurse", DEMO_PASSWORD, at=T).ok
    for name in DEMO_ACCOUNTS:
        result = store.sign_in(name, DEMO_PASSWORD, at=T, refuse=DEMO_ACCOUNTS)
        assert (result.ok, result.message) == (False, auth.REFUSED)


@pytest.mark.parametrize(("password", "why"), [
    ("password123", "too easy to guess. This is a very common password."),
    ("qwertyuiop", "This is a top-100 common password."),
    ("1234567890", "too easy to guess"),
    ("Summer2026", "too easy to guess"),
    ("aaaaaaaaaaaa", "Repeats like \"aaa\" are easy to guess."),
    ("nina-on-the-ward-7", "may not contain the user name"),
    ("NINA2026rocks!", "may not contain the user name"),
    ("bakewell tarts 88", "may not contain the user name or the person's name"),
    ("short", "at least 10 characters"),
    ("x" * 129, "at most 128 characters"),
    (" leading space ok words", "may not start or end with a space"),
])
def test_weak_and_name_derived_passwords_are_refused_saying_why(nina: WardStore, password: str,
                                                               why: str) -> None:
    with nina.engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET display_name='Nina Bakewell' "
                             "WHERE username='nina'"))
    with pytest.raises(StoreError, match=None) as refused:
        nina.set_password("nina", password, by="root")
    assert why in str(refused.value)


@pytest.mark.parametrize("password", ["correct horse battery", "tangerine kettle sofa",
                                      "Ninety-9 blue parrots", "x7#Lq!w2Zr@p"])
def test_strong_passwords_are_accepted(nina: WardStore, password: str) -> None:
    nina.set_password("nina", password, by="root")
    assert nina.sign_in("nina", password, at=T).ok


@pytest.mark.parametrize("name", ["", "x" * 65, "tab\tname", "nul\x00name"])
def test_a_user_name_out_of_bounds_is_refused_when_adding_an_account(nina: WardStore,
                                                                    name: str) -> None:
    with pytest.raises(StoreError, match="a user name needs 1 to 64 characters"):
        nina.add_user(name, "nurse", by="root")


def test_the_command_line_refuses_a_password_for_the_system_account(store_url: str) -> None:
    """`python -m monitoring user password system` had made the hidden admin sign in."""
    WardStore(store_url).engine.dispose()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WARD_TZ")}
    run = subprocess.run([sys.executable, "-m", "monitoring", "user", "password", "system"],
                         cwd=Path(__file__).resolve().parents[2],
                         env=env | {"DATABASE_URL": store_url},
                         input="a perfectly fine passphrase\n", capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == "the system account never signs in and cannot have a password"
    store = WardStore(store_url)
    assert not store.sign_in("system", "a perfectly fine passphrase").ok
    store.engine.dispose()


def test_migration_0009_adds_the_throttle_table_to_a_database_made_before_it(tmp_path: Path
                                                                            ) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade_to(url, "0008")  # a database from before revision 0009
    engine = sa.create_engine(url)
    assert not sa.inspect(engine).has_table("sign_in_throttle")
    engine.dispose()
    store = WardStore(url)
    store.add_user("nina", "nurse")
    store.set_password("nina", GOOD, by="system")
    assert not store.sign_in("nina", "wrong password", at=T, client="10.9.9.9").ok
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT source, failures FROM sign_in_throttle")).all() == [
            ("client:10.9.9.9", 1)]
    store.engine.dispose()


@pytest.mark.parametrize("name", ["system", "x" * 60 + "@example.org"])
def test_single_sign_on_refuses_the_system_account_and_overlong_names(store: WardStore,
                                                                      name: str) -> None:
    result = store.sso_sign_in(name, "Someone", "admin", at=T)
    assert not result.ok and "cannot be used here" in result.message
    assert store.audit()[-1]["username"] == UNKNOWN_USER
    assert store.user(name) is None or name == "system"
