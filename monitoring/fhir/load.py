"""Write what ``read`` found into the ward record: group observations into assessment rows
(decision F1), import them through the canonical CSV import (the validator of the bedside form
and of every CSV file), keep each resource's provenance, and apply later ``amended`` /
``corrected`` / ``entered-in-error`` versions as amendments with a reason (decision F2).

All of it runs inside the caller's ``store.locked`` transaction (``services.import_fhir``),
through the record (``store.uow.fhir``, ``monitoring/record/fhir.py``): one problem anywhere
and nothing is stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pydantic

from grading.fields import FIELDS
from grading.lab_scores.units import ANALYTES
from grading.parse import InputError

from ..medications import DRUGS, NOT_STATED
from ..record.model import PatientIn
from ..store import StoreError, WardStore
from .codes import MED_RECORDED
from .read import IN_ERROR, FhirError, FhirProblem, ObservationResource, PatientResource
from .treatments import LabResource, MedicationResource

GROUP_WINDOW = timedelta(minutes=5)  # decision F1
TREAT_STEP = 200   # medications and lab results written between two progress reports
_KIND = {f.name: f.kind for f in FIELDS}
_TITLE = {f.name: f.title for f in FIELDS}


@dataclass
class Batch:
    """The resources of one import, read and checked, with their ward patient ids."""

    patients: list[PatientResource]
    observations: list[ObservationResource]
    ward_id: dict[str, str]          # Patient resource id -> ward patient id
    medications: list[MedicationResource] = field(default_factory=list)
    labs: list[LabResource] = field(default_factory=list)

    @property
    def patient_ids(self) -> list[str]:
        return sorted(set(self.ward_id.values()))


@dataclass
class Outcome:
    """What an import did, for the command line and the audit trail."""

    added: int = 0                   # new assessment rows
    unchanged: int = 0               # resources imported before, as they are
    amended: int = 0                 # stored rows corrected from an amended resource
    marked: int = 0                  # stored values withdrawn (entered-in-error)
    not_charted: int = 0             # entered-in-error resources never imported before
    derived: int = 0                 # grades, episodes, flags of our export: recomputed here
    medications: int = 0             # medications recorded as given (F6)
    labs: int = 0                    # lab results recorded (F8)
    not_given: int = 0               # not-done administrations: nothing given, nothing recorded
    since: dict[str, datetime] = field(default_factory=dict)  # patient -> earliest change
    notices: list[str] = field(default_factory=list)  # for a person to look at; nothing refused
    # tocilizumab doses given past the limits (review.tocilizumab_past_limits), one sentence
    # a dose naming the patient: said as the medications page warns (services.import_fhir)
    tocilizumab_limits: list[str] = field(default_factory=list)
    # patient -> the times of the tocilizumab doses this import recorded or amended
    tocilizumab: dict[str, list[datetime]] = field(default_factory=dict, repr=False)
    # (patient, "lab"|"medication") -> (test or drug, instant) -> the current row there: a new
    # resource at a time the patient already has that test or drug is refused (decision F9)
    seen: dict[tuple[str, str], dict[tuple[str, datetime], dict[str, Any]]] = field(
        default_factory=dict, repr=False)


def age_at(birth: date | None, at: datetime) -> int | None:
    """Whole years of age at ``at`` (the day of the assessment, UTC)."""
    if birth is None:
        return None
    day = at.astimezone(UTC).date()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def group_rows(observations: list[ObservationResource]) -> list[list[ObservationResource]]:
    """Decision F1: one patient's observations, by time, form one assessment row while each
    is within ``GROUP_WINDOW`` (5 min, inclusive) of the row's FIRST observation and fills
    no field the row already holds; otherwise a new row starts. The row's time is its
    first observation's time."""
    groups: list[list[ObservationResource]] = []
    by_patient: dict[str, list[ObservationResource]] = {}
    for o in observations:
        by_patient.setdefault(o.subject, []).append(o)
    for obs in by_patient.values():
        current: list[ObservationResource] = []
        filled: set[str] = set()
        for o in sorted(obs, key=lambda o: (o.at, o.resource_id)):
            if current and (o.at - current[0].at <= GROUP_WINDOW
                            and not filled & set(o.values)):
                current.append(o)
                filled |= set(o.values)
                continue
            if current:
                groups.append(current)
            current, filled = [o], set(o.values)
        if current:
            groups.append(current)
    return groups


