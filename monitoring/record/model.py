"""The ward record's words: its errors, the admission form, a stored assessment, and the
plain value helpers every part of the record shares (no database here)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

import grading
from grading import csvsafe
from grading.fields import COLUMNS, FIELD_BY_NAME, FIELDS
from grading.lab_scores import units as lab_units
from grading.parse import InputError, Problem
from grading.sequence import PatientOrder

from .. import auth, limits
from .. import tables as t

CANONICAL_STORED = tuple(f.name for f in FIELDS
                         if f.name not in ("patient_id", "time", "infusion_time"))
SYSTEM_USER = auth.SYSTEM_USER
CLIENT_KEY_LENGTH = 72  # a client address, as counted in sign_in_throttle and audited
UNKNOWN_USER = "(unknown user)"  # the audit's "who" for a sign-in with a name that has no account
CLINICAL_WRITERS = ("nurse", "physician", "admin")  # chart for any patient (educators: demo only)


class StoreError(Exception):
    """A write the ward record refuses, with a message for the user; ``problems`` holds the
    field problem(s) behind it (``grading.parse.Problem``) when the refusal is about a value,
    so a form marks the field from the object."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)


class ConcurrentChangeError(StoreError):
    """Another user's write landed first (the database refused this one): nothing was saved."""


def now() -> datetime:
    return datetime.now(UTC)


