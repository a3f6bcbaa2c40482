"""The teaching library: versions of the cases educators build."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import tables as t
from .model import (
    ConcurrentChangeError,
    StoreError,
    _bounded,
    now,
)
from .sql import (
    _CASE_VERSION_MARKERS,
    Repository,
    _effective,
)


class TeachingRecord(Repository):
    """Teaching cases, versioned (migration 0010)."""

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