Resource = PatientResource | ObservationResource | MedicationResource | LabResource


def content_of(r: Resource) -> str:
    """A fingerprint of what was read from a resource: a second import compares it."""
    if isinstance(r, PatientResource):
        data: Any = [r.patient_id, r.name, str(r.birth_date), r.sex]
    elif isinstance(r, MedicationResource):
        data = [r.status, r.at.astimezone(UTC).isoformat(), r.kind, r.dose, r.unit, r.route]
        if r.indication != NOT_STATED:  # a resource without one keeps its fingerprint (F12)
            data.append(r.indication)
    elif isinstance(r, LabResource):
        data = [r.status, r.at.astimezone(UTC).isoformat(), r.test, r.value, r.unit]
    else:
        data = [r.status, r.at.astimezone(UTC).isoformat(), sorted(r.values.items())]
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if _KIND.get(name) == "integer" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def resolve(store: WardStore, patients: list[PatientResource],
            observations: list[ObservationResource],
            medications: list[MedicationResource] | None = None,
            labs: list[LabResource] | None = None) -> Batch:
    """Each resource's Patient: in this import, or imported before (provenance)."""
    medications, labs = medications or [], labs or []
    ward_id = {p.resource_id: p.patient_id for p in patients}
    others: list[ObservationResource | MedicationResource | LabResource] = [
        *observations, *medications, *labs]
    missing = sorted({o.subject for o in others} - set(ward_id))
    if missing:
        ward_id.update(_record(store).patients_of(missing))
    problems = [FhirProblem(o.where, o.key, "subject.reference", f"Patient/{o.subject}",
                            "no such Patient in this import nor imported before")
                for o in others if o.subject not in ward_id]
    if problems:
        raise FhirError(problems)
    return Batch(patients, observations, ward_id, medications, labs)


def _record(store: WardStore) -> Any:
    return store.uow.fhir  # type: ignore[union-attr]  # the SQL record only