class PatientIn(BaseModel):
    """Admission details (design.md; spec §6.1 for weight)."""

    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(min_length=1, max_length=limits.most("patient_id"),
                            title="Ward patient id")
    hospital_number: str | None = Field(None, max_length=limits.most("hospital_number"),
                                        title="Hospital number")
    name: str | None = Field(None, max_length=limits.most("name"), title="Name")
    date_of_birth: date | None = Field(None, title="Date of birth")
    sex: str | None = Field(None, pattern="^(female|male|other|unknown)$", title="Sex")
    weight_kg: float | None = Field(None, ge=0.5, le=350, title="Weight (kg)")
    ward: str | None = Field(None, max_length=limits.most("ward"), title="Ward")
    bed: str | None = Field(None, max_length=limits.most("bed"), title="Bed")
    product: str | None = Field(None, title="CAR-T product")
    indication: str | None = Field(None, max_length=limits.most("indication"), title="Indication")
    infusion_time: datetime | None = Field(None, title="Infusion time (Day 0)")
    lymphodepletion_at: datetime | None = Field(
        None, title="Lymphodepletion start",
        description="First dose of lymphodepleting chemotherapy: EASIX and CAR-HEMATOTOX use "
                    "the labs taken before it (Pennisi 2021; Rejeski 2021)")
    baseline_ice: int | None = Field(None, ge=0, le=10, title="Baseline ICE")
    spo2_scale: int = Field(1, ge=1, le=2, title="NEWS2 SpO2 scale",
                            description="2 only for documented hypercapnic respiratory failure "
                                        "with a prescribed target of 88-92 % (NEWS2, RCP 2017)")
    admitted_at: datetime | None = Field(None, title="Admitted")
    is_demo: bool = Field(False, title="Synthetic demo patient")

    @field_validator("patient_id")
    @classmethod
    def _one_line_id(cls, v: str) -> str:
        # the rule the CSV importer applies (grading.parse): an id that is not one line of
        # printable text, or has spaces around it, could never be imported or exported back
        # to the same patient (docs/security.md, "Untrusted text and exports")
        if not v.isprintable():
            raise ValueError("a patient id is one line of printable text: no tabs, line "
                             "breaks or other control characters")
        if v != v.strip():
            raise ValueError("a patient id has no spaces at its start or end")
        return v

    @field_validator("product")
    @classmethod
    def _product(cls, v: str | None) -> str | None:
        if v is not None and v not in t.PRODUCTS:
            raise ValueError("product must be one of " + ", ".join(t.PRODUCTS))
        return v

    @field_validator("infusion_time", "lymphodepletion_at", "admitted_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("give a timezone-aware time")
        return v


@dataclass(frozen=True)
class StoredAssessment:
    """An assessment row with its place in the correction history."""

    id: int
    patient_id: str
    assessed_at: datetime
    recorded_at: datetime
    recorded_by: str
    status: str          # final, amended (replaced by a later row) or entered_in_error
    replaces_id: int | None
    reason: str | None
    values: dict[str, Any]


LAB_UNITS = lab_units.LAB_UNITS  # test -> (canonical unit, factors), spec §6.3


SUPPORT_FIELDS = ("o2_device", "o2_flow_l_min", "fio2_pct")
# Ongoing support a later row's values may rely on (a flow on the device, a dose on its agent).
CONTEXT_FIELDS = ("o2_device", "vasopressors")


def _bounded(*pairs: tuple[str, str | None]) -> None:
    """Refuse text longer than its limit (monitoring/limits.py), naming the field."""
    found = limits.problems(pairs)
    if found:
        raise StoreError(limits.refusal(found), found)



def _window_start(at: datetime, window: timedelta) -> datetime:
    """The start of the fixed throttle window holding ``at`` (windows counted from 1970)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + window * ((at - epoch) // window)



def _not_in_future(field: str, at: datetime, why: str) -> None:
    """Medications and lab results, like assessments (decision T11, bedside entry), are
    charted for a time that has happened: any time up to now, never later."""
    current = now()
    if at > current:
        def shown(t: datetime) -> str:  # as a clinician reads a time, in the time's own zone
            return t.astimezone(at.tzinfo).strftime("%d/%m/%Y %H:%M (UTC%z)").replace(
                "UTC+0000", "UTC")
        raise StoreError(f"{field} {shown(at)} is in the future: {why} "
                         f"(allowed: any time up to now, {shown(current)})")



def _touches_support(row: Mapping[str, Any]) -> bool:
    return any(row.get(f) is not None for f in SUPPORT_FIELDS)


def _renumbered(problems: list[Problem], rows: list[dict[str, Any]]) -> list[str]:
    """Name record rows by patient and time rather than by position."""
    out = []
    for p in problems:
        line = str(p)
        if p.where is None and p.row is not None and 0 < p.row <= len(rows):
            r = rows[p.row - 1]
            line = f"{r['patient_id']} at {r['time'].isoformat()}, " + str(replace(p, row=None))
        out.append(line)
    return out


# The record's refusals of a value, each with its problem (field, code) for the form; shared by
# the database record and the in-memory one so both say the same.
def _time_required() -> InputError:
    return InputError([Problem("time", "required", "required: an assessment needs a time")])


def _time_taken(patient_id: str, when: str, advice: str = "") -> StoreError:
    """Another current assessment of the patient at this time (``when`` in the ward's words)."""
    message = f"patient {patient_id} already has an assessment at {when}{advice}"
    return StoreError(message, [Problem("time", "duplicate_time", message)])


def _after_death(patient_id: str, died_at: datetime, when: str) -> StoreError:
    """An assessment after the recorded death (``when``: the death in the ward's words)."""
    message = (f"patient {patient_id} has a death recorded at {died_at.isoformat()}: no "
               "assessment can follow it")
    return StoreError(message, [Problem("time", "after_death", message, words="the patient's "
                                        f"death is recorded at {when}: no assessment can "
                                        "follow it")])


def _import_problems(r: int, pid: str, time: datetime, stored_infusion: datetime | None,
                     infusion_differs: bool, died: datetime | None, taken: bool
                     ) -> list[Problem]:
    """What the ward record refuses in imported row ``r`` (0-based): an infusion time other
    than the one on record, a time after a recorded death, a time already charted."""
    out = []
    if infusion_differs and stored_infusion is not None:
        out.append(Problem("infusion_time", "cross_field", "differs from the infusion time on "
                           f"record for {pid} ({stored_infusion.isoformat()})", row=r + 1))
    if died is not None:
        out.append(Problem("time", "after_death", f"patient {pid} has a death recorded at "
                           f"{died.isoformat()} in the ward record", row=r + 1,
                           value=time.isoformat()))
    if taken:
        out.append(Problem("time", "duplicate_time", f"patient {pid} already has an assessment "
                           "at this time in the ward record", row=r + 1, value=time.isoformat()))
    return out


def _death_not_last(patient_id: str, at: datetime) -> StoreError:
    message = (f"patient {patient_id} has assessments after {at.isoformat()}: a death must be "
               "the last")
    return StoreError(message, [Problem("died_of", "after_death", message, words="the patient "
                                        "has later assessments: a death must be the last "
                                        "assessment")])


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC).replace(microsecond=(ns // 1000) % 1_000_000)


def _stored_columns(a: grading.Assessments) -> dict[str, list[Any]]:
    """Typed canonical columns -> lists of database values (None for blank)."""
    out: dict[str, list[Any]] = {}
    for name in CANONICAL_STORED:
        f = FIELD_BY_NAME[name]
        x = a.columns[name]
        if f.kind == "number":
            out[name] = [None if v != v else v for v in x.tolist()]
        elif f.kind == "integer":
            out[name] = [None if v != v else int(v) for v in x.tolist()]
        elif f.kind == "boolean":
            out[name] = [None if v < 0 else bool(v) for v in x.tolist()]
        elif f.kind == "choice":
            table = [*f.values, None]
            out[name] = [table[v] for v in x.tolist()]
        else:
            cache: dict[int, str | None] = {}
            out[name] = [cache.setdefault(v, _choices_text(f, v)) for v in x.tolist()]
    return out


def _choices_text(f: Any, mask: int) -> str | None:
    if mask < 0:
        return None
    if mask == 0:
        return f.empty_value
    return ";".join(v for i, v in enumerate(f.values) if mask >> i & 1)


def _stored_values(a: grading.Assessments, row: int) -> dict[str, Any]:
    return {k: v[row] for k, v in _stored_columns(a).items()}


def _text(name: str, v: Any, tz: ZoneInfo) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(tz).isoformat()
    if isinstance(v, float):
        return repr(v)  # every digit: an export re-imports to the same value
    return str(v)


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _json(v: object) -> str | None:
    if v is None:
        return None
    return json.dumps(v, default=lambda x: x.isoformat() if hasattr(x, "isoformat") else str(x),
                      sort_keys=True, ensure_ascii=False)


def progress_to_stderr(done: int, total: int) -> None:
    print(f"imported {done:,} of {total:,} rows", file=sys.stderr)


def assessments_from_columns(cols: Mapping[str, list[Any]], tz: ZoneInfo) -> grading.Assessments:
    """Effective rows as columns (``TimelineRecord._timeline_columns``) -> typed canonical
    ``grading.Assessments``."""
    arrays = {}
    for name in COLUMNS:
        f = FIELD_BY_NAME[name]
        values = cols[name]
        if f.kind == "time":
            arrays[name] = pa.chunked_array([pa.array(values, pa.timestamp("us", tz="UTC"))])
        elif f.kind in ("number", "integer"):
            arrays[name] = pa.chunked_array([pa.array(values, pa.float64())])
        elif f.kind == "boolean":
            arrays[name] = pa.chunked_array([pa.array(values, pa.bool_())])
        else:
            arrays[name] = pa.chunked_array([pa.array(values, pa.string())])
    return grading.parse.from_columns(arrays, tz)


def read_import(source: str | Path | bytes, tz: ZoneInfo,
                device_context: Callable[[grading.Assessments], list[dict[str, Any]]]
                ) -> grading.Assessments:
    """Validate an import file. When it fails, check again with the oxygen device already
    in force in the record for patients it continues (a flow may rely on it, as on the
    form); the context rows go after the file's rows, so row numbers stay the file's."""
    try:
        return grading.read_csv(source, tz=tz)
    except InputError as first:
        data = Path(source).read_bytes() if not isinstance(source, bytes) else source
        try:
            rows = _csv_rows(data)
            for r in rows:  # undo the export's formula prefix, as read_csv does
                if isinstance(r.get("patient_id"), str):
                    r["patient_id"] = csvsafe.restore(r["patient_id"])
            keys = grading.from_rows([{"patient_id": r.get("patient_id", ""),
                                       "time": r.get("time", "")} for r in rows], tz=tz)
        except (InputError, UnicodeDecodeError, csv.Error, ValueError):
            raise first from None
        context = device_context(keys)
        if not context:
            raise
        combined = grading.from_rows(rows + context, tz=tz)
        n = len(rows)
        cols = {k: v[:n] for k, v in combined.columns.items()}
        return grading.Assessments(cols, combined.patients, combined.tz,
                                   PatientOrder.of(cols["patient_id"], cols["time"]),
                                   {r: f for r, f in combined.soft_flags.items() if r < n})


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a file ``grading.read_csv`` has read, as mappings of their non-blank cells
    (line endings as it reads them). A row with more or fewer cells raises ``ValueError``."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        if None in r or None in r.values():
            raise ValueError("a row with more or fewer cells than the header")
        rows.append({k.strip(): v for k, v in r.items() if v != ""})
    return rows
