"""The effective timeline: the current canonical rows, with medications and
attributions merged, as rows or as ``grading.Assessments``."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import grading

from .. import tables as t
from .model import (
    CANONICAL_STORED,
    StoreError,
    apply_attribution_periods,
    assessments_from_columns,
)
from .sql import (
    Repository,
    _effective,
    _scope,
)


class TimelineRecord(Repository):
    """Reads of the effective canonical rows (design.md)."""

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
        x = t.attribution_periods
        apply_attribution_periods(cols, span, [tuple(r) for r in conn.execute(
            sa.select(x.c.patient_id, x.c.finding, x.c.starts_at, x.c.ends_at).where(
                *_effective(x), *_scope(x.c.patient_id, patient_id)))])
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
        return assessments_from_columns(cols, self.tz), list(cols["id"])


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