def write(store: WardStore, batch: Batch, by: str,
          progress: Callable[[int, int], None] | None = None,
          treating: Callable[[int, int], None] | None = None) -> Outcome:
    """Store the batch inside the caller's ``store.locked`` transaction. Another import of
    the same new patient or resource committed meanwhile: ``ConcurrentChangeError`` (the
    database's unique keys decide; nothing of this import is stored). ``progress(written,
    total)`` follows the assessment rows (the CSV import's chunks), ``treating(done, total)``
    the MedicationAdministrations and lab Observations, every ``TREAT_STEP`` and at the last;
    with none, once as ``treating(0, 0)``: either way its last call says the writes are
    over (the flags are brought up to date next)."""
    record = _record(store)
    record.check_importer(by)
    out = Outcome()
    stamp = datetime.now(UTC)
    latest = _latest(store, batch)
    provenance: list[dict[str, Any]] = []

    def keep(r: Resource, kind: str, pid: str, assessment_id: int | None, at: datetime | None,
             **link: int | None) -> None:
        before = latest.get((r.source, kind, r.resource_id))
        provenance.append({**link,
            "source_system": r.source, "resource_type": kind, "resource_id": r.resource_id,
            "version": 1 if before is None else before["version"] + 1,
            "fhir_status": getattr(r, "status", "active"), "content": content_of(r),
            "patient_id": pid, "assessment_id": assessment_id, "assessed_at": at,
            "effective_at": getattr(r, "at", None), "imported_at": stamp, "imported_by": by})

    for p in batch.patients:
        before = latest.get((p.source, "Patient", p.resource_id))
        if before is not None and before["content"] == content_of(p):
            out.unchanged += 1
            continue
        stored = store.patient(p.patient_id)
        if stored is not None:
            differ = [words for words, mine, theirs in (
                ("name", stored["name"], p.name), ("date of birth", stored["date_of_birth"],
                                                   p.birth_date), ("sex", stored["sex"], p.sex))
                if mine is not None and theirs is not None and mine != theirs]
            if differ:
                out.notices.append(
                    f"patient {p.patient_id}: the {', '.join(differ)} in the source "
                    f"(Patient/{p.resource_id}) {'differ' if len(differ) > 1 else 'differs'} "
                    "from the ward record, which is kept; a "
                    "physician corrects the admission details with a reason if the source is "
                    "right")
        else:
            try:
                details = PatientIn(patient_id=p.patient_id, name=p.name,
                                    date_of_birth=p.birth_date, sex=p.sex)
            except pydantic.ValidationError as e:
                err = e.errors()[0]
                raise FhirError([FhirProblem(p.where, f"Patient/{p.resource_id}",
                                             str(err["loc"][0]), str(err.get("input")),
                                             err["msg"])]) from None
            record.admit_imported(details, by, {"via": "FHIR", "source_system": p.source,
                                                "resource": f"Patient/{p.resource_id}"})
        keep(p, "Patient", p.patient_id, None, None)

    fresh: list[ObservationResource] = []
    for o in batch.observations:
        pid = batch.ward_id[o.subject]
        before = latest.get((o.source, "Observation", o.resource_id))
        if before is None:
            if o.status == IN_ERROR:
                out.not_charted += 1
                keep(o, "Observation", pid, None, None)
            else:
                fresh.append(o)
        elif before["content"] == content_of(o):
            out.unchanged += 1
        else:
            _change(store, o, pid, before, by, out)
            keep(o, "Observation", pid, before["assessment_id"], before["assessed_at"])

    groups = group_rows(fresh)
    if groups:
        # age from the ward record's date of birth (just admitted, or kept: above)
        births = record.births(batch.patient_ids)
        _import_rows(store, groups, batch, births, by, progress)
        row_ids = record.rows_at(sorted({batch.ward_id[g[0].subject] for g in groups}))
        for g in groups:
            pid, at = batch.ward_id[g[0].subject], g[0].at.astimezone(UTC)
            row_id = row_ids[(pid, at)]
            for o in g:
                keep(o, "Observation", pid, row_id, at)
            out.since[pid] = min(out.since.get(pid, at), at)
        out.added = len(groups)
    total, done = len(batch.medications) + len(batch.labs), 0

    def treated() -> None:
        nonlocal done
        done += 1
        if treating is not None and (done % TREAT_STEP == 0 or done == total):
            treating(done, total)

    for m in batch.medications:
        _medication(store, m, batch.ward_id[m.subject],
                    latest.get((m.source, "MedicationAdministration", m.resource_id)), by, out,
                    keep)
        treated()
    for lab in batch.labs:
        _lab(store, lab, batch.ward_id[lab.subject],
             latest.get((lab.source, "Observation", lab.resource_id)), by, out, keep)
        treated()
    if treating is not None and total == 0:
        treating(0, 0)
    record.keep(provenance, by)
    return out


def _once(store: WardStore, out: Outcome, pid: str, what: str, key: str, at: datetime
          ) -> dict[tuple[str, datetime], dict[str, Any]]:
    """Decision F9: a new resource for a test (a drug) the patient already has a current
    result (dose) of at the same instant is refused, naming the stored one - a result resent
    under a new id, or our own export read back, is not recorded twice. Returns the patient's
    times (read once an import) for the caller to add the new row to."""
    seen = out.seen.get((pid, what))
    if seen is None:
        rows = store.labs(pid) if what == "lab" else store.administrations(pid)
        field_, time_ = ("test", "taken_at") if what == "lab" else ("kind", "given_at")
        seen = out.seen[(pid, what)] = {(x[field_], x[time_].astimezone(UTC)): x for x in rows}
    same = seen.get((key, at.astimezone(UTC)))
    if same is not None:
        name = ANALYTES[key].words if what == "lab" else DRUGS[key].words
        noun = "result" if what == "lab" else "dose"
        raise StoreError(f"the ward record already has a {name} {noun} at this time ({noun} "
                         f"#{same['id']}): a {noun} is imported once; a change comes as "
                         "amended or corrected of the same resource, or is made on the "
                         "medications and labs page")
    return seen


def _refused(r: MedicationResource | LabResource, e: StoreError) -> FhirError:
    """A refusal of the record said of the resource it came from."""
    text = str(e)
    element, value = "(resource)", ""
    if text.startswith(("the time given", "the time taken")):  # record/checks.py
        element, value = "effectiveDateTime", r.at.isoformat()
    elif isinstance(r, MedicationResource) and r.dose is not None:
        element, value = "dosage", f"{r.dose:g} {r.unit}"
    elif isinstance(r, LabResource):
        element, value = "valueQuantity", f"{r.value:g} {r.unit}"
    return FhirError([FhirProblem(r.where, r.key, element, value, text)])


