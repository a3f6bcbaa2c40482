"""The ward's use cases, one function each: what a page calls when a user saves something.

Each function takes the patient's lock (``WardStore.locked``) and, in that ONE transaction,
makes the write (the record audits it) and brings the patient's flags in line with the changed
record (``ward.sync_flags``): both land, or neither does (design.md "Packages and their
rooms"; cosmicpython's service layer). A page imports this module, the read functions of
``monitoring.ward`` / ``review`` / ``library`` and ``monitoring.vocabulary``; never the store,
the tables or SQLAlchemy (tests/ui/test_page_imports.py).

Recording a bedside assessment is ``ward.save`` (``record`` here): there, once the row is
stored, a failure of the resync is rolled back alone and the user told, so an observation is
never lost to a flag problem. Every other use case here rolls back its write when the resync
fails: the user sees "not saved" and tries again, and the flags never go stale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import grading
from grading.fields import DOSE_FIELDS, FIELD_BY_NAME, SCALE_INPUT_FIELDS
from grading.parse import InputError, Problem, file_problem

from . import auth, fhir, lab_csv, ward
from .course import course
from .db import (
    DatabaseError,
    DatabaseUnavailableError,
    SetupError,
    database_url,
    is_embedded_default,
)
from .demo import ensure_demo_ward
from .fhir.export import export_bundle
from .flag_rights import refusal as flag_refusal
from .medications import NOT_STATED
from .record import ConcurrentChangeError
from .review import tocilizumab_past_limits
from .store import SYSTEM_USER, PatientIn, StoredAssessment, StoreError, WardStore

# The ward record as pages hold it (from ``ui.session.store()``), for type hints only: pages
# read through it and write through the functions below.
Ward = WardStore
log = logging.getLogger(__name__)

__all__ = [
    "SYSTEM_USER",
    "AmendmentDraft",
    "ConcurrentChangeError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "PatientIn",
    "SetupError",
    "StoreError",
    "Ward",
    "acknowledge_flag",
    "acknowledge_many",
    "add_note",
    "add_user",
    "admit",
    "amend",
    "amend_icu_stay",
    "amend_lab",
    "amend_medication",
    "attribute",
    "attribute_period",
    "confirm_grade",
    "database_url",
    "discharge",
    "draft_amendment",
    "end_attribution_period",
    "flag_refusal",
    "icu_stay_in_error",
    "import_fhir",
    "import_labs",
    "is_embedded_default",
    "lab_in_error",
    "mark_in_error",
    "medication_in_error",
    "note",
    "open_ward",
    "record",
    "record_icu_return",
    "record_icu_transfer",
    "record_lab",
    "record_medication",
    "set_active",
    "set_password",
    "sign_in",
    "sso_sign_in",
    "update_patient",
]

record = ward.save  # the bedside save: write, audit and resync under the patient's lock


def open_ward(url: str, tz: str, *, demo_ward: bool) -> WardStore:
    """The ward record at ``url``, checked; only the embedded default is created (a mistyped
    ``DATABASE_URL`` must not start an empty ward). Once per database, the flags after
    migration 0007 are re-synced (decision W10); the demo ward is loaded if asked for."""
    store = WardStore(url, tz=tz, create=is_embedded_default(url), check=True)
    ward.resync_after_anticytokine_migration(store)
    if demo_ward:
        ensure_demo_ward(store)
    return store


def _assessment(store: WardStore, patient_id: str, assessment_id: int) -> StoredAssessment:
    """The stored assessment, read under the lock; refused if it is not this patient's (the
    lock taken must be the lock of the record changed)."""
    for h in store.history(patient_id):
        if h.id == assessment_id:
            return h
    raise StoreError(f"assessment #{assessment_id} is not in the record of patient "
                     f"'{patient_id}'")


FLAGS_FAILED = ("the patient's flags could not be brought up to date with this change, so "
                "nothing was saved; try again, and tell the administrator if it keeps happening")


def _resync(store: WardStore, patient_id: str, by: str, since: datetime | None = None,
            change: ward.Change | None = None) -> None:
    """``ward.sync_flags`` inside the caller's transaction. A failure undoes the write with it
    (the caller's ``locked`` rolls back) and reaches the page as a ``StoreError`` in plain
    words; the cause is logged for the administrator. ``change`` says what changed, for the
    one summary item of a change to the past (decision E13)."""
    try:
        ward.sync_flags(store, patient_id, by, since=since, change=change)
    except StoreError:
        raise
    except Exception as e:
        log.exception("flag resync for patient %s failed: the change was rolled back",
                      patient_id)
        raise StoreError(FLAGS_FAILED) from e


# ------------------------------------------------------------------------------ assessments
@dataclass(frozen=True)
class AmendmentDraft:
    """A correction as the record would take it: the values to store, what was left out and
    why (words), and the validator's problems in the context of the rest of the record."""

    values: dict[str, Any]
    left_out: list[str]
    problems: list[Problem]


def draft_amendment(store: WardStore, patient_id: str, assessment: StoredAssessment,
                    values: Mapping[str, Any], drawn: Collection[str], *,
                    validate: bool = True) -> AmendmentDraft:
    """The record's rules for a correction, before it is saved: ongoing support left blank on
    the stored row (= unchanged) stays blank unless the correction changes it (the form shows a
    blank device as room air and blank infusions as none); values the form does not draw are
    kept; a vasopressor dose goes with its infusion on the row; and the corrected row is
    validated with the rest of the record (a flow or a dose may rely on support recorded on an
    earlier row; the corrected row is row 1 in the messages)."""
    stored = assessment.values
    out = dict(values)
    for name, blank in (("o2_device", "room_air"), ("vasopressors", "none")):
        if stored.get(name) is None and out.get(name) == blank:
            del out[name]
    for name in ("age_years", "attributed_elsewhere", "died_of", *SCALE_INPUT_FIELDS):
        if stored.get(name) is not None and name not in drawn:
            out[name] = stored[name]
    left_out = []
    running = str(out.get("vasopressors") or "").split(";")
    for column, agent, _ in DOSE_FIELDS:
        if column in out and "vasopressors" in out and agent not in running:
            f, dose = FIELD_BY_NAME[column], out.pop(column)
            if dose is not None:
                left_out.append(f"{f.title} {dose:g} {f.unit} is left out: {agent} is no "
                                "longer running on this assessment.")
    problems: list[Problem] = []
    if not validate:  # the form has refused values already: say those first
        return AmendmentDraft(out, left_out, problems)
    others = [r for r in course(store, patient_id).rows if r["time"] != assessment.assessed_at]
    try:
        grading.from_rows([{"patient_id": patient_id, **out}, *others], tz=store.tz)
    except grading.InputError as e:
        problems = list(e.problems)
    return AmendmentDraft(out, left_out, problems)


def amend(store: WardStore, patient_id: str, assessment_id: int, values: Mapping[str, Any],
          reason: str, by: str) -> int:
    """Replace an assessment by a corrected version (the original stays, marked amended) and
    resync the flags from the earlier of its old and new times (E5). Returns the new id."""
    with store.locked([patient_id]):
        old = _assessment(store, patient_id, assessment_id)
        before = ward.grades_now(store, patient_id)
        new_id = store.amend_assessment(assessment_id, values, reason, by=by)
        at = values.get("time")
        since = min(old.assessed_at, at) if isinstance(at, datetime) else old.assessed_at
        _resync(store, patient_id, by, since, ward.Change(
            f"a correction of the assessment at {ward.when(store, old.assessed_at)}",
            before=before))
    return new_id


def mark_in_error(store: WardStore, patient_id: str, assessment_id: int, reason: str,
                  by: str) -> int:
    """Mark an assessment entered in error (it stays, no longer graded) and resync the flags
    from its time on (E5)."""
    with store.locked([patient_id]):
        old = _assessment(store, patient_id, assessment_id)
        before = ward.grades_now(store, patient_id)
        done = store.mark_entered_in_error(assessment_id, reason, by=by)
        _resync(store, patient_id, by, old.assessed_at, ward.Change(
            f"the assessment at {ward.when(store, old.assessed_at)} marked entered in error",
            before=before))
    return done


# ------------------------------------------------------------------------------ judgements
def attribute(store: WardStore, patient_id: str, assessment_id: int, finding: str,
              reason: str, by: str) -> int:
    """Attribute a finding at an assessment to another cause (excluded from grading) and
    resync the flags from that assessment on. An open flag the attribution explains is
    closed with it as the reason; flags it raises about the past are summarised as one item
    (decision E13)."""
    with store.locked([patient_id]):
        at = _assessment(store, patient_id, assessment_id).assessed_at
        before = ward.grades_now(store, patient_id)
        done = store.attribute(assessment_id, finding, reason, by=by)
        _resync(store, patient_id, by, at, ward.Change(
            f"the {finding} at {ward.when(store, at)} attributed to another cause by a "
            f"physician ({reason.strip()})", explains=True, before=before))
    return done


def attribute_period(store: WardStore, patient_id: str, finding: str, starts_at: datetime,
                     ends_at: datetime | None, reason: str, by: str) -> int:
    """A physician attributes a finding to another cause from ``starts_at`` until ``ends_at``
    (None: until further notice, so assessments charted later too; decision W15): one write,
    audited, and the flags resynced from ``starts_at`` on, in one transaction."""
    with store.locked([patient_id]):
        before = ward.grades_now(store, patient_id)
        done = store.attribute_period(patient_id, finding, starts_at, ends_at, reason, by=by)
        until = "until further notice" if ends_at is None else \
            f"until {ward.when(store, ends_at)}"
        _resync(store, patient_id, by, starts_at, ward.Change(
            f"the {finding} from {ward.when(store, starts_at)} {until} attributed to another "
            f"cause by a physician ({reason.strip()})", explains=True, before=before))
    return done


def end_attribution_period(store: WardStore, patient_id: str, period_id: int,
                           ends_at: datetime | None, reason: str, by: str) -> int:
    """End an attribution over a time range at ``ends_at`` (a new version, the original
    stays), or withdraw it altogether (``None``: entered in error); the flags are resynced
    from its start."""
    with store.locked([patient_id]):
        old = _row(store.attribution_periods(patient_id), period_id, "attribution",
                   patient_id)
        before = ward.grades_now(store, patient_id)
        done = store.end_attribution_period(patient_id, period_id, ends_at, reason, by=by)
        what = ("withdrawn" if ends_at is None else f"ended at {ward.when(store, ends_at)}")
        _resync(store, patient_id, by, old["starts_at"], ward.Change(
            f"the attribution of {old['finding']} from {ward.when(store, old['starts_at'])} "
            f"{what} by a physician", before=before))
    return done


def confirm_grade(store: WardStore, patient_id: str, assessment_id: int, syndrome: str,
                  grade: int, by: str, note: str | None = None) -> int:
    """A physician confirms (or overrides, with a note) a grade at an assessment; the flags are
    resynced from it on in the same transaction (a confirmation changes no computed grade
    today, so the resync finds nothing to do unless the flags had gone stale)."""
    with store.locked([patient_id]):
        at = _assessment(store, patient_id, assessment_id).assessed_at
        done = store.confirm_grade(assessment_id, syndrome, grade, by=by, note=note)
        _resync(store, patient_id, by, at)
    return done


def add_note(store: WardStore, patient_id: str, text: str, by: str) -> int:
    """A note on the patient's course, under the patient's lock. A note changes no grade or
    flag, so there is nothing to resync."""
    with store.locked([patient_id]):
        return store.add_note(patient_id, text, by=by)


# ------------------------------------------------------------------------------ patients
def admit(store: WardStore, patient: PatientIn | Mapping[str, Any], by: str) -> str:
    """Admit a patient (a mapping is validated by ``PatientIn``: ``pydantic.ValidationError``
    names the fields) and start its flags (none yet: no assessment)."""
    p = patient if isinstance(patient, PatientIn) else PatientIn.model_validate(patient)
    with store.locked([p.patient_id]):
        pid = store.admit(p, by=by)
        _resync(store, pid, by)
    return pid


def update_patient(store: WardStore, patient_id: str, changes: Mapping[str, Any], reason: str,
                   by: str) -> None:
    """Change a patient's details with a reason, and resync the flags over the whole course:
    the baseline ICE score and the NEWS2 SpO2 scale change what the rules say of every row."""
    with store.locked([patient_id]):
        before = ward.grades_now(store, patient_id)
        store.update_patient(patient_id, changes, reason, by=by)
        _resync(store, patient_id, by, change=ward.Change(
            "a change to the patient's details", before=before))


def discharge(store: WardStore, patient_id: str, by: str) -> None:
    """Discharge a patient (bedside charting ends; the record stays)."""
    with store.locked([patient_id]):
        store.discharge(patient_id, by=by)
        _resync(store, patient_id, by)


# ------------------------------------------------------------------------------ treatments
def _row(rows: list[dict[str, Any]], row_id: int, words: str, patient_id: str
         ) -> dict[str, Any]:
    for r in rows:
        if r["id"] == row_id:
            return r
    raise StoreError(f"{words} #{row_id} is not a current entry of patient '{patient_id}'")


def record_medication(store: WardStore, patient_id: str, kind: str, given_at: datetime,
                      by: str, dose: float | None = None, unit: str | None = None,
                      route: str | None = None, indication: str = NOT_STATED) -> int:
    """Record a medication or fluid given (checked against the drug table: route, unit, dose
    limits, decision W14; why it was given, W20), and resync the flags from its time on (an
    anti-cytokine agent, a steroid or a tocilizumab dose changes what the rules say of later
    rows; the indication changes none of them)."""
    with store.locked([patient_id]):
        before = ward.grades_now(store, patient_id)
        done = store.record_administration(patient_id, kind, given_at, by=by, dose=dose,
                                           unit=unit, route=route, indication=indication)
        _resync(store, patient_id, by, given_at, ward.Change(
            f"a medication recorded as given at {ward.when(store, given_at)}",
            before=before))
    return done


def amend_medication(store: WardStore, patient_id: str, administration_id: int,
                     given_at: datetime, dose: float | None, unit: str | None,
                     route: str | None, reason: str, by: str,
                     indication: str | None = None) -> int:
    """Correct a medication given (the original stays, replaced, with the reason) and resync
    the flags from the earlier of its old and new times. ``indication`` None keeps the one
    recorded (W20). Returns the new version's id."""
    with store.locked([patient_id]):
        old = _row(store.administrations(patient_id), administration_id, "medication",
                   patient_id)
        before = ward.grades_now(store, patient_id)
        done = store.amend_administration(patient_id, administration_id, given_at, dose, unit,
                                          route, reason, by=by, indication=indication)
        _resync(store, patient_id, by, min(old["given_at"], given_at), ward.Change(
            f"a correction of the medication given at {ward.when(store, old['given_at'])}",
            before=before))
    return done


def medication_in_error(store: WardStore, patient_id: str, administration_id: int,
                        reason: str, by: str) -> int:
    """Mark a medication entered in error (it stays, no longer counted) and resync the flags
    from its time on."""
    with store.locked([patient_id]):
        old = _row(store.administrations(patient_id), administration_id, "medication",
                   patient_id)
        before = ward.grades_now(store, patient_id)
        done = store.mark_administration_in_error(patient_id, administration_id, reason, by=by)
        _resync(store, patient_id, by, old["given_at"], ward.Change(
            f"the medication given at {ward.when(store, old['given_at'])} marked entered in "
            "error", before=before))
    return done


def record_lab(store: WardStore, patient_id: str, test: str, value: float, unit: str,
               taken_at: datetime, by: str) -> int:
    """Record a lab result, and resync the flags from the time it was taken (a lab rule's
    flag about the past filed under one summary, decision E13)."""
    with store.locked([patient_id]):
        done = store.record_lab(patient_id, test, value, unit, taken_at, by=by)
        _resync(store, patient_id, by, taken_at, ward.Change(
            f"a lab result recorded as taken at {ward.when(store, taken_at)}"))
    return done


def amend_lab(store: WardStore, patient_id: str, lab_id: int, value: float, unit: str,
              taken_at: datetime, reason: str, by: str) -> int:
    """Correct a lab result (the original stays, replaced, with the reason)."""
    with store.locked([patient_id]):
        old = _row(store.labs(patient_id), lab_id, "lab result", patient_id)
        done = store.amend_lab(patient_id, lab_id, value, unit, taken_at, reason, by=by)
        _resync(store, patient_id, by, min(old["taken_at"], taken_at), ward.Change(
            f"a correction of the lab result taken at {ward.when(store, old['taken_at'])}"))
    return done


def lab_in_error(store: WardStore, patient_id: str, lab_id: int, reason: str, by: str) -> int:
    """Mark a lab result entered in error (it stays, no longer used by the lab scores)."""
    with store.locked([patient_id]):
        old = _row(store.labs(patient_id), lab_id, "lab result", patient_id)
        done = store.mark_lab_in_error(patient_id, lab_id, reason, by=by)
        _resync(store, patient_id, by, old["taken_at"], ward.Change(
            f"the lab result taken at {ward.when(store, old['taken_at'])} marked entered in "
            "error"))
    return done


# ------------------------------------------------------------------------------ intensive care
# A transfer to intensive care and back (decision R10): the registry reads them; no grade,
# flag or schedule does, so there is no flag resync. Each write runs under the patient's lock,
# where the record checks one stay at a time.
def record_icu_transfer(store: WardStore, patient_id: str, transferred_at: datetime, by: str,
                        returned_at: datetime | None = None) -> int:
    """Record a transfer to intensive care (with its return, when charted afterwards)."""
    with store.locked([patient_id]):
        return store.record_icu_transfer(patient_id, transferred_at, by=by,
                                         returned_at=returned_at)


def record_icu_return(store: WardStore, patient_id: str, stay_id: int, returned_at: datetime,
                      by: str) -> int:
    """Record the return to the ward of the patient's open ICU stay (a new version of it)."""
    with store.locked([patient_id]):
        return store.record_icu_return(patient_id, stay_id, returned_at, by=by)


def amend_icu_stay(store: WardStore, patient_id: str, stay_id: int, transferred_at: datetime,
                   returned_at: datetime | None, reason: str, by: str) -> int:
    """Correct an ICU stay's times with a reason (the original stays in the history)."""
    with store.locked([patient_id]):
        return store.amend_icu_stay(patient_id, stay_id, transferred_at, returned_at, reason,
                                    by=by)


def icu_stay_in_error(store: WardStore, patient_id: str, stay_id: int, reason: str,
                      by: str) -> int:
    """Mark an ICU stay entered in error (it stays, no longer counted)."""
    with store.locked([patient_id]):
        return store.mark_icu_stay_in_error(patient_id, stay_id, reason, by=by)


def import_labs(store: WardStore, source: str | Path | bytes, by: str, *,
                file_name: str | None = None) -> int:
    """Import a lab CSV file (docs/markers.md "Lab CSV format") atomically: every row checked
    first (``lab_csv.read``: the file, each cell, the record's own check of each result,
    duplicates within the file), then, under the patients' locks, each patient known and no
    current result of the same test at the same time already stored; any problem and
    nothing is stored (``InputError`` naming row, column, value and what is allowed). Else
    every result is stored (``record_labs``: converted, audited) and each patient's flags
    resynced, in ONE transaction. Each result is audited as an import with the file's name
    (``file_name``, else the path's) and its row (decision F10). Returns how many results
    were imported."""
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        file_name = file_name or path.name
        if path.is_file() and path.stat().st_size > lab_csv.MAX_BYTES:
            raise InputError([file_problem(f"the file has {path.stat().st_size:,} bytes; a "
                                           f"lab file may have at most {lab_csv.MAX_BYTES:,} "
                                           "(split it)")])
        data = path.read_bytes()
    rows = lab_csv.read(data)
    pids = sorted({r.patient_id for r in rows})
    with store.locked(pids):
        problems: list[Problem] = []
        stored: dict[str, dict[tuple[str, datetime], dict[str, Any]]] = {}
        for pid in pids:
            if store.patient(pid) is not None:
                stored[pid] = {(x["test"], x["taken_at"]): x for x in store.labs(pid)}
        for r in rows:
            if r.patient_id not in stored:
                problems.append(Problem("patient_id", "not_allowed", f"unknown patient "
                                        f"'{r.patient_id}': admit the patient first (a lab "
                                        "file never admits one)", row=r.row,
                                        value=r.patient_id))
                continue
            same = stored[r.patient_id].get((r.test, r.taken_at))
            if same is not None:
                problems.append(Problem("taken_at", "duplicate_time", (
                    f"patient {r.patient_id} already has a {lab_csv.ANALYTES[r.test].words} "
                    f"taken at this time ({same['entered_value']:g} {same['entered_unit']}, "
                    f"result #{same['id']}); to change it, correct that result on the lab "
                    "page (with a reason)"), row=r.row,
                    value=r.taken_text))
        if problems:
            raise InputError(lab_csv.bounded(problems))
        for pid in pids:
            mine = [r for r in rows if r.patient_id == pid]
            store.record_labs(pid, [(r.test, r.value, r.unit, r.taken_at) for r in mine], by,
                              imported=[{"via": "lab CSV", "file": file_name, "row": r.row}
                                        for r in mine])
            _resync(store, pid, by, min(r.taken_at for r in mine), ward.Change(
                f"an import of {len(mine)} lab result{'s' if len(mine) != 1 else ''} "
                "from a file"))
    return len(rows)


# ------------------------------------------------------------------------------ flags
def acknowledge_flag(store: WardStore, patient_id: str, flag_id: int, action: str, by: str,
                     *, dismiss: bool = False, reason: str | None = None) -> int:
    """Acknowledge (or dismiss, with a reason) one of the patient's flags, under the patient's
    lock so it cannot cross a resync of the same flags. Only a nurse or a physician closes a
    real patient's flag; a flag asking for a physician is dismissed by a physician only
    (``flag_rights``, decision E12): the record refuses anyone else."""
    return acknowledge_many(store, patient_id, [flag_id], action, by, dismiss=dismiss,
                            reason=reason)[0]


def acknowledge_many(store: WardStore, patient_id: str, flag_ids: Collection[int],
                     action: str, by: str, *, dismiss: bool = False,
                     reason: str | None = None) -> list[int]:
    """Acknowledge several of the patient's open flags with one action taken (or dismiss them
    with one reason): one transaction under the patient's lock, each flag audited on its
    own. All or none: a flag of another patient, a flag closed meanwhile (another
    workstation, a resync) or one this user may not close (E12) refuses the whole set, so
    the user can reload and choose again."""
    ids = list(dict.fromkeys(flag_ids))
    if not ids:
        raise StoreError("choose at least one flag to acknowledge")
    with store.locked([patient_id]):
        mine = {f["id"]: f for f in store.flags(patient_id)}
        for flag_id in ids:
            if flag_id not in mine:
                raise StoreError(f"flag #{flag_id} is not a flag of patient '{patient_id}'")
        return store.acknowledge_flags(ids, action, by=by, dismiss=dismiss, reason=reason)


# ------------------------------------------------------------------------------ FHIR import
def import_fhir(store: WardStore, paths: Collection[str | Path], by: str,
                progress: Callable[[int, int], None] | None = None,
                checking: Callable[[int, int], None] | None = None,
                treating: Callable[[int, int], None] | None = None) -> fhir.Outcome:
    """Import FHIR R4 Bundles / Bulk Data NDJSON (docs/fhir.md): the files are read and every
    resource checked first; then, in ONE transaction under the patients' locks, the
    patients admitted, the new assessment rows imported through the canonical CSV import,
    the medications and lab results recorded through the record the medications and labs
    page writes with (the same checks; decisions F6-F9),
    changed resources applied as amendments with a reason, the provenance and the audit
    written, and each patient's flags resynced. ``checking(checked, total)`` follows the
    check of the resources, ``progress(written, total)`` the assessment rows written,
    ``treating(written, total)`` the medications and lab results (``fhir.load.write``). Any
    problem (``fhir.FhirError``, ``InputError``, ``StoreError``) and nothing is stored."""
    found = fhir.read_all([Path(p) for p in paths], checking)
    batch = fhir.resolve(store, found.patients, found.observations, found.medications,
                         found.labs)
    with store.locked(batch.patient_ids):
        before = {pid: ward.grades_now(store, pid) for pid in batch.patient_ids
                  if store.patient(pid) is not None}
        done = fhir.write(store, batch, by, progress, treating)
        done.derived = found.derived
        for pid, given in sorted(done.tocilizumab.items()):
            for at, why in tocilizumab_past_limits(store.timeline_rows(pid),
                                                   store.administrations(pid), given):
                done.tocilizumab_limits.append(
                    f"patient {pid}: an imported tocilizumab dose, given {ward.when(store, at)}, "
                    f"went past the dosing limits; before it: {why}. A physician checks the "
                    "doses on Medications and labs.")
        for pid, since in sorted(done.since.items()):
            _resync(store, pid, by, since, ward.Change(
                "an import from the hospital record (FHIR)", before=before.get(pid)))
    return done


def fhir_bundle(store: WardStore, patient_id: str, by: str) -> bytes:
    """One patient's FHIR R4 Bundle (``fhir.export.export_bundle``, docs/fhir.md "Export") as
    UTF-8 JSON, for a download: read in one transaction under the patient's lock, so the
    observations, grades, episodes and flags in it are one state of the record; the export
    is audited (who, when, how many resources). An educator exports synthetic demo patients
    only (as everywhere, design.md "Roles")."""
    with store.locked([patient_id]):
        patient, account = store.patient(patient_id), store.user(by)
        if patient is None:
            raise StoreError(f"unknown patient '{patient_id}'")
        if account is None or not account["active"]:
            raise StoreError(f"user '{by}' may not export: no active account")
        if not patient["is_demo"] and not auth.SEES_REAL_PATIENTS.get(account["role"], False):
            raise StoreError(f"user '{by}' ({account['role']}) may not export a real "
                             "patient's record: synthetic demo patients only")
        bundle = export_bundle(store, patient_id)
        store.note(by, "fhir_export", "patient", patient_id, patient_id,
                   after={"resources": len(bundle["entry"])})
    return json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")


# ------------------------------------------------------------------------------ accounts, audit
def add_user(store: WardStore, username: str, role: str, by: str, display_name: str | None = None,
             password: str | None = None) -> None:
    """Create an account and, if given, its password, in one transaction (both or neither)."""
    with store.locked([]):
        store.add_user(username, role, by=by, display_name=display_name)
        if password is not None:
            store.set_password(username, password, by=by)


def sign_in(store: WardStore, username: str, password: str, *,
            policy: auth.SignInPolicy = auth.DEFAULT_POLICY, client: str | None = None,
            refuse: Collection[str] = ()) -> auth.SignIn:
    """A local sign-in: checked, throttled per client, locked out after failures, audited."""
    return store.sign_in(username, password, policy=policy, client=client, refuse=refuse)


def sso_sign_in(store: WardStore, username: str, display_name: str | None,
                role: str | None) -> auth.SignIn:
    """A single sign-on: the account made or updated from the identity provider, audited."""
    return store.sso_sign_in(username, display_name, role)


def set_password(store: WardStore, username: str, password: str, by: str) -> None:
    store.set_password(username, password, by=by)


def set_active(store: WardStore, username: str, active: bool, by: str) -> None:
    store.set_active(username, active, by=by)


def note(store: WardStore, by: str, action: str, entity: str, entity_id: object,
         patient_id: str | None = None, after: object = None) -> None:
    """An audit entry for something seen or refused (a page refused, a quiz completed)."""
    store.note(by, action, entity, entity_id, patient_id, after)
