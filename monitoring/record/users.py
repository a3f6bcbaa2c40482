"""Accounts and sign-in: who may do what, local and single sign-on sign-ins, lock-out."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import auth
from .. import tables as t
from .model import (
    CLIENT_KEY_LENGTH,
    SYSTEM_USER,
    UNKNOWN_USER,
    StoreError,
    _window_start,
    now,
)
from .sql import (
    Repository,
    _unique_violation,
)


class UserRecord(Repository):
    """Users, passwords, sign-in and its throttle (docs/security.md)."""

    # ------------------------------------------------------------------ users
    def add_user(self, username: str, role: str, by: str = SYSTEM_USER,
                 display_name: str | None = None, password_hash: str | None = None) -> None:
        if role not in t.ROLES:
            raise StoreError(f"role must be one of {', '.join(t.ROLES)}")
        if auth.sign_in_input_problem(username, ""):
            raise StoreError(f"a user name needs 1 to {auth.MAX_USERNAME_LENGTH} characters, "
                             "without line breaks or other control characters")
        try:
            with self._write() as conn:
                self._check_user(conn, by, ("admin",))
                if conn.execute(sa.select(t.users.c.username).where(
                        t.users.c.username == username)).first():
                    raise StoreError(f"user '{username}' already exists")
                row = {"username": username, "display_name": display_name or username,
                       "role": role, "password_hash": password_hash, "active": True,
                       "created_at": now(), "created_by": by}
                conn.execute(t.users.insert().values(**row))
                self._audit(conn, by, "create", "user", username, None,
                            after={k: v for k, v in row.items() if k != "password_hash"})
        except sa.exc.IntegrityError as e:  # created by another admin since the check above:
            if not _unique_violation(e):    # the primary key is the guard
                raise
            raise StoreError(f"user '{username}' already exists") from None

    def set_password(self, username: str, password: str, by: str) -> None:
        """Set a user's password (an admin for anyone, or the user for themself). Clears a
        lock-out. The password is stored only as an argon2 hash. The ``system`` account never
        gets one: it never signs in."""
        if username == SYSTEM_USER:
            raise StoreError("the system account never signs in and cannot have a password")
        with self._read() as conn:
            row = conn.execute(sa.select(t.users.c.display_name).where(
                t.users.c.username == username)).first()
        problem = auth.password_problem(
            password, username, (row.display_name,) if row is not None else ())
        if problem:
            raise StoreError(problem)
        with self._write() as conn:
            if by != username:
                self._check_user(conn, by, ("admin",))
            if conn.execute(sa.select(t.users.c.username).where(
                    t.users.c.username == username)).first() is None:
                raise StoreError(f"unknown user '{username}'")
            conn.execute(t.users.update().where(t.users.c.username == username).values(
                password_hash=auth.hash_password(password), failed_attempts=0,
                locked_until=None))
            self._audit(conn, by, "set_password", "user", username, None)

    def set_active(self, username: str, active: bool, by: str) -> None:
        """Disable or re-enable an account (admin); nothing is deleted."""
        with self._write() as conn:
            self._check_user(conn, by, ("admin",))
            before = conn.execute(sa.select(t.users.c.active).where(
                t.users.c.username == username)).first()
            if before is None:
                raise StoreError(f"unknown user '{username}'")
            conn.execute(t.users.update().where(t.users.c.username == username)
                         .values(active=active))
            self._audit(conn, by, "enable" if active else "disable", "user", username, None,
                        before={"active": before.active}, after={"active": active})

    def sign_in(self, username: str, password: str, at: datetime | None = None,
                policy: auth.SignInPolicy = auth.DEFAULT_POLICY, client: str | None = None,
                refuse: Collection[str] = ()) -> auth.SignIn:
        """Check a local sign-in (docs/security.md "Roles and sign-in").

        The database counts before the password is checked: one statement takes an attempt
        from the account (``failed_attempts + 1``, locking it at the limit) only while it is not
        locked, so parallel attempts can never check more than ``max_failed_attempts``
        passwords; a success gives the attempt back. Failed sign-ins per ``client`` are counted
        the same way in ``sign_in_throttle`` (one row per client and window). The answer is the
        same for an unknown, disabled, locked or refused (``refuse``, the ``system`` account)
        name, with the same argon2 work; an unknown name is never stored, only its length."""
        when = at or now()
        window = _window_start(when, policy.client_window)
        client = None if client is None else client[:CLIENT_KEY_LENGTH]  # audited as counted
        source = "client:" + (client or "unknown")
        with self._read() as conn:  # fast path: a throttled client costs no write, no hashing
            seen = conn.execute(sa.select(t.sign_in_throttle.c.failures).where(
                t.sign_in_throttle.c.source == source,
                t.sign_in_throttle.c.window_start == window)).scalar()
        if seen is not None and seen >= policy.client_failures:
            return _throttled(window, policy, when)
        bad_input = auth.sign_in_input_problem(username, password)
        may_try = bad_input is None and username != SYSTEM_USER and username not in refuse
        with self._write() as conn:
            if _count_failure(conn, source, window, when) > policy.client_failures:
                return _throttled(window, policy, when)  # lost a race for the last attempts
            claimed = conn.execute(
                t.users.update()
                .where(t.users.c.username == username, t.users.c.active,
                       t.users.c.password_hash.is_not(None),
                       sa.or_(t.users.c.locked_until.is_(None), t.users.c.locked_until <= when))
                .values(failed_attempts=sa.case(
                            (t.users.c.failed_attempts + 1 >= policy.max_failed_attempts, 0),
                            else_=t.users.c.failed_attempts + 1),
                        locked_until=sa.case(
                            (t.users.c.failed_attempts + 1 >= policy.max_failed_attempts,
                             sa.literal(when + policy.lockout, t.UtcDateTime)),
                            else_=sa.null()))
                .returning(*t.users.c)).first() if may_try else None
        ok = auth.password_matches(claimed.password_hash if claimed is not None else None,
                                   password if bad_input is None else "")
        with self._write() as conn:
            if ok and claimed is not None:
                # not while locked by someone else: attempts made while this password was
                # checked (another person's wrong guesses) may have locked the account after
                # this attempt was taken, and that lock stays. A lock this attempt set itself
                # (it was the limit's last attempt: no attempt is taken while locked, so
                # nobody changed it since) ends with its success.
                own_lock = claimed.locked_until if (claimed.locked_until is not None
                                                    and claimed.locked_until > when) else None
                conn.execute(t.users.update().where(
                    t.users.c.username == username,
                    sa.or_(t.users.c.locked_until.is_(None), t.users.c.locked_until <= when,
                           *([t.users.c.locked_until == own_lock] if own_lock else [])))
                    .values(failed_attempts=0, locked_until=None))
                conn.execute(t.sign_in_throttle.update().where(
                    t.sign_in_throttle.c.source == source,
                    t.sign_in_throttle.c.window_start == window,
                    t.sign_in_throttle.c.failures > 0).values(
                    failures=t.sign_in_throttle.c.failures - 1))
                self._audit(conn, username, "sign_in", "user", username, None, at=when,
                            after={"client": client})
                user = {k: v for k, v in claimed._mapping.items() if k != "password_hash"}
                return auth.SignIn(True, f"signed in as {claimed.display_name} ({claimed.role})",
                                   user)
            if claimed is not None:
                locked = claimed.locked_until is not None and claimed.locked_until > when
                self._audit(conn, username, "lock_out" if locked else "sign_in_failed", "user",
                            username, None, at=when, after={
                                "failed_attempts": policy.max_failed_attempts if locked
                                else claimed.failed_attempts, "client": client})
                return auth.SignIn(False, auth.REFUSED)
            account = None if bad_input else conn.execute(
                sa.select(t.users.c.active, t.users.c.password_hash, t.users.c.locked_until)
                .where(t.users.c.username == username)).first()
            if account is None:  # never store what was typed: it may be a password
                self._audit(conn, UNKNOWN_USER, "sign_in_failed", "user", None, None, at=when,
                            after={"name_length": len(username), "client": client,
                                   **({"why": bad_input} if bad_input else {})})
            else:
                why = ("system account" if username == SYSTEM_USER
                       else "refused account" if username in refuse
                       else "disabled" if not account.active
                       else "no password" if account.password_hash is None else "locked")
                self._audit(conn, username, "sign_in_refused", "user", username, None, at=when,
                            after={"why": why, "client": client})
            return auth.SignIn(False, auth.REFUSED)

    def sso_sign_in(self, username: str, display_name: str | None, role: str | None,
                    at: datetime | None = None) -> auth.SignIn:
        """A sign-in through the identity provider (``st.login``): the role comes from its
        claim. A first sign-in creates the account without a local password; a disabled
        account stays refused. Audited like a local sign-in."""
        when = at or now()
        if (auth.sign_in_input_problem(username, "") or username == SYSTEM_USER):
            with self._write() as conn:
                self._audit(conn, UNKNOWN_USER, "sso_refused", "user", None, None, at=when,
                            after={"name_length": len(username)})
            return auth.SignIn(False, "your single sign-on account cannot be used here: ask "
                               "an administrator")
        with self._write() as conn:
            if role not in t.ROLES:
                self._audit(conn, username, "sso_refused", "user", username, None, at=when,
                            after={"role_claim": role})
                return auth.SignIn(False, "your single sign-on account has no ward role: ask "
                                   "an administrator")
            u = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
            if u is None:
                row = {"username": username, "display_name": display_name or username,
                       "role": role, "password_hash": None, "active": True, "created_at": when,
                       "created_by": "sso"}
                conn.execute(t.users.insert().values(**row))
                self._audit(conn, "sso", "create", "user", username, None,
                            after={k: v for k, v in row.items() if k != "password_hash"})
            elif not u.active:
                self._audit(conn, username, "sign_in_disabled", "user", username, None, at=when)
                return auth.SignIn(False, "this account is disabled: ask an administrator")
            elif u.role != role:
                conn.execute(t.users.update().where(t.users.c.username == username)
                             .values(role=role))
                self._audit(conn, "sso", "role_from_claim", "user", username, None, at=when,
                            before={"role": u.role}, after={"role": role})
            self._audit(conn, username, "sign_in_sso", "user", username, None, at=when)
            user = {"username": username, "display_name": display_name or username,
                    "role": role}
            return auth.SignIn(True, f"signed in as {user['display_name']} ({role})", user)

    def user(self, username: str) -> dict[str, Any] | None:
        """A user's account details (never the password hash)."""
        with self._read() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        return None if row is None else {k: v for k, v in row._mapping.items()
                                         if k != "password_hash"}

    def users(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [{k: v for k, v in r._mapping.items() if k != "password_hash"}
                    for r in conn.execute(sa.select(t.users).order_by(t.users.c.username))]


def _count_failure(conn: sa.Connection, source: str, window: datetime, at: datetime) -> int:
    """Count one attempt for ``source`` in ``window`` (an atomic upsert); its new count. The
    first attempt of a window also deletes the rows older than a day (bounded table)."""
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)
    c = t.sign_in_throttle.c
    n = conn.execute(
        insert(t.sign_in_throttle).values(source=source, window_start=window, failures=1)
        .on_conflict_do_update(index_elements=[c.source, c.window_start],
                               set_={"failures": c.failures + 1})
        .returning(c.failures)).scalar_one()
    if n == 1:
        conn.execute(t.sign_in_throttle.delete().where(c.window_start < at - timedelta(days=1)))
    return int(n)


def _throttled(window: datetime, policy: auth.SignInPolicy, at: datetime) -> auth.SignIn:
    minutes = max(1, -(-int((window + policy.client_window - at).total_seconds()) // 60))
    return auth.SignIn(False, "too many failed sign-ins from this device: try again in "
                       f"{minutes} minute{'s' if minutes > 1 else ''}")
