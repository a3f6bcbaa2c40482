"""The ward record's repository: the one way in and out of the database.

Every write runs in one transaction, carries the user and a timezone-aware time, and adds an
audit entry (who, when, what, before/after). Nothing is updated in place or deleted: an amendment
is a new row replacing the old one (with a reason), ``entered_in_error`` marks without deleting.
``timeline`` returns the effective canonical rows (latest amendment; entered-in-error rows left
out), with the medication "given since the previous row" fields derived from administrations,
ready for ``grading``.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import sys
import threading
import time as _time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

import grading
from grading import csvsafe
from grading.fields import COLUMNS, FIELD_BY_NAME, FIELDS
from grading.lab_scores import units as lab_units
from grading.parse import InputError, Problem, ward_zone
from grading.sequence import PatientOrder

from . import auth, limits
from . import tables as t
from .db import (
    DatabaseUnavailableError,
    check_integrity,
    check_sqlite_file,
    describe,
    make_engine,
    migrate,
)

ONE_OFF_LOCK = 0x57A2E  # serialises ``claim_once`` across workstations (PostgreSQL)

CANONICAL_STORED = tuple(f.name for f in FIELDS
                         if f.name not in ("patient_id", "time", "infusion_time"))
SYSTEM_USER = auth.SYSTEM_USER
CLIENT_KEY_LENGTH = 72  # a client address, as counted in sign_in_throttle and audited
UNKNOWN_USER = "(unknown user)"  # the audit's "who" for a sign-in with a name that has no account
CLINICAL_WRITERS = ("nurse", "physician", "admin")  # chart for any patient (educators: demo only)


class StoreError(Exception):
    """A write the ward record refuses, with a message for the user; ``problems`` holds the
    field problem(s) behind it (``grading.parse.Problem``) when the refusal is about a value,
    so a form marks the field from the object."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)


class ConcurrentChangeError(StoreError):
    """Another user's write landed first (the database refused this one): nothing was saved."""


def now() -> datetime:
    return datetime.now(UTC)


