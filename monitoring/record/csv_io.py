"""Import and export in the canonical CSV format (design.md), beside the record."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

import grading
from grading import csvsafe
from grading.fields import COLUMNS
from grading.parse import InputError, Problem

from .. import tables as t
from .checks import educator_imports_demo_only
from .model import (
    CONTEXT_FIELDS,
    ConcurrentChangeError,
    PatientIn,
    StoreError,
    _import_problems,
    _json,
    _public,
    _stored_columns,
    _text,
    _utc,
    now,
    read_import,
)
from .sql import (
    _CONCURRENT_MARKERS,
    Repository,
    _bulk_insert,
    _effective,
    _unique_violation,
)


class CsvRecord(Repository):
    """Atomic canonical CSV import; export of the effective timeline."""

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
            educator_imports_demo_only(role, by, real)
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
                try:
                    with conn.begin_nested():  # (PostgreSQL: the refusal ends only this part)
                        self.uow.patients._admit(conn, PatientIn(
                            patient_id=pid, is_demo=demo,
                            infusion_time=_utc(int(inf[0])) if len(inf) else None), by)
                except (sa.exc.IntegrityError, StoreError) as e:
                    if isinstance(e, sa.exc.IntegrityError) and not _unique_violation(e):
                        raise
                    # admitted by another user (or another import) since the check above: the
                    # key refused it, or _admit's own check saw it
                    raise ConcurrentChangeError(
                        f"patient {pid} was admitted by another user while this file was being "
                        "imported: nothing was imported; import the file again") from None
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
        return read_import(source, self.tz, self._device_context)

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
        problems: list[Problem] = []
        follows: dict[tuple[str, datetime], int] = {}
        infusion = a.columns["infusion_time"]
        for r in range(len(a)):
            inf = infusion[r]
            stored = known.get(pids[r])
            if inf != grading.parse.NAT and stored is not None and _utc(int(inf)) != stored:
                problems += _import_problems(r, pids[r], times[r], stored, True, None, False)
        if known:
            at = t.assessments
            deaths = dict(conn.execute(sa.select(at.c.patient_id, sa.func.min(at.c.assessed_at))
                                       .where(at.c.patient_id.in_(list(known)),
                                              at.c.died_of.is_not(None), *_effective(at))
                                       .group_by(at.c.patient_id)).all())
            for r in range(len(a)):
                died = deaths.get(pids[r])
                if died is not None and times[r].replace(tzinfo=UTC) > died:
                    problems += _import_problems(r, pids[r], times[r], None, False, died, False)
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
                    problems += _import_problems(r, pids[r], times[r], None, False, None, True)
        return problems, follows

    def export_csv(self, patient_id: str | None = None) -> str:
        """The effective timeline as canonical CSV (all columns; times with their offset)."""
        buf = io.StringIO()
        w = csvsafe.writer(buf)  # formula-safe cells (docs/security.md)
        w.writerow(COLUMNS)
        for row in self.uow.timeline.timeline_rows(patient_id):
            w.writerow([_text(name, row.get(name), self.tz) for name in COLUMNS])
        return buf.getvalue()
