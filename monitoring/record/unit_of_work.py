"""The SQL unit of work: the engine, one write transaction per thread that every
repository call joins, the patient locks (``locked``), and the repositories."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from grading.parse import ward_zone

from .. import tables as t
from ..db import (
    DatabaseUnavailableError,
    check_integrity,
    check_sqlite_file,
    describe,
    make_engine,
    migrate,
)
from .assessments import AssessmentRecord
from .audit import AuditRecord
from .csv_io import CsvRecord
from .fhir import FhirRecord
from .flags import FlagRecord
from .icu import IcuRecord
from .judgements import JudgementRecord
from .model import (
    SYSTEM_USER,
    now,
)
from .patients import PatientRecord
from .teaching import TeachingRecord
from .timeline import TimelineRecord
from .treatments import TreatmentRecord
from .users import UserRecord


class SqlUnitOfWork:
    """The ward database (SQLite file by default, or ``DATABASE_URL``): its engine, the
    transaction this thread has open, the patient locks, and one repository per concern."""

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
        self._repositories()
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


    def _repositories(self) -> None:
        self.users = UserRecord(self)
        self.patients = PatientRecord(self)
        self.assessments = AssessmentRecord(self)
        self.timeline = TimelineRecord(self)
        self.treatments = TreatmentRecord(self)
        self.icu = IcuRecord(self)
        self.judgements = JudgementRecord(self)
        self.flags = FlagRecord(self)
        self.teaching = TeachingRecord(self)
        self.audit = AuditRecord(self)
        self.csv = CsvRecord(self)
        self.fhir = FhirRecord(self)

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