class PatientIn(BaseModel):
    """Admission details (design.md; spec §6.1 for weight)."""

    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(min_length=1, max_length=limits.most("patient_id"),
                            title="Ward patient id")
    hospital_number: str | None = Field(None, max_length=limits.most("hospital_number"),
                                        title="Hospital number")
    name: str | None = Field(None, max_length=limits.most("name"), title="Name")
    date_of_birth: date | None = Field(None, title="Date of birth")
    sex: str | None = Field(None, pattern="^(female|male|other|unknown)$", title="Sex")
    weight_kg: float | None = Field(None, ge=0.5, le=350, title="Weight (kg)")
    ward: str | None = Field(None, max_length=limits.most("ward"), title="Ward")
    bed: str | None = Field(None, max_length=limits.most("bed"), title="Bed")
    product: str | None = Field(None, title="CAR-T product")
    indication: str | None = Field(None, max_length=limits.most("indication"), title="Indication")
    infusion_time: datetime | None = Field(None, title="Infusion time (Day 0)")
    lymphodepletion_at: datetime | None = Field(
        None, title="Lymphodepletion start",
        description="First dose of lymphodepleting chemotherapy: EASIX and CAR-HEMATOTOX use "
                    "the labs taken before it (spec §5.2-5.3)")
    baseline_ice: int | None = Field(None, ge=0, le=10, title="Baseline ICE")
    spo2_scale: int = Field(1, ge=1, le=2, title="NEWS2 SpO2 scale",
                            description="2 only for documented hypercapnic respiratory failure "
                                        "with a prescribed target of 88-92 % (spec §5.1)")
    admitted_at: datetime | None = Field(None, title="Admitted")
    is_demo: bool = Field(False, title="Synthetic demo patient")

    @field_validator("patient_id")
    @classmethod
    def _one_line_id(cls, v: str) -> str:
        # the rule the CSV importer applies (grading.parse): an id that is not one line of
        # printable text, or has spaces around it, could never be imported or exported back
        # to the same patient (docs/security.md, "Untrusted text and exports")
        if not v.isprintable():
            raise ValueError("a patient id is one line of printable text: no tabs, line "
                             "breaks or other control characters")
        if v != v.strip():
            raise ValueError("a patient id has no spaces at its start or end")
        return v

    @field_validator("product")
    @classmethod
    def _product(cls, v: str | None) -> str | None:
        if v is not None and v not in t.PRODUCTS:
            raise ValueError("product must be one of " + ", ".join(t.PRODUCTS))
        return v

    @field_validator("infusion_time", "lymphodepletion_at", "admitted_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("give a timezone-aware time")
        return v


@dataclass(frozen=True)
class StoredAssessment:
    """An assessment row with its place in the correction history."""

    id: int
    patient_id: str
    assessed_at: datetime
    recorded_at: datetime
    recorded_by: str
    status: str          # final, amended (replaced by a later row) or entered_in_error
    replaces_id: int | None
    reason: str | None
    values: dict[str, Any]


LAB_UNITS = lab_units.LAB_UNITS  # test -> (canonical unit, factors), spec §6.3


class WardStore:
    """Repository over the ward database (SQLite file by default, or ``DATABASE_URL``)."""

    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None,
                 tz: str = "UTC", create: bool = True, check: bool = False) -> None:
        """``create``: a SQLite file that does not exist yet may be created (``init``, the
        embedded default); ``check``: run SQLite's integrity check first (the commands and the
        app). A database that cannot be used raises ``DatabaseUnavailableError``."""
        self.tz: ZoneInfo = ward_zone(tz)
        # the write transaction this thread has open: store calls made inside it (e.g. the
        # flag resync after a save, under the patient's lock) join it instead of opening
        # another one, so they see the same rows and commit or roll back together
        self._local = threading.local()
        if engine is None:
            check_sqlite_file(url, create=create)
        self.engine = engine or make_engine(url)
        try:
            if check:
                check_integrity(self.engine)
            migrate(self.engine)
            self._add_system_user()
        except sa.exc.DBAPIError as e:
            self.engine.dispose()
            raise DatabaseUnavailableError(describe(e, self.engine.url)) from None

    def _add_system_user(self) -> None:
        try:
            with self._write() as conn:
                if conn.execute(sa.select(t.users.c.username).where(
                        t.users.c.username == SYSTEM_USER)).first() is None:
                    conn.execute(t.users.insert().values(
                        username=SYSTEM_USER, display_name="System", role="admin",
                        active=True, created_at=now(), created_by=SYSTEM_USER))
        except sa.exc.IntegrityError:
            pass  # another workstation starting at the same moment created it first

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction. Starting it waits while another workstation writes (busy
        timeout, then a few retries); once started, it holds the write lock to the end. Inside
        a write transaction of this thread, the same transaction (nothing commits until the
        outermost one ends)."""
        shared = getattr(self._local, "conn", None)
        if shared is not None:
            yield shared
            return
        for attempt in range(20):
            conn = self.engine.connect()
            try:
                trans = conn.begin()
                break
            except sa.exc.OperationalError as e:
                conn.close()
                if not ("locked" in str(e) or "busy" in str(e)) or attempt == 19:
                    raise
                _time.sleep(0.05 * (attempt + 1))
        self._local.conn = conn
        try:
            yield conn
            trans.commit()
        except BaseException:
            trans.rollback()
            raise
        finally:
            self._local.conn = None
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        shared = getattr(self._local, "conn", None)
        if shared is not None:  # inside a write transaction: read what it sees
            yield shared
            return
        with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def locked(self, patient_ids: Iterable[str]) -> Iterator[sa.Connection]:
        """One write transaction holding the patients' locks (``_lock_patients``): every store
        call made inside it by this thread joins it, so checks, writes, audit entries and
        the flag resync see one state of the record and land together, or not at all."""
        with self._write() as conn:
            self._lock_patients(conn, patient_ids)
            yield conn

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside ``locked``: a part that may fail without undoing the rest (its own writes
        are rolled back, the transaction goes on)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            yield
            return
        with conn.begin_nested():
            yield

    def _lock_patients(self, conn: sa.Connection, patient_ids: Iterable[str]) -> None:
        """Lock the patients' rows before any check of their records, so every
        check-then-write on one patient's record (a death must be the last entry, a flow
        needs its device, a flag raised once, ...) runs alone: a second writer for the same
        patient waits here until the first has committed, then sees its rows (docs/security.md,
        "What the database enforces"). PostgreSQL: ``SELECT ... FOR NO KEY UPDATE`` on the
        ``patients`` rows, in patient id order (no deadlock between two multi-patient
        writes); it does not block the foreign-key checks of inserts, only other lockers and
        updates of the patient's row. SQLite: every write transaction holds the database's
        write lock from its start (``BEGIN IMMEDIATE``), which serialises all writers."""
        ids = sorted(set(patient_ids))
        if not ids or conn.dialect.name != "postgresql":
            return
        conn.execute(sa.select(t.patients.c.patient_id)
                     .where(t.patients.c.patient_id.in_(ids))
                     .order_by(t.patients.c.patient_id)
                     .with_for_update(key_share=True))

    def _lock_for_rows(self, conn: sa.Connection, table: sa.Table, ids: Iterable[int]) -> None:
        """Lock the patients whose records hold these rows (a row's patient never changes)."""
        ids = list(ids)
        if ids and conn.dialect.name == "postgresql":
            self._lock_patients(conn, conn.execute(sa.select(table.c.patient_id).where(
                table.c.id.in_(ids))).scalars())

    def _audit(self, conn: sa.Connection, user: str, action: str, entity: str,
               entity_id: object, patient_id: str | None, before: object = None,
               after: object = None, at: datetime | None = None) -> None:
        conn.execute(t.audit_log.insert().values(
            at=at or now(), username=user, action=action, entity=entity,
            entity_id=None if entity_id is None else str(entity_id), patient_id=patient_id,
            before=_json(before), after=_json(after)))

    def _check_user(self, conn: sa.Connection, user: str, roles: Sequence[str] = t.ROLES) -> str:
        """The user's role, if the account exists, is active and has one of ``roles``."""
        row = conn.execute(sa.select(t.users.c.role, t.users.c.active).where(
            t.users.c.username == user)).first()
        if row is None:
            raise StoreError(f"unknown user '{user}'")
        if not row.active:
            raise StoreError(f"user '{user}' is disabled")
        if row.role not in roles:
            raise StoreError(f"user '{user}' ({row.role}) may not do this; needs "
                             + " or ".join(roles))
        return str(row.role)

    def _check_writer(self, conn: sa.Connection, user: str, patient_id: str) -> None:
        """Clinical roles chart for any patient; an educator only for a synthetic demo patient
        (building a teaching case, design.md "Roles")."""
        role = self._check_user(conn, user)
        if role in CLINICAL_WRITERS:
            return
        demo = conn.execute(sa.select(t.patients.c.is_demo).where(
            t.patients.c.patient_id == patient_id)).scalar()
        if role == "educator" and demo:
            return
        raise StoreError(f"user '{user}' ({role}) may not do this; needs "
                         + " or ".join(CLINICAL_WRITERS)
                         + (" (an educator charts for synthetic demo patients only)"
                            if role == "educator" else ""))

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

    def note(self, by: str, action: str, entity: str, entity_id: object,
             patient_id: str | None = None, after: object = None) -> None:
        """An audit entry for an action that changes no clinical row (e.g. a demo reset
        requested by an educator)."""
        with self._write() as conn:
            self._check_user(conn, by)
            self._audit(conn, by, action, entity, entity_id, patient_id, after=after)

    # ------------------------------------------------------------------ patients
    def admit(self, patient: PatientIn | Mapping[str, Any], by: str) -> str:
        p = patient if isinstance(patient, PatientIn) else PatientIn.model_validate(patient)
        try:
            with self._write() as conn:
                # an educator creates synthetic demo patients only (a teaching case being built)
                self._check_user(conn, by, ("physician", "admin", *(("educator",) if p.is_demo
                                                                    else ())))
                return self._admit(conn, p, by)
        except sa.exc.IntegrityError as e:  # admitted by someone else since _admit's check:
            if not _unique_violation(e):    # the primary key is the guard
                raise
            raise StoreError(f"patient '{p.patient_id}' already exists") from None

    def _admit(self, conn: sa.Connection, p: PatientIn, by: str) -> str:
        if conn.execute(sa.select(t.patients.c.patient_id).where(
                t.patients.c.patient_id == p.patient_id)).first():
            raise StoreError(f"patient '{p.patient_id}' already exists")
        row = p.model_dump() | {"created_at": now(), "created_by": by}
        row["admitted_at"] = row["admitted_at"] or row["created_at"]
        conn.execute(t.patients.insert().values(**row))
        self._audit(conn, by, "admit", "patient", p.patient_id, p.patient_id, after=row)
        return p.patient_id

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
        return None if row is None else dict(row._mapping)

    def patients(self, *, demo: bool | None = None, admitted_only: bool = False
                 ) -> list[dict[str, Any]]:
        q = sa.select(t.patients).order_by(t.patients.c.patient_id)
        if demo is not None:
            q = q.where(t.patients.c.is_demo == demo)
        if admitted_only:
            q = q.where(t.patients.c.discharged_at.is_(None))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def discharge(self, patient_id: str, by: str, at: datetime | None = None) -> None:
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician", "admin"))
            before = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
            if before is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            when = at or now()
            conn.execute(t.patients.update().where(t.patients.c.patient_id == patient_id)
                         .values(discharged_at=when))
            self._audit(conn, by, "discharge", "patient", patient_id, patient_id,
                        before={"discharged_at": before.discharged_at},
                        after={"discharged_at": when})

    PATIENT_EDITABLE = t.UPDATABLE_COLUMNS["patients"]  # the app role's UPDATE columns too

    def update_patient(self, patient_id: str, changes: Mapping[str, Any], reason: str,
                       by: str) -> None:
        """Change admission details (physician, admin), with a reason; the audit trail keeps
        the values before and after. Assessments are never touched."""
        unknown = sorted(set(changes) - set(self.PATIENT_EDITABLE))
        if unknown:
            raise StoreError("these admission details cannot be changed: " + ", ".join(unknown)
                             + "; allowed: " + ", ".join(self.PATIENT_EDITABLE))
        if not reason or not reason.strip():
            raise StoreError("a change to admission details needs a reason")
        _bounded(("reason", reason), *((k, v) for k, v in changes.items()
                                       if k in limits.LIMITS and isinstance(v, str)))
        with self._write() as conn:
            # an educator changes a synthetic demo patient's admission only (loading a
            # teaching case again, a demo reset; decision T5)
            self._lock_patients(conn, [patient_id])
            role = self._check_user(conn, by, ("physician", "admin", "educator"))
            before = conn.execute(sa.select(t.patients).where(
                t.patients.c.patient_id == patient_id)).first()
            if before is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if role == "educator" and not before.is_demo:
                raise StoreError(f"user '{by}' (educator) may not do this; needs physician or "
                                 "admin (an educator changes synthetic demo patients only)")
            merged = {k: v for k, v in (dict(before._mapping) | dict(changes)).items()
                      if k in PatientIn.model_fields}
            try:
                checked = PatientIn.model_validate(merged)
            except ValidationError as e:
                raise StoreError("; ".join(
                    f"{PatientIn.model_fields[str(x['loc'][0])].title}: {x['msg']}"
                    if x["loc"] and x["loc"][0] in PatientIn.model_fields else x["msg"]
                    for x in e.errors())) from None
            if changes.get("discharged_at") is not None and changes["discharged_at"].tzinfo is None:
                raise StoreError("discharged_at must be timezone-aware")
            values = {k: (changes[k] if k == "discharged_at" else getattr(checked, k))
                      for k in changes}
            conn.execute(t.patients.update().where(t.patients.c.patient_id == patient_id)
                         .values(**values))
            self._audit(conn, by, "update", "patient", patient_id, patient_id,
                        before={k: before._mapping[k] for k in values},
                        after=values | {"reason": reason})

    # ------------------------------------------------------------------ assessments
    def record_assessment(self, patient_id: str, values: Mapping[str, Any], by: str,
                          source: str = "form") -> int:
        """Validate one canonical assessment (``time`` required) and save it. Returns its id.
        Raises ``InputError`` (every problem, one per line) or ``StoreError``."""
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            row = self._validated(conn, patient_id, values)
            self._check_death(conn, row)
            follows, current = self._slot(conn, patient_id, row["assessed_at"])
            if current is not None:
                message = (f"patient {patient_id} already has an assessment at "
                           f"{self._when(row['assessed_at'])}: amend it instead")
                raise StoreError(message, [Problem("time", "duplicate_time", message)])
            new_id = self._insert_assessment(conn, row, by, source, None, None, "record",
                                             follows=follows)
            if _touches_support(row) or self._has_later(conn, patient_id, row["assessed_at"]):
                self._check_record_stays_valid(conn, patient_id)
            return new_id

    def _has_later(self, conn: sa.Connection, patient_id: str, at: datetime) -> bool:
        a = t.assessments
        return conn.execute(sa.select(a.c.id).where(
            a.c.patient_id == patient_id, a.c.assessed_at > at, *_effective(a)).limit(1)
        ).first() is not None

    def amend_assessment(self, assessment_id: int, values: Mapping[str, Any], reason: str,
                         by: str) -> int:
        """Correct an assessment: a new row replaces it; the original stays in the history."""
        if not reason or not reason.strip():
            raise StoreError("a correction needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by)
            old = self._current(conn, assessment_id)
            self._check_writer(conn, by, old["patient_id"])
            row = self._validated(conn, old["patient_id"], values, exclude=assessment_id)
            self._check_death(conn, row, exclude=assessment_id)
            follows, clash = self._slot(conn, old["patient_id"], row["assessed_at"])
            if clash not in (None, assessment_id):
                if conn.execute(sa.select(t.assessments.c.id).where(
                        t.assessments.c.replaces_id == assessment_id)).first() is not None:
                    # corrected by someone else since this correction read it
                    raise self._corrected_meanwhile(old["patient_id"], row["assessed_at"],
                                                    assessment_id)
                message = (f"patient {old['patient_id']} already has an assessment at "
                           f"{self._when(row['assessed_at'])}")
                raise StoreError(message, [Problem("time", "duplicate_time", message)])
            new_id = self._insert_assessment(conn, row, by, "amendment", assessment_id, reason,
                                             "amend", before=_public(old), follows=follows)
            self._check_record_stays_valid(conn, old["patient_id"])
            return new_id

    def mark_entered_in_error(self, assessment_id: int, reason: str, by: str) -> int:
        return self.mark_many_entered_in_error([assessment_id], reason, by)[0]

    def mark_many_entered_in_error(self, assessment_ids: Sequence[int], reason: str,
                                   by: str) -> list[int]:
        """Mark assessments entered-in-error in one transaction; each patient's record must
        be consistent once all are marked."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, assessment_ids)
            self._check_user(conn, by)
            return self._mark_assessments(conn, assessment_ids, reason, by)

    def _mark_assessments(self, conn: sa.Connection, assessment_ids: Sequence[int],
                          reason: str, by: str) -> list[int]:
        new_ids, patients = [], set()
        for assessment_id in assessment_ids:
            old = self._current(conn, assessment_id)
            if old["patient_id"] not in patients:
                self._check_writer(conn, by, old["patient_id"])
            row = {"patient_id": old["patient_id"], "assessed_at": old["assessed_at"]}
            follows, _ = self._slot(conn, old["patient_id"], old["assessed_at"])
            new_ids.append(self._insert_assessment(
                conn, row, by, "correction", assessment_id, reason, "entered_in_error",
                before=_public(old), status="entered_in_error", follows=follows))
            patients.add(old["patient_id"])
        for patient_id in sorted(patients):
            self._check_record_stays_valid(conn, patient_id)
        return new_ids

    def clear_demo_patient(self, patient_id: str, reason: str, by: str) -> int:
        """Mark a synthetic demo patient's current assessments, medications and lab results
        entered-in-error and dismiss its open flags, in one transaction (a teaching case
        loaded again, a demo reset; nothing deleted, every mark audited under ``by``).
        Returns how many rows were marked."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            demo = conn.execute(sa.select(t.patients.c.is_demo).where(
                t.patients.c.patient_id == patient_id)).first()
            if demo is None:
                raise StoreError(f"unknown patient '{patient_id}'")
            if not demo.is_demo:
                raise StoreError(f"patient '{patient_id}' is not a demo patient: a real "
                                 "record is corrected entry by entry, never cleared")
            a = t.assessments
            ids = list(conn.execute(sa.select(a.c.id).where(
                a.c.patient_id == patient_id, *_effective(a)).order_by(a.c.assessed_at))
                .scalars())
            n = len(self._mark_assessments(conn, ids, reason, by))
            n += self._mark_medications_and_labs(conn, patient_id, reason, by)
            f, k = t.flags, t.flag_acknowledgements
            for flag_id in conn.execute(sa.select(f.c.id).where(
                    f.c.patient_id == patient_id, *_effective(f),
                    ~sa.exists().where(k.c.flag_id == f.c.id))).scalars():
                self._acknowledge(conn, flag_id, reason, by, True, reason)
            return n

    def _check_death(self, conn: sa.Connection, row: Mapping[str, Any],
                     exclude: int | None = None) -> None:
        """Nothing after a recorded death; a death only after the last assessment."""
        a = t.assessments
        others = [a.c.patient_id == row["patient_id"], *_effective(a),
                  *([a.c.id != exclude] if exclude else [])]
        died = conn.execute(sa.select(a.c.assessed_at).where(
            *others, a.c.died_of.is_not(None), a.c.assessed_at < row["assessed_at"])).first()
        if died is not None:
            message = (f"patient {row['patient_id']} has a death recorded at "
                       f"{died.assessed_at.isoformat()}: no assessment can follow it")
            raise StoreError(message, [Problem(
                "time", "after_death", message,
                words=f"the patient's death is recorded at {self._when(died.assessed_at)}: "
                "no assessment can follow it")])
        if row.get("died_of") is not None:
            later = conn.execute(sa.select(a.c.assessed_at).where(
                *others, a.c.assessed_at > row["assessed_at"])).first()
            if later is not None:
                message = (f"patient {row['patient_id']} has assessments after "
                           f"{row['assessed_at'].isoformat()}: a death must be the last")
                raise StoreError(message, [Problem(
                    "died_of", "after_death", message, words="the patient has later "
                    "assessments: a death must be the last assessment")])

    def _current(self, conn: sa.Connection, assessment_id: int) -> dict[str, Any]:
        a = t.assessments
        old = conn.execute(sa.select(a).where(a.c.id == assessment_id)).first()
        if old is None:
            raise StoreError(f"no assessment {assessment_id}")
        newer = conn.execute(sa.select(a.c.id).where(a.c.replaces_id == assessment_id)).first()
        if newer is not None:
            raise StoreError(f"assessment {assessment_id} was already corrected by "
                             f"{newer.id}: correct the current version")
        if old.status == "entered_in_error":
            raise StoreError(f"assessment {assessment_id} is an entered-in-error mark")
        return dict(old._mapping)

    def _insert_assessment(self, conn: sa.Connection, row: dict[str, Any], by: str, source: str,
                           replaces: int | None, reason: str | None, action: str,
                           before: object = None, status: str = "final", *,
                           follows: int) -> int:
        """Insert one assessment row. ``follows`` is the newest row at its patient and time
        read by ``_slot`` in the same statement as the check that the time is free; if
        another writer has added a row there since, the database refuses this one."""
        full = row | {"recorded_at": now(), "recorded_by": by, "status": status,
                      "replaces_id": replaces, "reason": reason, "source": source,
                      "follows_id": follows}
        try:
            new_id = conn.execute(t.assessments.insert().values(**full)).inserted_primary_key[0]
        except sa.exc.IntegrityError as e:
            problem = self._concurrent_problem(e, row["patient_id"], row["assessed_at"],
                                               replaces)
            if problem is None:
                raise
            raise problem from None
        self._audit(conn, by, action, "assessment", new_id, row["patient_id"], before=before,
                    after=_public(full | {"id": new_id}), at=full["recorded_at"])
        return int(new_id)

    def _slot(self, conn: sa.Connection, patient_id: str, at: datetime
              ) -> tuple[int, int | None]:
        """The patient and time's newest row (0 when none), and its effective assessment (None
        when the time is free), read in one statement so both describe the same moment."""
        a = t.assessments
        newer = a.alias("newer")
        rows = conn.execute(sa.select(
            a.c.id, a.c.status, sa.exists().where(newer.c.replaces_id == a.c.id).label("done"))
            .where(a.c.patient_id == patient_id, a.c.assessed_at == at).order_by(a.c.id)).all()
        effective = [int(r.id) for r in rows if r.status == "final" and not r.done]
        return (int(rows[-1].id) if rows else 0), (effective[0] if effective else None)

    def _when(self, at: datetime) -> str:
        """A time as the ward reads it (ward time zone, no ISO text)."""
        return at.astimezone(self.tz).strftime("%d %b %Y %H:%M")

    def _corrected_meanwhile(self, patient_id: str, at: datetime, replaces: int
                             ) -> ConcurrentChangeError:
        return ConcurrentChangeError(
            f"someone else changed this part of patient {patient_id}'s record a moment ago "
            f"(assessment {replaces} was corrected, or an entry was saved at "
            f"{self._when(at)}), so this correction was not saved: reload the record and "
            "correct the current version if it still needs it")

    def _concurrent_problem(self, e: Exception, patient_id: str, at: datetime,
                            replaces: int | None) -> ConcurrentChangeError | None:
        """The message for a write the database refused because another user's write to the
        same assessment or time landed first (migration 0008); None for any other error."""
        text = str(getattr(e, "orig", e))
        if not any(k in text for k in _CONCURRENT_MARKERS):
            return None
        if replaces is not None:
            return self._corrected_meanwhile(patient_id, at, replaces)
        return ConcurrentChangeError(
            f"patient {patient_id} already has an assessment at {self._when(at)}: it was "
            "saved by someone else a moment ago, so this one was not saved; check it and "
            "amend it if your observations differ")

    def _validated(self, conn: sa.Connection, patient_id: str, values: Mapping[str, Any],
                   exclude: int | None = None) -> dict[str, Any]:
        """Run the canonical validation on the new row, in the context of the patient's
        ongoing support (a flow needs the device in force, a dose its vasopressor)."""
        p = conn.execute(sa.select(t.patients).where(
            t.patients.c.patient_id == patient_id)).first()
        if p is None:
            raise StoreError(f"unknown patient '{patient_id}': admit the patient first")
        if "time" not in values or values["time"] in (None, ""):
            raise InputError([Problem("time", "required",
                                      "required: an assessment needs a time")])
        new = {k: v for k, v in values.items() if k not in ("patient_id", "infusion_time")}
        new["patient_id"] = patient_id
        probe = grading.from_rows([{"patient_id": patient_id, "time": values["time"]}],
                                  tz=self.tz)
        at = probe.frame["time"].iat[0].to_pydatetime()
        a = t.assessments
        context: dict[datetime, dict[str, Any]] = {}
        for name in CONTEXT_FIELDS:  # the support in force before this row
            if new.get(name) not in (None, "") or values.get(name) is not None:
                continue
            prior = conn.execute(
                sa.select(a.c.assessed_at, a.c[name]).where(
                    a.c.patient_id == patient_id, a.c.assessed_at < at,
                    a.c[name].is_not(None), *_effective(a),
                    *([a.c.id != exclude] if exclude else []))
                .order_by(a.c.assessed_at.desc()).limit(1)).first()
            if prior is not None:
                context.setdefault(prior.assessed_at, {})[name] = prior[1]
        # context rows after the new row, so messages still say "row 1"
        rows = [new, *({"patient_id": patient_id, "time": when, **v}
                       for when, v in sorted(context.items()))]
        checked = grading.from_rows(rows, tz=self.tz)
        return {"patient_id": patient_id, "assessed_at": at, **_stored_values(checked, 0)}

    def _check_record_stays_valid(self, conn: sa.Connection, patient_id: str) -> None:
        """After a change that later rows may depend on (oxygen support, a back-dated or
        corrected row), the patient's whole effective record must still validate."""
        rows = self._timeline_rows(conn, patient_id)
        if not rows:
            return
        try:
            grading.from_rows(rows, tz=self.tz)
        except InputError as e:
            raise StoreError("this change would leave the patient's record inconsistent: "
                             + " | ".join(_renumbered(e.problems, rows)), e.problems) from None

    def history(self, patient_id: str) -> list[StoredAssessment]:
        """Every assessment row of a patient (originals, amendments, marks), by time."""
        a = t.assessments
        with self._read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(a).where(a.c.patient_id == patient_id)
                .order_by(a.c.assessed_at, a.c.id))]
        replaced = {r["replaces_id"] for r in rows if r["replaces_id"] is not None}
        in_error = {r["replaces_id"] for r in rows if r["status"] == "entered_in_error"}
        return [StoredAssessment(
            id=r["id"], patient_id=r["patient_id"], assessed_at=r["assessed_at"],
            recorded_at=r["recorded_at"], recorded_by=r["recorded_by"],
            status=("entered_in_error" if r["status"] == "entered_in_error"
                    or r["id"] in in_error
                    else "amended" if r["id"] in replaced else "final"),
            replaces_id=r["replaces_id"], reason=r["reason"],
            values={k: r[k] for k in CANONICAL_STORED}) for r in rows]

    def record_problems(self, patient_ids: Sequence[str] | None = None,
                        *, duplicates: bool = True) -> dict[str, list[str]]:
        """What is wrong with stored records that the database constraints of migration 0008
        now prevent but rows written before it may hold: two current assessments at one time,
        an assessment corrected twice. Patient id -> problems in the ward's words."""
        a = t.assessments
        out: dict[str, list[str]] = {}
        with self._read() as conn:
            if duplicates:
                for r in conn.execute(sa.select(a.c.patient_id, a.c.assessed_at,
                                                sa.func.count().label("n"))
                                      .where(*_effective(a), *_scope(a.c.patient_id, patient_ids))
                                      .group_by(a.c.patient_id, a.c.assessed_at)
                                      .having(sa.func.count() > 1)):
                    out.setdefault(r.patient_id, []).append(
                        f"{r.n} current assessments at {self._when(r.assessed_at)}")
            twice = (sa.select(a.c.patient_id, a.c.replaces_id)
                     .where(a.c.replaces_id.is_not(None), *_scope(a.c.patient_id, patient_ids))
                     .group_by(a.c.patient_id, a.c.replaces_id).having(sa.func.count() > 1))
            for r in conn.execute(twice):
                at = conn.execute(sa.select(a.c.assessed_at).where(a.c.id == r.replaces_id)
                                  ).scalar_one()
                out.setdefault(r.patient_id, []).append(
                    f"the assessment at {self._when(at)} was corrected twice at once")
        return out

    # ------------------------------------------------------------------ timeline
    def timeline_rows(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        """Effective canonical rows (design.md), by patient and time; medications derived."""
        with self._read() as conn:
            return self._timeline_rows(conn, patient_id)

    def _timeline_rows(self, conn: sa.Connection, patient_id: str | None
                       ) -> list[dict[str, Any]]:
        cols = self._timeline_columns(conn, patient_id)
        names = [k for k in cols if k != "id"]
        always = ("patient_id", "time", "infusion_time")
        return [{k: v for k, v in zip(names, values) if v is not None or k in always}
                for values in zip(*(cols[k] for k in names))]

    def _timeline_columns(self, conn: sa.Connection, patient_id: str | Sequence[str] | None
                          ) -> dict[str, list[Any]]:
        """The effective canonical rows as columns (patient, then time order), with the
        medication fields derived from administrations and attributions merged (W1, W3)."""
        a, p = t.assessments, t.patients
        fields = [a.c.id, a.c.patient_id, a.c.assessed_at.label("time"), p.c.infusion_time,
                  *(a.c[k] for k in CANONICAL_STORED)]
        q = (sa.select(*fields).join(p, p.c.patient_id == a.c.patient_id)
             .where(*_effective(a)).order_by(a.c.patient_id, a.c.assessed_at))
        q = q.where(*_scope(a.c.patient_id, patient_id))
        result = conn.execute(q)
        keys = list(result.keys())
        rows = result.all()
        cols: dict[str, list[Any]] = {k: list(v) for k, v in zip(keys, zip(*rows))} if rows \
            else {k: [] for k in keys}
        if not rows:
            return cols
        ids, pids, times = cols["id"], cols["patient_id"], cols["time"]
        span: dict[str, tuple[int, int]] = {}
        for i, pid in enumerate(pids):
            lo, _ = span.get(pid, (i, i))
            span[pid] = (lo, i + 1)
        # a dose counts on the first assessment at or after it (given since the previous row)
        for pid, doses in self._administrations(conn, patient_id).items():
            if pid not in span:
                continue
            lo, hi = span[pid]
            for when, field in doses:
                i = bisect.bisect_left(times, when, lo, hi)
                if i < hi:
                    cols[field][i] = True
        position = {assessment_id: i for i, assessment_id in enumerate(ids)}
        for assessment_id, extra in self._attributions(conn, patient_id).items():
            i = position.get(assessment_id)
            if i is None:
                continue
            have = set((cols["attributed_elsewhere"][i] or "none").split(";")) - {"none"}
            cols["attributed_elsewhere"][i] = ";".join(sorted(have | extra))
        return cols

    def timeline(self, patient_id: str) -> grading.Assessments:
        """The patient's effective timeline, validated, ready for ``grading.grade``."""
        a, _ = self.timelines([patient_id])
        if a is None:
            raise StoreError(f"patient '{patient_id}' has no assessments yet")
        return a

    def timelines(self, patient_ids: Sequence[str]
                  ) -> tuple[grading.Assessments | None, list[int]]:
        """The effective timelines of several patients in one read (patient, then time order),
        and the stored assessment id of every row; None when none of them has a row yet."""
        with self._read() as conn:
            cols = self._timeline_columns(conn, list(patient_ids))
        if not cols["id"]:
            return None, []
        arrays = {}
        for name in COLUMNS:
            f = FIELD_BY_NAME[name]
            values = cols[name]
            if f.kind == "time":
                arrays[name] = pa.chunked_array([pa.array(values, pa.timestamp("us", tz="UTC"))])
            elif f.kind in ("number", "integer"):
                arrays[name] = pa.chunked_array([pa.array(values, pa.float64())])
            elif f.kind == "boolean":
                arrays[name] = pa.chunked_array([pa.array(values, pa.bool_())])
            else:
                arrays[name] = pa.chunked_array([pa.array(values, pa.string())])
        return grading.parse.from_columns(arrays, self.tz), list(cols["id"])

    def claim_once(self, task: str, by: str = SYSTEM_USER) -> bool:
        """True for exactly one caller, ever, per ``task`` (a one-off data step after a
        migration): the claim is an audit entry, checked and written in one transaction that
        the database serialises (SQLite's write lock; a PostgreSQL advisory lock)."""
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": ONE_OFF_LOCK})
            log = t.audit_log
            if conn.execute(sa.select(log.c.id).where(
                    log.c.action == "run_once", log.c.entity == "task",
                    log.c.entity_id == task)).first() is not None:
                return False
            self._audit(conn, by, "run_once", "task", task, None)
            return True

    def data_version(self) -> int:
        """A number that grows with every write (the newest audit entry): screens re-read
        and re-grade only when it has changed."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.audit_log.c.id), 0))
                                    ).scalar_one())

    def _administrations(self, conn: sa.Connection, patient_id: str | Sequence[str] | None
                         ) -> dict[str, list[tuple[datetime, str]]]:
        m = t.administrations
        q = sa.select(m.c.patient_id, m.c.given_at, m.c.kind).where(
            *_effective(m), *_scope(m.c.patient_id, patient_id))
        out: dict[str, list[tuple[datetime, str]]] = {}
        for r in conn.execute(q):
            field = t.ADMINISTRATION_KINDS[r.kind][1]
            if field:
                out.setdefault(r.patient_id, []).append((r.given_at, field))
        return out

    def _attributions(self, conn: sa.Connection, patient_id: str | Sequence[str] | None
                      ) -> dict[int, set[str]]:
        x = t.attributions
        q = sa.select(x.c.assessment_id, x.c.finding).where(
            *_effective(x), *_scope(x.c.patient_id, patient_id))
        found = list(conn.execute(q))
        if not found:
            return {}
        a = t.assessments
        chain = dict(conn.execute(sa.select(a.c.replaces_id, a.c.id).where(
            a.c.replaces_id.is_not(None), *_scope(a.c.patient_id, patient_id))).all())
        out: dict[int, set[str]] = {}
        for r in found:
            target = r.assessment_id
            while target in chain:  # an amendment keeps the physician's attribution
                target = chain[target]
            out.setdefault(target, set()).add(r.finding)
        return out

    # ------------------------------------------------------------------ medications, labs
    def record_administration(self, patient_id: str, kind: str, given_at: datetime, by: str,
                              dose: float | None = None) -> int:
        return self.record_administrations(patient_id, [(kind, given_at, dose)], by)[0]

    def record_administrations(self, patient_id: str,
                               doses: Sequence[tuple[str, datetime, float | None]], by: str
                               ) -> list[int]:
        """Record medications and fluids given, (kind, given at, dose) each, in one
        transaction: every one or none. The unit is the kind's own (mg, or mL for fluids)."""
        for kind, given_at, dose in doses:
            if kind not in t.ADMINISTRATION_KINDS:
                raise StoreError("medication: not a kind the ward records; one of "
                                 + ", ".join(t.KIND_WORDS[k] for k in t.ADMINISTRATION_KINDS))
            if given_at.tzinfo is None:
                raise StoreError("given_at must be timezone-aware")
            _not_in_future("given_at", given_at, "a medication is recorded when it was given")
            if dose is not None and not dose > 0:
                raise StoreError("dose must be above 0")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for kind, given_at, dose in doses:
                row = {"patient_id": patient_id, "given_at": given_at, "kind": kind,
                       "dose": dose, "unit": t.ADMINISTRATION_KINDS[kind][0],
                       "recorded_at": now(), "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.administrations.insert().values(**row)
                                      ).inserted_primary_key[0]
                self._audit(conn, by, "record", "administration", new_id, patient_id, after=row)
                ids.append(int(new_id))
            return ids

    def record_lab(self, patient_id: str, test: str, value: float, unit: str,
                   taken_at: datetime, by: str) -> int:
        """Store a lab result, converted to its canonical unit (spec §6.3)."""
        return self.record_labs(patient_id, [(test, value, unit, taken_at)], by)[0]

    def record_labs(self, patient_id: str,
                    results: Sequence[tuple[str, float, str, datetime]], by: str) -> list[int]:
        """Store lab results, (test, value, unit, taken at) each, in one transaction: every
        one or none; each converted to its canonical unit (spec §6.3) and kept as entered."""
        for test, value, unit, taken_at in results:
            if test not in LAB_UNITS:
                raise StoreError("test must be one of " + ", ".join(LAB_UNITS))
            if unit not in LAB_UNITS[test][1]:
                raise StoreError(f"{test}: unit must be one of " + ", ".join(LAB_UNITS[test][1]))
            try:
                lab_units.check_value(test, value, unit)
            except lab_units.LabUnitError as e:
                raise StoreError(str(e)) from None
            if taken_at.tzinfo is None:
                raise StoreError("taken_at must be timezone-aware")
            _not_in_future("taken_at", taken_at, "a result is recorded at the time the "
                           "sample was taken")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            self._require_patient(conn, patient_id)
            ids = []
            for test, value, unit, taken_at in results:
                canonical, factors = LAB_UNITS[test]
                row = {"patient_id": patient_id, "taken_at": taken_at, "test": test,
                       "value": value * factors[unit], "unit": canonical,
                       "entered_value": value, "entered_unit": unit, "recorded_at": now(),
                       "recorded_by": by, "status": "final"}
                new_id = conn.execute(t.labs.insert().values(**row)).inserted_primary_key[0]
                self._audit(conn, by, "record", "lab", new_id, patient_id, after=row)
                ids.append(int(new_id))
            return ids

    def mark_medications_and_labs_entered_in_error(
            self, patient_id: str, reason: str, by: str) -> int:
        """Mark every current administration and lab result of a patient entered-in-error (a
        marking row each, audited; nothing deleted), as a demo reset needs. Returns how many."""
        if not reason or not reason.strip():
            raise StoreError("marking entered in error needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_writer(conn, by, patient_id)
            return self._mark_medications_and_labs(conn, patient_id, reason, by)

    def _mark_medications_and_labs(self, conn: sa.Connection, patient_id: str, reason: str,
                                   by: str) -> int:
        n = 0
        for table, entity in ((t.administrations, "administration"), (t.labs, "lab")):
            current = [dict(r._mapping) for r in conn.execute(sa.select(table).where(
                table.c.patient_id == patient_id, *_effective(table)))]
            for old in current:
                row = {k: v for k, v in old.items() if k not in ("id", "reason")}
                row |= {"replaces_id": old["id"], "recorded_at": now(), "recorded_by": by,
                        "status": "entered_in_error", "reason": reason}
                new_id = conn.execute(table.insert().values(**row)).inserted_primary_key[0]
                self._audit(conn, by, "entered_in_error", entity, old["id"], patient_id,
                            before=old, after=row | {"id": new_id})
                n += 1
        return n

    def labs(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.labs, patient_id, t.labs.c.taken_at)

    def _current_rows(self, table: sa.Table, patient_id: str, order: sa.Column[Any]
                      ) -> list[dict[str, Any]]:
        """A patient's current rows of an append-only table (final, not replaced)."""
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(table).where(table.c.patient_id == patient_id, *_effective(table))
                .order_by(order, table.c.id))]

    def attribute(self, assessment_id: int, finding: str, reason: str, by: str) -> int:
        """A physician's judgement that a finding on an assessment has another cause."""
        if finding not in FIELD_BY_NAME["attributed_elsewhere"].values:
            raise StoreError("finding must be one of fever, hypotension, hypoxia, neuro")
        if not reason or not reason.strip():
            raise StoreError("an attribution needs a reason")
        _bounded(("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by, ("physician",))
            old = self._current(conn, assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "finding": finding, "reason": reason, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.attributions.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "attribute", "attribution", new_id, old["patient_id"],
                        after=row)
            return int(new_id)

    def confirm_grade(self, assessment_id: int, syndrome: str, grade: int, by: str,
                      note: str | None = None) -> int:
        """A physician confirms (or sets) the CRS or ICANS grade at an assessment."""
        if syndrome not in ("crs", "icans") or grade not in range(6):
            raise StoreError("syndrome must be crs or icans and grade 0-5")
        _bounded(("confirmation_note", note))
        with self._write() as conn:
            self._lock_for_rows(conn, t.assessments, [assessment_id])
            self._check_user(conn, by, ("physician",))
            old = self._current(conn, assessment_id)
            row = {"patient_id": old["patient_id"], "assessment_id": assessment_id,
                   "syndrome": syndrome, "grade": grade, "note": note, "recorded_at": now(),
                   "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.grade_confirmations.insert().values(**row)
                                  ).inserted_primary_key[0]
            self._audit(conn, by, "confirm", "grade", new_id, old["patient_id"], after=row)
            return int(new_id)

    def confirmations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.grade_confirmations, patient_id, t.grade_confirmations.c.id)

    def add_note(self, patient_id: str, text: str, by: str, at: datetime | None = None) -> int:
        """A physician's note on the course; audited, never edited."""
        if not text or not text.strip():
            raise StoreError("a note needs some text")
        _bounded(("note", text.strip()))
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._check_user(conn, by, ("physician",))
            self._require_patient(conn, patient_id)
            stamp = now()
            row = {"patient_id": patient_id, "written_at": at or stamp, "text": text.strip(),
                   "recorded_at": stamp, "recorded_by": by, "status": "final"}
            new_id = conn.execute(t.notes.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "note", "note", new_id, patient_id, after=row)
            return int(new_id)

    def notes(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.notes, patient_id, t.notes.c.written_at)

    def administrations(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.administrations, patient_id, t.administrations.c.given_at)

    def attributions(self, patient_id: str) -> list[dict[str, Any]]:
        return self._current_rows(t.attributions, patient_id, t.attributions.c.id)

    def raise_flag(self, patient_id: str, code: str, severity: str, message: str,
                   raised_at: datetime, by: str = SYSTEM_USER, assessment_id: int | None = None,
                   respond: str | None = None) -> int:
        if severity not in ("info", "review", "urgent", "emergency"):
            raise StoreError("severity must be info, review, urgent or emergency")
        with self._write() as conn:
            self._lock_patients(conn, [patient_id])
            self._require_patient(conn, patient_id)
            row = {"patient_id": patient_id, "assessment_id": assessment_id, "code": code,
                   "severity": severity, "message": message, "raised_at": raised_at,
                   "respond": respond, "recorded_at": now(), "recorded_by": by,
                   "status": "final"}
            new_id = conn.execute(t.flags.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "raise", "flag", new_id, patient_id, after=row)
            return int(new_id)

    def acknowledge_flag(self, flag_id: int, action: str, by: str, dismiss: bool = False,
                         reason: str | None = None) -> int:
        """Acknowledge a flag with the action taken; dismissing needs a reason."""
        if not action or not action.strip():
            raise StoreError("say what was done (action taken)")
        if dismiss and not (reason and reason.strip()):
            raise StoreError("dismissing a flag needs a reason")
        _bounded(("action", action), ("reason", reason))
        with self._write() as conn:
            self._lock_for_rows(conn, t.flags, [flag_id])
            self._check_user(conn, by, ("nurse", "physician", "admin"))
            return self._acknowledge(conn, flag_id, action, by, dismiss, reason)

    def _acknowledge(self, conn: sa.Connection, flag_id: int, action: str, by: str,
                     dismiss: bool, reason: str | None) -> int:
        flag = conn.execute(sa.select(t.flags).where(t.flags.c.id == flag_id)).first()
        if flag is None:
            raise StoreError(f"no flag {flag_id}")
        done = conn.execute(sa.select(t.flag_acknowledgements.c.recorded_by).where(
            t.flag_acknowledgements.c.flag_id == flag_id)).first()
        if done is not None:  # two workstations at once: the patient's lock orders them
            raise StoreError(f"this flag was already acknowledged by {done.recorded_by}: "
                             "reload to see what was done")
        row = {"flag_id": flag_id, "action": action, "dismissed": dismiss, "reason": reason,
               "recorded_at": now(), "recorded_by": by, "status": "final"}
        new_id = conn.execute(t.flag_acknowledgements.insert().values(**row)
                              ).inserted_primary_key[0]
        self._audit(conn, by, "dismiss" if dismiss else "acknowledge", "flag", flag_id,
                    flag.patient_id, after=row)
        return int(new_id)

    def withdraw_flag(self, flag_id: int, reason: str, by: str = SYSTEM_USER) -> int:
        """Withdraw an unacknowledged flag whose condition a correction or a back-dated entry
        has made untrue: a new row marks it (nothing deleted, audited)."""
        with self._write() as conn:
            self._lock_for_rows(conn, t.flags, [flag_id])
            f = conn.execute(sa.select(t.flags).where(t.flags.c.id == flag_id)).first()
            if f is None:
                raise StoreError(f"no flag {flag_id}")
            if conn.execute(sa.select(t.flag_acknowledgements.c.id).where(
                    t.flag_acknowledgements.c.flag_id == flag_id)).first() is not None:
                raise StoreError("an acknowledged flag stays as it is")
            row = {k: f._mapping[k] for k in ("patient_id", "assessment_id", "code",
                                               "severity", "message", "raised_at", "respond")}
            row |= {"replaces_id": flag_id, "recorded_at": now(), "recorded_by": by,
                    "status": "entered_in_error", "reason": reason}
            new_id = conn.execute(t.flags.insert().values(**row)).inserted_primary_key[0]
            self._audit(conn, by, "withdraw", "flag", flag_id, f.patient_id, after=row)
            return int(new_id)

    def flags(self, patient_id: str) -> list[dict[str, Any]]:
        """Every current flag of a patient (open and acknowledged), oldest first, with its
        acknowledgement (who, when, action, dismissed, reason) when there is one."""
        f, k = t.flags, t.flag_acknowledgements
        q = (sa.select(f, k.c.action.label("ack_action"), k.c.dismissed.label("ack_dismissed"),
                       k.c.reason.label("ack_reason"), k.c.recorded_by.label("ack_by"),
                       k.c.recorded_at.label("ack_at"))
             .outerjoin(k, k.c.flag_id == f.c.id)
             .where(f.c.patient_id == patient_id, *_effective(f))
             .order_by(f.c.raised_at, f.c.id))
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def open_flags(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        """Flags without an acknowledgement yet."""
        f, k = t.flags, t.flag_acknowledgements
        q = sa.select(f).where(*_effective(f), ~sa.exists().where(k.c.flag_id == f.c.id)) \
            .order_by(f.c.raised_at)
        if patient_id is not None:
            q = q.where(f.c.patient_id == patient_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def _require_patient(self, conn: sa.Connection, patient_id: str) -> None:
        if conn.execute(sa.select(t.patients.c.patient_id).where(
                t.patients.c.patient_id == patient_id)).first() is None:
            raise StoreError(f"unknown patient '{patient_id}'")

    # ------------------------------------------------------------------ teaching library
    def save_teaching_case(self, case_id: str, title: str, card: str, timeline: str,
                           by: str, reason: str | None = None) -> int:
        """Save a case an educator built to the teaching library: a new version replaces the
        current one (kept, with who and when); nothing is deleted. ``card`` is the case card
        as JSON text and ``timeline`` the canonical CSV, both in the sample_data format."""
        if not title or not title.strip():
            raise StoreError("a teaching case needs a title")
        _bounded(("case_title", title.strip()), ("reason", reason))
        with self._write() as conn:
            self._check_user(conn, by, ("educator", "admin"))
            current = conn.execute(sa.select(t.teaching_cases.c.id).where(
                t.teaching_cases.c.case_id == case_id, *_effective(t.teaching_cases))).first()
            row = {"case_id": case_id, "title": title.strip(), "card": card,
                   "timeline": timeline, "replaces_id": None if current is None else current.id,
                   "recorded_at": now(), "recorded_by": by, "status": "final",
                   "reason": reason}
            try:
                # the database holds one current version (migration 0010)
                new_id = conn.execute(t.teaching_cases.insert().values(**row)
                                      ).inserted_primary_key[0]
            except sa.exc.IntegrityError as e:
                if not any(k in str(e.orig) for k in _CASE_VERSION_MARKERS):
                    raise
                raise ConcurrentChangeError(
                    f"someone else saved teaching case '{case_id}' a moment ago, so this "
                    "version was not saved: reload the library, check their version and save "
                    "yours again if it is still needed") from None
            self._audit(conn, by, "save" if current is None else "new_version",
                        "teaching_case", new_id, None,
                        after={k: v for k, v in row.items() if k not in ("card", "timeline")})
            return int(new_id)

    def teaching_cases(self) -> list[dict[str, Any]]:
        """The current version of every saved teaching case, by case id."""
        c = t.teaching_cases
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(c).where(*_effective(c)).order_by(c.c.case_id))]

    def teaching_case_versions(self, case_id: str) -> list[dict[str, Any]]:
        """Every saved version of one teaching case, oldest first."""
        c = t.teaching_cases
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(c).where(c.c.case_id == case_id).order_by(c.c.id))]

    # ------------------------------------------------------------------ audit
    def audit(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(t.audit_log).order_by(t.audit_log.c.id)
        if patient_id is not None:
            q = q.where(t.audit_log.c.patient_id == patient_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # ------------------------------------------------------------------ import / export
    def import_csv(self, source: str | Path | bytes, by: str, *, demo: bool = False,
                   progress: Callable[[int, int], None] | None = None,
                   chunk: int = 5000) -> int:
        """Import a canonical CSV atomically: every row or none. Patients not yet known are
        created. Raises ``InputError`` listing every problem (as the grading CLI does)."""
        a = self._read_import(source)
        n = len(a)
        cols = _stored_columns(a)
        times = a.columns["time"].view("datetime64[ns]").astype("datetime64[us]").tolist()
        pids = [a.patients[c] for c in a.columns["patient_id"]]
        infusion = a.columns["infusion_time"]
        stamp = now()
        with self._write() as conn:
            self._lock_patients(conn, a.patients)
            # an educator imports synthetic demo patients only (a teaching case; T5)
            role = self._check_user(conn, by, ("nurse", "physician", "admin",
                                               *(("educator",) if demo else ())))
            found = conn.execute(sa.select(t.patients.c.patient_id, t.patients.c.infusion_time,
                                           t.patients.c.is_demo).where(
                t.patients.c.patient_id.in_(a.patients))).all()
            real = sorted(r.patient_id for r in found if not r.is_demo)
            if role == "educator" and real:
                raise StoreError(f"user '{by}' (educator) may not import for "
                                 + ", ".join(real) + ": an educator charts for synthetic demo "
                                 "patients only")
            known = {r.patient_id: r.infusion_time for r in found}
            problems, follows = self._import_conflicts(conn, a, known, pids, times)
            if problems:
                raise InputError(problems)
            for code, pid in enumerate(a.patients):
                if pid in known:
                    continue
                rows_of = np.flatnonzero(a.columns["patient_id"] == code)
                inf = infusion[rows_of]
                inf = inf[inf != grading.parse.NAT]
                self._admit(conn, PatientIn(
                    patient_id=pid, is_demo=demo,
                    infusion_time=_utc(int(inf[0])) if len(inf) else None), by)
            done = 0
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                batch = [{"patient_id": pids[i], "assessed_at": times[i].replace(tzinfo=UTC),
                          "recorded_at": stamp, "recorded_by": by, "status": "final",
                          "replaces_id": None, "reason": None, "source": "import",
                          "follows_id": follows.get((pids[i], times[i].replace(tzinfo=UTC)), 0),
                          **{k: v[i] for k, v in cols.items()}} for i in range(lo, hi)]
                ids = self._reserve_ids(conn, hi - lo)
                for i, b in zip(ids, batch):
                    b["id"] = i
                try:
                    _bulk_insert(conn, t.assessments, batch)
                except (sa.exc.IntegrityError, conn.dialect.dbapi.IntegrityError) as e:
                    if not any(k in str(getattr(e, "orig", e)) for k in _CONCURRENT_MARKERS):
                        raise
                    raise ConcurrentChangeError(
                        "another user saved an assessment at a time this file also has, while "
                        "it was being imported: nothing was imported; import the file again "
                        "to see which rows clash") from None
                _bulk_insert(conn, t.audit_log, [
                    {"at": stamp, "username": by, "action": "import", "entity": "assessment",
                     "entity_id": str(i), "patient_id": b["patient_id"], "before": None,
                     "after": _json(_public(b | {"id": i}))} for i, b in zip(ids, batch)])
                done = hi
                if progress:
                    progress(done, n)
        return n

    def _reserve_ids(self, conn: sa.Connection, k: int) -> list[int]:
        """Ids for ``k`` new assessments, so a batch inserts without RETURNING (which makes
        SQLite insert row by row). SQLite: this transaction holds the write lock."""
        if conn.dialect.name == "postgresql":
            return list(conn.execute(sa.text(
                "SELECT nextval(pg_get_serial_sequence('assessments', 'id')) "
                "FROM generate_series(1, :k)"), {"k": k}).scalars())
        top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.assessments.c.id), 0))
                           ).scalar_one()
        return list(range(top + 1, top + 1 + k))

    def _read_import(self, source: str | Path | bytes) -> grading.Assessments:
        """Validate an import file. When it fails, check again with the oxygen device already
        in force in the record for patients it continues (a flow may rely on it, as on the
        form); the context rows go after the file's rows, so row numbers stay the file's."""
        try:
            return grading.read_csv(source, tz=self.tz)
        except InputError as first:
            data = Path(source).read_bytes() if not isinstance(source, bytes) else source
            try:
                rows = _csv_rows(data)
                for r in rows:  # undo the export's formula prefix, as read_csv does
                    if isinstance(r.get("patient_id"), str):
                        r["patient_id"] = csvsafe.restore(r["patient_id"])
                keys = grading.from_rows([{"patient_id": r.get("patient_id", ""),
                                           "time": r.get("time", "")} for r in rows], tz=self.tz)
            except (InputError, UnicodeDecodeError, csv.Error, ValueError):
                raise first from None
            context = self._device_context(keys)
            if not context:
                raise
            combined = grading.from_rows(rows + context, tz=self.tz)
            n = len(rows)
            cols = {k: v[:n] for k, v in combined.columns.items()}
            return grading.Assessments(cols, combined.patients, combined.tz,
                                       PatientOrder.of(cols["patient_id"], cols["time"]),
                                       {r: f for r, f in combined.soft_flags.items() if r < n})

    def _device_context(self, keys: grading.Assessments) -> list[dict[str, Any]]:
        """The oxygen device and vasopressors in force in the record before each patient's
        first imported row (``CONTEXT_FIELDS``), as context rows."""
        a = t.assessments
        out = []
        codes, times = keys.columns["patient_id"], keys.columns["time"]
        with self._read() as conn:
            for code, pid in enumerate(keys.patients):
                first = _utc(int(times[codes == code].min()))
                context: dict[datetime, dict[str, Any]] = {}
                for name in CONTEXT_FIELDS:
                    prior = conn.execute(sa.select(a.c.assessed_at, a.c[name]).where(
                        a.c.patient_id == pid, a.c.assessed_at < first, a.c[name].is_not(None),
                        *_effective(a)).order_by(a.c.assessed_at.desc()).limit(1)).first()
                    if prior is not None:
                        context.setdefault(prior.assessed_at, {})[name] = prior[1]
                out += [{"patient_id": pid, "time": when, **v}
                        for when, v in sorted(context.items())]
        return out

    def _import_conflicts(self, conn: sa.Connection, a: grading.Assessments,
                          known: dict[str, datetime | None], pids: list[str],
                          times: list[datetime]
                          ) -> tuple[list[Problem], dict[tuple[str, datetime], int]]:
        """Every row the record refuses, and the newest stored row at each patient and time
        already in use (``follows_id`` of the imported row there), read in one statement."""
        problems = []
        follows: dict[tuple[str, datetime], int] = {}
        infusion = a.columns["infusion_time"]
        for r in range(len(a)):
            inf = infusion[r]
            stored = known.get(pids[r])
            if inf != grading.parse.NAT and stored is not None and _utc(int(inf)) != stored:
                problems.append(Problem("infusion_time", "cross_field", "differs from the "
                                        f"infusion time on record for {pids[r]} "
                                        f"({stored.isoformat()})", row=r + 1))
        if known:
            at = t.assessments
            deaths = dict(conn.execute(sa.select(at.c.patient_id, sa.func.min(at.c.assessed_at))
                                       .where(at.c.patient_id.in_(list(known)),
                                              at.c.died_of.is_not(None), *_effective(at))
                                       .group_by(at.c.patient_id)).all())
            for r in range(len(a)):
                died = deaths.get(pids[r])
                if died is not None and times[r].replace(tzinfo=UTC) > died:
                    problems.append(Problem("time", "after_death", f"patient {pids[r]} has a "
                                            f"death recorded at {died.isoformat()} in the ward "
                                            "record", row=r + 1, value=times[r].isoformat()))
            newer = at.alias("newer")
            existing = set()
            for r in conn.execute(sa.select(
                    at.c.patient_id, at.c.assessed_at, at.c.id, at.c.status,
                    sa.exists().where(newer.c.replaces_id == at.c.id).label("done"))
                    .where(at.c.patient_id.in_(list(known)))):
                slot = (r.patient_id, r.assessed_at)
                follows[slot] = max(follows.get(slot, 0), int(r.id))
                if r.status == "final" and not r.done:
                    existing.add(slot)
            for r in range(len(a)):
                if (pids[r], times[r].replace(tzinfo=UTC)) in existing:
                    problems.append(Problem("time", "duplicate_time", f"patient {pids[r]} "
                                            "already has an assessment at this time in the ward "
                                            "record", row=r + 1, value=times[r].isoformat()))
        return problems, follows

    def export_csv(self, patient_id: str | None = None) -> str:
        """The effective timeline as canonical CSV (all columns; times with their offset)."""
        buf = io.StringIO()
        w = csvsafe.writer(buf)  # formula-safe cells (docs/security.md)
        w.writerow(COLUMNS)
        for row in self.timeline_rows(patient_id):
            w.writerow([_text(name, row.get(name), self.tz) for name in COLUMNS])
        return buf.getvalue()