def _source(r: MedicationResource | LabResource) -> dict[str, str]:
    """Where a dose or result came from, for its audit entry (decision F10): the source
    system and the resource, as its provenance row keeps them."""
    return {"via": "FHIR", "source_system": r.source, "resource": r.key}


def _unusual(out: Outcome, pid: str, r: MedicationResource | LabResource) -> None:
    """An unusual but possible dose or value, recorded: said for a second look (W14), as
    the medications and labs page highlights it."""
    if r.unusual:
        out.notices.append(f"patient {pid}: {r.key}: {r.unusual}")


def _unread(out: Outcome, pid: str, m: MedicationResource) -> None:
    """A reason for a dose sent but not read (F12): recorded as "not stated", said."""
    if m.unread_reason:
        out.notices.append(f"patient {pid}: {m.key}: {m.unread_reason}; recorded as given "
                           "for a reason not stated (correct it on the medications page)")


def _tocilizumab(out: Outcome, pid: str, m: MedicationResource) -> None:
    """A tocilizumab dose this import records: checked against the limits once all are
    written (``services.import_fhir``)."""
    if m.kind == "tocilizumab":
        out.tocilizumab.setdefault(pid, []).append(m.at)


def _since(out: Outcome, pid: str, *times: datetime | None) -> None:
    for at in times:
        if at is not None:
            out.since[pid] = min(out.since.get(pid, at), at)


def _medication(store: WardStore, m: MedicationResource, pid: str,
                before: dict[str, Any] | None, by: str, out: Outcome, keep: Any) -> None:
    """Decision F6: record a given administration through the record the medications page
    writes with (its checks: the drug table's route, unit and dose limits, no future
    time); a later version amends it, entered-in-error or not-done withdraws it, each with a
    reason; a resource seen before unchanged adds nothing."""
    kind = "MedicationAdministration"
    if before is not None and before["content"] == content_of(m):
        out.unchanged += 1
        return
    stored = before["administration_id"] if before is not None and before[
        "fhir_status"] in MED_RECORDED else None
    reason = f"in the source record ({m.source}, {m.key})"
    try:
        if stored is None:
            if m.status in MED_RECORDED:
                seen = _once(store, out, pid, "medication", m.kind, m.at)
                new = store.record_administration(pid, m.kind, m.at, by=by, dose=m.dose,
                                                  unit=m.unit, route=m.route,
                                                  indication=m.indication,
                                                  imported=_source(m))
                seen[(m.kind, m.at.astimezone(UTC))] = {"id": new}
                out.medications += 1
                _unusual(out, pid, m)
                _unread(out, pid, m)
                _tocilizumab(out, pid, m)
                _since(out, pid, m.at)
                keep(m, kind, pid, None, None, administration_id=new)
            else:  # not given, or withdrawn before it was ever recorded
                if before is None:
                    out.not_given += m.status != IN_ERROR
                    out.not_charted += m.status == IN_ERROR
                else:
                    out.unchanged += 1
                keep(m, kind, pid, None, None)
            return
        current = {a["id"]: a for a in store.administrations(pid)}.get(stored)
        if current is None:
            raise StoreError("the medication it became is no longer current in the ward "
                             "record (corrected or marked there): correct it on the "
                             "medications page")
        if m.status not in MED_RECORDED:
            words = "entered in error" if m.status == IN_ERROR else "not done"
            new = store.mark_administration_in_error(pid, stored, f"{words} {reason}", by=by,
                                                     imported=_source(m))
            out.marked += 1
            _since(out, pid, current["given_at"])
            keep(m, kind, pid, None, None, administration_id=new)
            return
        if m.kind != current["kind"]:
            raise StoreError(f"imported before as {current['kind']}, now {m.kind}: a change "
                             "of drug is not imported; correct it on the medications page")
        same = (current["given_at"] == m.at and current["dose"] == m.dose
                and current["unit"] == m.unit and current["route"] == m.route
                and current["indication"] == m.indication)
        if same:  # e.g. in-progress, then completed: the record already says so
            out.unchanged += 1
            keep(m, kind, pid, None, None, administration_id=stored)
            return
        new = store.amend_administration(pid, stored, m.at, m.dose, m.unit, m.route,
                                         f"changed {reason}", by=by, indication=m.indication,
                                         imported=_source(m))
        out.amended += 1
        _unusual(out, pid, m)
        _unread(out, pid, m)
        _tocilizumab(out, pid, m)
        _since(out, pid, current["given_at"], m.at)
        keep(m, kind, pid, None, None, administration_id=new)
    except StoreError as e:
        raise _refused(m, e) from None


