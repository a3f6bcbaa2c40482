"""The demo ward: synthetic cases from ``sample_data/`` (never real patients).

Loading is ordinary imports under the ``system`` user. The cases are moved forward by whole days
so that each one ends within the last day - a demo ward that looks like today's ward, with the
clock times, days after infusion and grades of the case unchanged. Resetting never deletes: every
effective demo assessment is marked entered-in-error (reason "demo ward reset"), open demo flags
are closed with that reason, and the cases are loaded again, so the audit trail shows both.

Demo accounts (``DEMO_ACCOUNTS``) are created only by ``ensure_demo_ward``, which the app calls
only on the embedded SQLite default - never on a ward database chosen with ``DATABASE_URL``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from grading.parse import InputError

from . import tables as t
from .store import SYSTEM_USER, PatientIn, StoreError, WardStore, _effective, now

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
MANIFEST = SAMPLE_DATA / "demo_ward.json"
DEMO_PASSWORD = "ward-demo-2026"
DEMO_ACCOUNTS = {  # username -> (role, display name); listed in README
    "demo.nurse": ("nurse", "Demo Nurse"),
    "demo.physician": ("physician", "Demo Physician"),
    "demo.educator": ("educator", "Demo Educator"),
    "demo.admin": ("admin", "Demo Administrator"),
}
RESET_REASON = "demo ward reset"


def demo_cases() -> list[dict[str, object]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["patients"]


def shifted_case(path: Path, at: datetime, tz: object) -> tuple[bytes, datetime | None]:
    """The case's CSV moved forward by whole days so its last row falls within the day before
    ``at`` (naive times are ward-local clock times, so they keep their clock time), and the
    shifted infusion time (timezone-aware, or None)."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    last = max(datetime.fromisoformat(r["time"]) for r in rows)
    local_now = at.astimezone(tz).replace(tzinfo=None)  # type: ignore[arg-type]
    if last.tzinfo is not None:
        raise InputError([f"{path.name}: demo cases use ward-local times without an offset"])
    shift = timedelta(days=(local_now - last).days)
    infusion = None
    for r in rows:
        for col in ("time", "infusion_time"):
            if r.get(col):
                r[col] = (datetime.fromisoformat(r[col]) + shift).isoformat(timespec="minutes")
        if r.get("infusion_time"):
            infusion = datetime.fromisoformat(r["infusion_time"]).replace(tzinfo=tz)  # type: ignore[arg-type]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode("utf-8"), infusion


def load_demo(store: WardStore, reset: bool = False, at: datetime | None = None) -> int:
    """Load the demo ward (once; again after marking the old rows when ``reset``)."""
    at = at or now()
    if reset:
        reset_demo(store)
    loaded = 0
    for case in demo_cases():
        pid = str(case["patient_id"])
        data, infusion = shifted_case(SAMPLE_DATA / str(case["file"]), at, store.tz)
        existing = store.patient(pid)
        if existing is None:
            details = {k: v for k, v in case.items() if k != "file"}
            store.admit(PatientIn(**details, is_demo=True, infusion_time=infusion),
                        by=SYSTEM_USER)
        elif not existing["is_demo"]:
            raise StoreError(f"patient '{pid}' exists and is not a demo patient")
        elif store.timeline_rows(pid):
            continue
        elif existing["infusion_time"] != infusion or existing["discharged_at"] is not None:
            store.update_patient(pid, {"infusion_time": infusion, "discharged_at": None},
                                 RESET_REASON, by=SYSTEM_USER)
        loaded += store.import_csv(data, by=SYSTEM_USER, demo=True)
    return loaded


def reset_demo(store: WardStore) -> int:
    a = t.assessments
    demo_ids = [p["patient_id"] for p in store.patients(demo=True)]
    with store.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(a.c.id).where(
            a.c.patient_id.in_(demo_ids), *_effective(a)))]
    if ids:
        store.mark_many_entered_in_error(ids, RESET_REASON, by=SYSTEM_USER)
    for pid in demo_ids:
        for flag in store.open_flags(pid):
            store.acknowledge_flag(flag["id"], RESET_REASON, by=SYSTEM_USER, dismiss=True,
                                   reason=RESET_REASON)
    return len(ids)


def ensure_demo_ward(store: WardStore) -> None:
    """The embedded demo database: demo ward and demo accounts (first run only)."""
    load_demo(store)
    for username, (role, name) in DEMO_ACCOUNTS.items():
        if store.user(username) is None:
            store.add_user(username, role, by=SYSTEM_USER, display_name=f"{name} (demo)")
            store.set_password(username, DEMO_PASSWORD, by=SYSTEM_USER)