# ---------------------------------------------------------------------- helpers
def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a file ``grading.read_csv`` has read, as mappings of their non-blank cells
    (line endings as it reads them). A row with more or fewer cells raises ``ValueError``."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        if None in r or None in r.values():
            raise ValueError("a row with more or fewer cells than the header")
        rows.append({k.strip(): v for k, v in r.items() if v != ""})
    return rows


# How the database says another educator saved a version of the case first (migration 0010).
_CASE_VERSION_MARKERS = ("ux_teaching_cases_replaces", "ux_teaching_cases_first",
                         "teaching_cases.replaces_id", "teaching_cases.case_id")
# How the database says another writer's row landed first (migration 0008's triggers and
# unique indexes, as PostgreSQL and SQLite word them).
_CONCURRENT_MARKERS = ("assessment_slot_taken", "assessment_already_corrected",
                       "ux_assessments_slot", "ux_assessments_replaces",
                       "assessments.follows_id", "assessments.replaces_id")


def _bounded(*pairs: tuple[str, str | None]) -> None:
    """Refuse text longer than its limit (monitoring/limits.py), naming the field."""
    found = limits.problems(pairs)
    if found:
        raise StoreError(limits.refusal(found), found)


def _unique_violation(e: sa.exc.IntegrityError) -> bool:
    """The database refused a row because its key is taken (PostgreSQL SQLSTATE 23505,
    SQLite "UNIQUE constraint failed")."""
    return getattr(e.orig, "sqlstate", None) == "23505" \
        or "UNIQUE constraint failed" in str(e.orig)