def _lab(store: WardStore, r: LabResource, pid: str, before: dict[str, Any] | None, by: str,
         out: Outcome, keep: Any) -> None:
    """Decision F8: a lab result recorded through the record the lab page writes with (the
    analyte table's units and plausibility limit, no future time); later versions as the
    vital signs' (F2): amended or corrected amend it, entered-in-error marks it, a change
    with status final is refused."""
    kind = "Observation"
    if before is not None and before["content"] == content_of(r):
        out.unchanged += 1
        return
    if before is not None and before["lab_id"] is None and before["assessment_id"] is not None:
        raise _refused(r, StoreError("imported before as a vital sign or neuro item, now a "
                                     "lab result: not imported"))
    stored = (before["lab_id"] if before is not None and before["fhir_status"] != IN_ERROR
              else None)
    reason = f"in the source record ({r.source}, {r.key})"
    try:
        if stored is None:
            if r.status == IN_ERROR:
                out.not_charted += before is None
                out.unchanged += before is not None
                keep(r, kind, pid, None, None)
                return
            if before is not None and r.status not in ("amended", "corrected"):
                raise StoreError("imported before as entered-in-error: a result that comes "
                                 "back must come as amended or corrected")
            seen = _once(store, out, pid, "lab", r.test, r.at)
            new = store.record_lab(pid, r.test, r.value, r.unit, r.at, by=by,
                                   imported=_source(r))
            seen[(r.test, r.at.astimezone(UTC))] = {"id": new}
            out.labs += 1
            _unusual(out, pid, r)
            _since(out, pid, r.at)
            keep(r, kind, pid, None, None, lab_id=new)
            return
        current = {x["id"]: x for x in store.labs(pid)}.get(stored)
        if current is None:
            raise StoreError("the lab result it became is no longer current in the ward "
                             "record (corrected or marked there): correct it on the "
                             "medications and labs page")
        if r.status == IN_ERROR:
            new = store.mark_lab_in_error(pid, stored, f"entered in error {reason}", by=by,
                                          imported=_source(r))
            out.marked += 1
            _since(out, pid, current["taken_at"])
            keep(r, kind, pid, None, None, lab_id=new)
            return
        if r.test != current["test"]:
            raise StoreError(f"imported before as {current['test']}, now {r.test}: a change "
                             "of test is not imported")
        if r.status not in ("amended", "corrected"):
            raise StoreError("imported before with another value: a change must come as "
                             "amended, corrected or entered-in-error; nothing was "
                             "overwritten")
        if (current["taken_at"], current["entered_value"], current["entered_unit"]) == \
                (r.at, r.value, r.unit):
            out.unchanged += 1
            keep(r, kind, pid, None, None, lab_id=stored)
            return
        new = store.amend_lab(pid, stored, r.value, r.unit, r.at, f"{r.status} {reason}",
                              by=by, imported=_source(r))
        out.amended += 1
        _unusual(out, pid, r)
        _since(out, pid, current["taken_at"], r.at)
        keep(r, kind, pid, None, None, lab_id=new)
    except StoreError as e:
        raise _refused(r, e) from None


