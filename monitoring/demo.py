"""The demo ward: synthetic cases from the teaching library (never real patients).

The standard demo ward is the cases listed in ``sample_data/demo_ward.json``; the other library
cases are loaded on demand (``monitoring.library.load_case``, moved by whole days, W7). The
standard ward shows each case as it stood at the "now" the manifest names for it, moved to the
minute so that this moment is the present (decision W16): a ward in the middle of its work -
a CRS grade 2 and a grade 3 on Day 2, an ICANS grade 3, a child recovering, an uneventful stay -
with every newest assessment within its observation interval. Loading is ordinary imports. Every
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
from datetime import datetime, timedelta

from . import auth, escalation, library
from .course import read_course
from .review import tocilizumab_doses
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
# W16: the flags of the current shift are open on the demo ward, raised as charting each
# assessment live would have raised them; earlier ones count as handled on earlier shifts.
SHIFT = timedelta(hours=8)


def standard_ids() -> list[str]:
    """The case ids of the standard demo ward, in bed order."""
    return list(json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"])


def standard_cases() -> list[library.LibraryCase]:
    by_id = {c.id: c for c in library.builtin_cases()}
    return [by_id[i] for i in standard_ids()]


def standard_now() -> dict[str, datetime]:
    """Each standard case's "now" (its own clock time): the moment of the case the demo ward
    shows at the present (decision W16)."""
    given = json.loads(MANIFEST.read_text(encoding="utf-8"))["now"]
    return {i: datetime.fromisoformat(given[i]) for i in standard_ids()}


def load_demo(store: WardStore, reset: bool = False, at: datetime | None = None,
              by: str = SYSTEM_USER) -> int:
    """Load the standard demo ward (once; again after marking the old rows when ``reset``),
    every write recorded under ``by``."""
    at = at or now()
    if reset:
        reset_demo(store, at, by)
    until = standard_now()
    n = 0
    for case in standard_cases():
        loaded = library.load_case(store, case, at, by, replace=False, until=until[case.id])
        if loaded:
            raise_shift_flags(store, case.id, at - SHIFT, by)
        n += loaded
    return n


def raise_shift_flags(store: WardStore, patient_id: str, since: datetime,
                      by: str = SYSTEM_USER) -> int:
    """The flags charting each assessment from ``since`` on would have raised at the time:
    each evaluated on the course up to that assessment (never "retrospective"). Returns the
    number raised."""
    c = read_course(store, patient_id)
    doses = tocilizumab_doses(c.rows, c.administrations)
    scores = escalation.course_news(c.rows, c.patient)
    n = 0
    for k, row in enumerate(c.rows):
        if row["time"] < since:
            continue
        for f in escalation.evaluate_course(c.rows[:k + 1], lambda i: c.results[i], c.patient,
                                            doses, k, scores[:k + 1]):
            store.raise_flag(patient_id, f.flag["code"], f.flag["severity"], f.flag["message"],
                             f.time, by=by, assessment_id=c.ids[f.index],
                             respond=f.flag["respond"])
            n += 1
    return n


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