def _window_start(at: datetime, window: timedelta) -> datetime:
    """The start of the fixed throttle window holding ``at`` (windows counted from 1970)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + window * ((at - epoch) // window)


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


def _not_in_future(field: str, at: datetime, why: str) -> None:
    """Medications and lab results, like assessments (decision T11, bedside entry), are
    charted for a time that has happened: any time up to now, never later."""
    current = now()
    if at > current:
        raise StoreError(f"{field} {at.isoformat(timespec='minutes')} is in the future: {why} "
                         f"(allowed: any time up to now, "
                         f"{current.isoformat(timespec='minutes')})")


def _effective(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """Rows that are the current version: final and not replaced by a later row."""
    newer = table.alias("newer")
    return [table.c.status == "final",
            ~sa.exists().where(newer.c.replaces_id == table.c.id)]


SUPPORT_FIELDS = ("o2_device", "o2_flow_l_min", "fio2_pct")
# Ongoing support a later row's values may rely on (a flow on the device, a dose on its agent).
CONTEXT_FIELDS = ("o2_device", "vasopressors")


def _scope(column: sa.Column[Any], patient_id: str | Sequence[str] | None
           ) -> list[sa.ColumnElement[bool]]:
    """Where-clauses for one patient, a list of patients, or everyone (None)."""
    if patient_id is None:
        return []
    if isinstance(patient_id, str):
        return [column == patient_id]
    return [column.in_(list(patient_id))]


def _bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in this transaction: PostgreSQL's COPY, else executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])  # datetimes are timezone-aware already (UtcDateTime's rule)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
            f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row([r[n] for n in names])


def _touches_support(row: Mapping[str, Any]) -> bool:
    return any(row.get(f) is not None for f in SUPPORT_FIELDS)


def _renumbered(problems: list[Problem], rows: list[dict[str, Any]]) -> list[str]:
    """Name record rows by patient and time rather than by position."""
    out = []
    for p in problems:
        line = str(p)
        if p.where is None and p.row is not None and 0 < p.row <= len(rows):
            r = rows[p.row - 1]
            line = f"{r['patient_id']} at {r['time'].isoformat()}, " + str(replace(p, row=None))
        out.append(line)
    return out


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC).replace(microsecond=(ns // 1000) % 1_000_000)


def _stored_columns(a: grading.Assessments) -> dict[str, list[Any]]:
    """Typed canonical columns -> lists of database values (None for blank)."""
    out: dict[str, list[Any]] = {}
    for name in CANONICAL_STORED:
        f = FIELD_BY_NAME[name]
        x = a.columns[name]
        if f.kind == "number":
            out[name] = [None if v != v else v for v in x.tolist()]
        elif f.kind == "integer":
            out[name] = [None if v != v else int(v) for v in x.tolist()]
        elif f.kind == "boolean":
            out[name] = [None if v < 0 else bool(v) for v in x.tolist()]
        elif f.kind == "choice":
            table = [*f.values, None]
            out[name] = [table[v] for v in x.tolist()]
        else:
            cache: dict[int, str | None] = {}
            out[name] = [cache.setdefault(v, _choices_text(f, v)) for v in x.tolist()]
    return out


def _choices_text(f: Any, mask: int) -> str | None:
    if mask < 0:
        return None
    if mask == 0:
        return f.empty_value
    return ";".join(v for i, v in enumerate(f.values) if mask >> i & 1)


def _stored_values(a: grading.Assessments, row: int) -> dict[str, Any]:
    return {k: v[row] for k, v in _stored_columns(a).items()}


def _text(name: str, v: Any, tz: ZoneInfo) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(tz).isoformat()
    if isinstance(v, float):
        return repr(v)  # every digit: an export re-imports to the same value
    return str(v)


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _json(v: object) -> str | None:
    if v is None:
        return None
    return json.dumps(v, default=lambda x: x.isoformat() if hasattr(x, "isoformat") else str(x),
                      sort_keys=True, ensure_ascii=False)


def progress_to_stderr(done: int, total: int) -> None:
    print(f"imported {done:,} of {total:,} rows", file=sys.stderr)
