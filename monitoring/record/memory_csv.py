"""CSV import and export of ``MemoryUnitOfWork`` (the in-memory record), answering and refusing
as ``monitoring/record/csv_io.py`` does over SQL."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import grading
from grading import csvsafe
from grading.fields import COLUMNS
from grading.parse import InputError, Problem

from .checks import educator_imports_demo_only
from .memory import MemoryRepository
from .model import (
    CONTEXT_FIELDS,
    PatientIn,
    _import_problems,
    _public,
    _stored_columns,
    _text,
    _utc,
    now,
    read_import,
)


class MemoryCsv(MemoryRepository):
    """Atomic canonical CSV import; export of the effective timeline."""

    def import_csv(self, source: str | Path | bytes, by: str, *, demo: bool = False,
                   progress: Callable[[int, int], None] | None = None,
                   chunk: int = 5000) -> int:
        a = read_import(source, self.tz, self._device_context)
        n = len(a)
        cols = _stored_columns(a)
        times = a.columns["time"].view("datetime64[ns]").astype("datetime64[us]").tolist()
        pids = [a.patients[c] for c in a.columns["patient_id"]]
        infusion = a.columns["infusion_time"]
        stamp = now()
        with self.uow._write():
            role = self._check_user(by, ("nurse", "physician", "admin",
                                         *(("educator",) if demo else ())))
            found = [p for p in self.uow.tables["patients"] if p["patient_id"] in a.patients]
            real = sorted(p["patient_id"] for p in found if not p["is_demo"])
            educator_imports_demo_only(role, by, real)
            known = {p["patient_id"]: p["infusion_time"] for p in found}
            problems = self._conflicts(a, known, pids, times)
            if problems:
                raise InputError(problems)
            for code, pid in enumerate(a.patients):
                if pid in known:
                    continue
                inf = infusion[np.flatnonzero(a.columns["patient_id"] == code)]
                inf = inf[inf != grading.parse.NAT]
                self.uow.patients._admit(PatientIn(
                    patient_id=pid, is_demo=demo,
                    infusion_time=_utc(int(inf[0])) if len(inf) else None), by)
            for i in range(n):
                at = times[i].replace(tzinfo=UTC)
                follows, _ = self.uow.assessments._slot(pids[i], at)
                row = {"patient_id": pids[i], "assessed_at": at, "recorded_at": stamp,
                       "recorded_by": by, "status": "final", "replaces_id": None,
                       "reason": None, "source": "import", "follows_id": follows,
                       **{k: v[i] for k, v in cols.items()}}
                new_id = self.uow.insert("assessments", row)
                self._audit(by, "import", "assessment", new_id, pids[i], at=stamp,
                            after=_public(row | {"id": new_id}))
            if progress:
                progress(n, n)
        return n

    def _device_context(self, keys: grading.Assessments) -> list[dict[str, Any]]:
        out = []
        codes, times = keys.columns["patient_id"], keys.columns["time"]
        for code, pid in enumerate(keys.patients):
            first = _utc(int(times[codes == code].min()))
            before = sorted((r for r in self.uow.effective("assessments")
                             if r["patient_id"] == pid and r["assessed_at"] < first),
                            key=lambda r: r["assessed_at"])
            context: dict[datetime, dict[str, Any]] = {}
            for name in CONTEXT_FIELDS:
                prior = [r for r in before if r[name] is not None]
                if prior:
                    context.setdefault(prior[-1]["assessed_at"], {})[name] = prior[-1][name]
            out += [{"patient_id": pid, "time": when, **v} for when, v in sorted(context.items())]
        return out

    def _conflicts(self, a: grading.Assessments, known: dict[str, datetime | None],
                   pids: list[str], times: list[datetime]) -> list[Problem]:
        problems: list[Problem] = []
        infusion = a.columns["infusion_time"]
        current = self.uow.effective("assessments")
        deaths: dict[str, datetime] = {}
        for r in current:
            if r["died_of"] is not None and r["patient_id"] in known:
                deaths[r["patient_id"]] = min(deaths.get(r["patient_id"], r["assessed_at"]),
                                              r["assessed_at"])
        taken = {(r["patient_id"], r["assessed_at"]) for r in current}
        for r in range(len(a)):
            at, stored = times[r].replace(tzinfo=UTC), known.get(pids[r])
            inf = infusion[r]
            died = deaths.get(pids[r])
            problems += _import_problems(
                r, pids[r], times[r], stored,
                inf != grading.parse.NAT and stored is not None and _utc(int(inf)) != stored,
                died if died is not None and at > died else None, (pids[r], at) in taken)
        return sorted(problems, key=lambda p: (p.field != "infusion_time",
                                               p.code != "after_death"))

    def export_csv(self, patient_id: str | None = None) -> str:
        buf = io.StringIO()
        w = csvsafe.writer(buf)  # formula-safe cells (docs/security.md)
        w.writerow(COLUMNS)
        for row in self.uow.timeline.timeline_rows(patient_id):
            w.writerow([_text(name, row.get(name), self.tz) for name in COLUMNS])
        return buf.getvalue()