def _latest(store: WardStore, batch: Batch) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The newest provenance row of each resource of the batch seen before."""
    return _record(store).latest(r.resource_id for r in [
        *batch.patients, *batch.observations, *batch.medications, *batch.labs])


def _import_rows(store: WardStore, groups: list[list[ObservationResource]], batch: Batch,
                 births: dict[str, date | None], by: str,
                 progress: Callable[[int, int], None] | None) -> None:
    """The rows as a canonical CSV through the record's import: the same validator, the same
    refusals (a time already charted, after a death, ...), each row audited."""
    names = sorted({n for g in groups for o in g for n in o.values})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["patient_id", "time", "age_years", *names])
    for g in groups:
        pid = batch.ward_id[g[0].subject]
        values = {k: v for o in g for k, v in o.values.items()}
        w.writerow([pid, g[0].at.isoformat(), _cell("age_years", age_at(births.get(pid),
                                                                        g[0].at)),
                    *(_cell(n, values.get(n)) for n in names)])
    try:
        store.import_csv(buf.getvalue().encode(), by=by, progress=progress)
    except InputError as e:
        raise FhirError([_named(p, groups) for p in e.problems]) from None


def _named(p: Any, groups: list[list[ObservationResource]]) -> FhirProblem | str:
    """A problem of the generated CSV said of the resource it came from."""
    if p.row is None or not 1 <= p.row <= len(groups):
        return str(p)
    g = groups[p.row - 1]
    hit = [o for o in g if p.field in o.values]
    # the value of one resource, or the row the resources make together (e.g. a missing item)
    element = f"value ({_TITLE[p.field]})" if hit and p.field in _TITLE else "assessment row"
    hit = hit or g
    return FhirProblem(hit[0].where, ", ".join(o.key for o in hit), element,
                       _shown_time(p.value) if p.field == "time" else p.value or "", p.message)


def _shown_time(value: str | None) -> str:
    """A row's time as a clinician reads it (06/12/2026 15:45 (UTC+0100)), not ISO 8601."""
    try:
        t = datetime.fromisoformat(value or "")
    except ValueError:
        return value or ""
    if t.tzinfo is None:
        return t.strftime("%d/%m/%Y %H:%M")
    return t.strftime("%d/%m/%Y %H:%M (UTC%z)").replace("UTC+0000", "UTC")


def _change(store: WardStore, o: ObservationResource, pid: str,
            before: dict[str, Any], by: str, out: Outcome) -> None:
    """A resource imported before comes back different (decision F2): ``amended`` or
    ``corrected`` replace its values in the stored row, ``entered-in-error`` withdraws them,
    each as an amendment with a reason; anything else is refused, never overwritten."""
    where = f"Observation/{o.resource_id}"
    if before.get("lab_id") is not None:
        raise FhirError([FhirProblem(o.where, where, "code", ",".join(o.fields),
                                     "imported before as a lab result, now a vital sign or "
                                     "neuro item: not imported")])
    if o.status not in ("amended", "corrected", IN_ERROR):
        raise FhirError([FhirProblem(o.where, where, "status", o.status,
                                     "imported before with other values: a change must come "
                                     "as amended, corrected or entered-in-error; nothing was "
                                     "overwritten")])
    at = before["assessed_at"]
    if before["assessment_id"] is None:
        raise FhirError([FhirProblem(o.where, where, "status", o.status,
                                     "imported before as entered-in-error, so never charted: "
                                     "chart the value at the bedside")])
    if o.status != IN_ERROR and o.at != before["effective_at"]:
        raise FhirError([FhirProblem(o.where, where, "effectiveDateTime", o.at.isoformat(),
                                     "an amendment that moves an observation to another "
                                     "time is not imported: correct it in the ward record")])
    row_id = _record(store).row_at(pid, at, current=True)
    if row_id is None:
        raise FhirError([FhirProblem(o.where, where, "status", o.status,
                                     "the row it was charted in is no longer current "
                                     "(entered in error in the ward record)")])
    current = next(h for h in store.history(pid) if h.id == row_id)
    values = {**current.values, "time": at}
    names = o.fields
    reason = (f"{'entered in error' if o.status == IN_ERROR else o.status} in the source "
              f"record ({o.source}, {where})")
    now = {k: current.values.get(k) for k in names}
    if now == ({k: None for k in names} if o.status == IN_ERROR
               else {k: o.values.get(k) for k in names}):
        out.unchanged += 1  # the row already says so (e.g. "amended" to the same value)
        return
    if o.status == IN_ERROR:
        for n in names:
            values[n] = None
        if all(values.get(k) in (None, "") for k in values if k not in ("time", "age_years")):
            store.mark_entered_in_error(row_id, reason, by=by)
            out.marked += 1
            out.since[pid] = min(out.since.get(pid, at), at)
            return
        out.marked += 1
    else:
        values.update(o.values)
        out.amended += 1
    store.amend_assessment(row_id, values, reason, by=by)
    out.since[pid] = min(out.since.get(pid, at), at)
