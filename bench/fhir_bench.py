"""FHIR import speed against the CSV import of the same data, as a ratio measured in one run
(prints figures, asserts nothing; issue 19 "Done means").

    python3 -m bench.fhir_bench [--observations 100000] [--patients 100]

Builds, in a temp dir, synthetic Bulk Data NDJSON: ``--patients`` Patients and
``--observations`` vital-sign Observations (temperature, heart rate, respiratory rate, SpO2
and a blood pressure panel, one minute apart at each hourly round: five Observations make one
assessment row, decision F1), and the canonical CSV of the same rows (the same values and
times). Then, each into a fresh SQLite ward record:

- FHIR: ``services.import_fhir`` (read and validate every resource with the ``fhir.resources``
  R4B models, map, group into rows, import them through the canonical CSV import, write the
  provenance and its audit entry per resource, resync each patient's flags), as
  ``python -m monitoring fhir import`` runs it;
- CSV: ``WardStore.import_csv`` of the canonical CSV, as ``python -m monitoring import`` runs
  it (parse, validate, conflict checks, patient creation, insert, one audit entry per row).

Printed: Observations per second and assessment rows per second of each, and the ratio of the
times (FHIR / CSV). The machine is shared: compare figures within one run, not across runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitoring import services
from monitoring.store import WardStore

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
START = datetime(2026, 3, 1, tzinfo=UTC)
PER_ROW = 5  # Observations per assessment row
NURSE = "bench_nurse"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _observation(n: int, p: int, at: datetime) -> Any:
    """One NDJSON line of row ``n`` of patient ``p``: the k-th Observation, k minutes on."""
    def obs(k: int, code: str, **value: Any) -> str:
        return json.dumps({
            "resourceType": "Observation", "id": f"o{n}-{k}", "status": "final",
            "meta": {"source": "bench"}, "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": f"Patient/p{p}"},
            "effectiveDateTime": (at + timedelta(minutes=k)).isoformat(), **value})
    return obs


def build(folder: Path, observations: int, patients: int) -> tuple[Path, Path, int]:
    """The NDJSON folder and the CSV of the same rows; returns (ndjson dir, csv, rows)."""
    rows = observations // PER_ROW
    fhir_dir = folder / "fhir"
    fhir_dir.mkdir()
    with (fhir_dir / "Patient.ndjson").open("w", encoding="utf-8") as f:
        for p in range(patients):
            f.write(json.dumps({
                "resourceType": "Patient", "id": f"p{p}", "meta": {"source": "bench"},
                "identifier": [{"value": f"BENCH-{p:04d}"}],
                "birthDate": f"{1950 + p % 40}-06-15"}) + "\n")
    table = folder / "same.csv"
    with (fhir_dir / "Observation.ndjson").open("w", encoding="utf-8") as f, \
            table.open("w", encoding="utf-8", newline="") as c:
        w = csv.writer(c)
        w.writerow(["patient_id", "time", "age_years", "temp_c", "hr_bpm", "rr_per_min",
                     "spo2_pct", "sbp_mmhg", "dbp_mmhg"])
        for n in range(rows):
            p, hour = n % patients, n // patients
            at = START + timedelta(hours=hour)
            temp, hr, rr, spo2 = 36.5 + (n % 7) / 10, 70 + n % 30, 14 + n % 6, 95 + n % 5
            sbp, dbp = 110 + n % 25, 65 + n % 15
            obs = _observation(n, p, at)
            f.write(obs(0, "8310-5", valueQuantity=_quantity(temp, "Cel")) + "\n")
            f.write(obs(1, "8867-4", valueQuantity=_quantity(hr, "/min")) + "\n")
            f.write(obs(2, "9279-1", valueQuantity=_quantity(rr, "/min")) + "\n")
            f.write(obs(3, "59408-5", valueQuantity=_quantity(spo2, "%")) + "\n")
            f.write(obs(4, "85354-9", component=[
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                 "valueQuantity": _quantity(sbp, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                 "valueQuantity": _quantity(dbp, "mm[Hg]")}]) + "\n")
            age = at.year - (1950 + p % 40) - ((at.month, at.day) < (6, 15))
            w.writerow([f"BENCH-{p:04d}", at.isoformat(), age, f"{temp:g}", hr, rr, spo2,
                        sbp, dbp])
    return fhir_dir, table, rows


def fresh(folder: Path, name: str) -> WardStore:
    store = WardStore(f"sqlite:///{folder / name}", create=True)
    store.add_user(NURSE, "nurse")
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--observations", type=int, default=100_000)
    ap.add_argument("--patients", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        fhir_dir, table, rows = build(folder, args.observations, args.patients)
        n_obs = rows * PER_ROW

        store = fresh(folder, "csv.db")
        t0 = time.perf_counter()
        imported = store.import_csv(table, by=NURSE)
        csv_s = time.perf_counter() - t0
        assert imported == rows, (imported, rows)

        store = fresh(folder, "fhir.db")
        t0 = time.perf_counter()
        done = services.import_fhir(store, [fhir_dir], NURSE)
        fhir_s = time.perf_counter() - t0
        assert done.added == rows, (done.added, rows)
    print(f"{n_obs} vital-sign Observations ({rows} assessment rows, {args.patients} patients), "
          "fresh SQLite ward record each:")
    print(f"  FHIR NDJSON import: {fhir_s:.1f} s, {n_obs / fhir_s:,.0f} Observations/s, "
          f"{rows / fhir_s:,.0f} rows/s")
    print(f"  CSV import of the same rows: {csv_s:.1f} s, {n_obs / csv_s:,.0f} values of "
          f"those Observations/s, {rows / csv_s:,.0f} rows/s")
    print(f"  ratio FHIR / CSV time: {fhir_s / csv_s:.1f}")


if __name__ == "__main__":
    main()
