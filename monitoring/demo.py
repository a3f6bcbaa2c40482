"""The demo ward: synthetic cases from the teaching library (never real patients).

The standard demo ward is the cases listed in ``sample_data/demo_ward.json``; the other library
cases are loaded on demand (``monitoring.library.load_case``). Loading is ordinary imports, moved
forward by whole days so that each case ends within the last day - a demo ward that looks like
today's ward, with the clock times, days after infusion and grades of the case unchanged. Every
write is recorded under the user who asked for it: the educator who resets the ward, or
``system`` for the demo ward of the first run. Resetting never deletes: every effective demo
assessment, medication and lab result is marked entered-in-error (reason "demo ward reset"), open
demo flags are closed with that reason, cases outside the standard ward are discharged, and the
standard cases are loaded again (each load audited as ``teaching_case_loaded``), so the audit
trail shows all of it.

Demo accounts (``DEMO_ACCOUNTS``) are created only by ``ensure_demo_ward``, which the app calls
only on the embedded SQLite default - never on a ward database chosen with ``DATABASE_URL``.
Their password is public (README), so they sign in only while ``WARD_DEMO`` is on: the app
refuses them at sign-in otherwise (``WardStore.sign_in(refuse=DEMO_ACCOUNTS)``), also in a
database where they were created before.
"""

from __future__ import annotations

import json
from datetime import datetime

from . import auth, library
from .store import SYSTEM_USER, WardStore, now

SAMPLE_DATA = library.SAMPLE_DATA
MANIFEST = SAMPLE_DATA / "demo_ward.json"
DEMO_PASSWORD = auth.DEMO_PASSWORD  # public (README): refused for any other account
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


def load_demo(store: WardStore, reset: bool = False, at: datetime | None = None,
              by: str = SYSTEM_USER) -> int:
    """Load the standard demo ward (once; again after marking the old rows when ``reset``),
    every write recorded under ``by``."""
    at = at or now()
    if reset:
        reset_demo(store, at, by)
    return sum(library.load_case(store, case, at, by, replace=False)
               for case in standard_cases())


def reset_demo(store: WardStore, at: datetime | None = None, by: str = SYSTEM_USER) -> int:
    """Mark every demo entry entered-in-error, close the demo flags and discharge the demo
    patients outside the standard ward, under ``by``. Returns the assessments marked."""
    standard = set(standard_ids())
    marked = 0
    for p in store.patients(demo=True):
        marked += len(store.timeline_rows(p["patient_id"]))
        store.clear_demo_patient(p["patient_id"], RESET_REASON, by=by)
        if p["patient_id"] not in standard and p["discharged_at"] is None:
            store.update_patient(p["patient_id"], {"discharged_at": at or now()}, RESET_REASON,
                                 by=by)
    return marked


def ensure_demo_ward(store: WardStore) -> None:
    """The embedded demo database: demo ward and demo accounts (first run only). The demo
    password is public and contains "demo", so it is set as a hash, outside the password
    policy that every real account's password passes."""
    load_demo(store)
    for username, (role, name) in DEMO_ACCOUNTS.items():
        if store.user(username) is None:
            store.add_user(username, role, by=SYSTEM_USER, display_name=f"{name} (demo)",
                           password_hash=auth.hash_password(DEMO_PASSWORD))
