"""The demo ward: synthetic cases from ``sample_data/`` (never real patients).

Loading is ordinary imports under the ``system`` user. Resetting never deletes: every effective
demo assessment is marked entered-in-error (reason "demo ward reset") and the cases are loaded
again, so the audit trail shows both.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

import grading

from . import tables as t
from .store import SYSTEM_USER, PatientIn, WardStore, _effective

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
MANIFEST = SAMPLE_DATA / "demo_ward.json"


def demo_cases() -> list[dict[str, object]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["patients"]


def load_demo(store: WardStore, reset: bool = False) -> int:
    """Load the demo ward (once; again after marking the old rows when ``reset``)."""
    if reset:
        reset_demo(store)
    loaded = 0
    for case in demo_cases():
        pid = str(case["patient_id"])
        if store.patient(pid) is None:
            details = {k: v for k, v in case.items() if k != "file"}
            store.admit(PatientIn(**details, is_demo=True,
                                  infusion_time=_infusion(SAMPLE_DATA / str(case["file"]),
                                                          store)), by=SYSTEM_USER)
        if not store.timeline_rows(pid):
            loaded += store.import_csv(SAMPLE_DATA / str(case["file"]), by=SYSTEM_USER,
                                       demo=True)
    return loaded


def reset_demo(store: WardStore) -> int:
    a = t.assessments
    demo_ids = [p["patient_id"] for p in store.patients(demo=True)]
    with store.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(a.c.id).where(
            a.c.patient_id.in_(demo_ids), *_effective(a)))]
    if ids:
        store.mark_many_entered_in_error(ids, "demo ward reset", by=SYSTEM_USER)
    return len(ids)


def _infusion(path: Path, store: WardStore) -> object:
    a = grading.read_csv(path, tz=store.tz)
    times = a.frame["infusion_time"].dropna()
    return None if times.empty else times.iat[0].to_pydatetime()
