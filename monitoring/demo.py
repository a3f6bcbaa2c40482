"""The demo ward: synthetic cases from the teaching library (never real patients).

The standard demo ward is the cases listed in ``sample_data/demo_ward.json``; the other library
cases are loaded on demand (``monitoring.library.load_case``). Loading is ordinary imports under
the ``system`` user, moved forward by whole days so that each case ends within the last day - a
demo ward that looks like today's ward, with the clock times, days after infusion and grades of
the case unchanged. Resetting never deletes: every effective demo assessment, medication and lab
result is marked entered-in-error (reason "demo ward reset"), open demo flags are closed with that
reason, cases outside the standard ward are discharged, and the standard cases are loaded again,
so the audit trail shows all of it.

Demo accounts (``DEMO_ACCOUNTS``) are created only by ``ensure_demo_ward``, which the app calls
only on the embedded SQLite default - never on a ward database chosen with ``DATABASE_URL``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from . import library
from .store import SYSTEM_USER, WardStore, now

SAMPLE_DATA = library.SAMPLE_DATA
MANIFEST = SAMPLE_DATA / "demo_ward.json"
DEMO_PASSWORD = "ward-demo-2026"
DEMO_ACCOUNTS = {  # username -> (role, display name); listed in README
    "demo.nurse": ("nurse", "Demo Nurse"),
    "demo.physician": ("physician", "Demo Physician"),
    "demo.educator": ("educator", "Demo Educator"),
    "demo.admin": ("admin", "Demo Administrator"),
}
RESET_REASON = "demo ward reset"


def standard_ids() -> list[str]:
    """The case ids of the standard demo ward, in bed order."""
    return list(json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"])


def standard_cases() -> list[library.LibraryCase]:
    by_id = {c.id: c for c in library.builtin_cases()}
    return [by_id[i] for i in standard_ids()]


def demo_cases() -> list[dict[str, object]]:
    """The standard demo ward's admissions, each with its timeline file."""
    return [{"file": c.card.timeline, **library.admission(c.card)} for c in standard_cases()]


def shifted_case(path: Path, at: datetime, tz: Any) -> tuple[bytes, datetime | None]:
    """The case's CSV moved forward by whole days so its last row falls within the day before
    ``at`` (naive times are ward-local clock times, so they keep their clock time), and the
    shifted infusion time (timezone-aware, or None)."""
    data = path.read_bytes()
    moved = library.shifted_timeline(data, library.shift_for(data, at, tz))
    return moved, library.infusion_of(moved, tz)


def load_demo(store: WardStore, reset: bool = False, at: datetime | None = None) -> int:
    """Load the standard demo ward (once; again after marking the old rows when ``reset``)."""
    at = at or now()
    if reset:
        reset_demo(store, at)
    return sum(library.load_case(store, case, at, replace=False) for case in standard_cases())


def reset_demo(store: WardStore, at: datetime | None = None) -> int:
    """Mark every demo entry entered-in-error, close the demo flags and discharge the demo
    patients outside the standard ward. Returns the assessments marked."""
    standard = set(standard_ids())
    marked = 0
    for p in store.patients(demo=True):
        before = len(store.timeline_rows(p["patient_id"]))
        library.clear_patient(store, p["patient_id"], RESET_REASON)
        marked += before
        if p["patient_id"] not in standard and p["discharged_at"] is None:
            store.update_patient(p["patient_id"], {"discharged_at": at or now()}, RESET_REASON,
                                 by=SYSTEM_USER)
    return marked


def ensure_demo_ward(store: WardStore) -> None:
    """The embedded demo database: demo ward and demo accounts (first run only)."""
    load_demo(store)
    for username, (role, name) in DEMO_ACCOUNTS.items():
        if store.user(username) is None:
            store.add_user(username, role, by=SYSTEM_USER, display_name=f"{name} (demo)")
            store.set_password(username, DEMO_PASSWORD, by=SYSTEM_USER)
