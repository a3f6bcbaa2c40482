"""``WardStore``: the ward record as one object, for the callers written before the record was
split by concern. Every method hands over to the repository of its concern on the unit of work
(``uow``): ``SqlUnitOfWork`` (SQLite or PostgreSQL) or ``MemoryUnitOfWork`` (plain Python, for
tests where the database is not the point). New code may use ``store.uow.<concern>`` directly."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import grading

from .. import auth
from .. import tables as t
from ..medications import NOT_STATED
from .model import SYSTEM_USER, PatientIn, StoredAssessment

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .memory import MemoryUnitOfWork
    from .unit_of_work import SqlUnitOfWork


class WardStore:
    """The ward record (SQLite file by default, or ``DATABASE_URL``; or in memory)."""

    PATIENT_EDITABLE = t.UPDATABLE_COLUMNS["patients"]  # the app role's UPDATE columns too

    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None,
                 tz: str = "UTC", create: bool = True, check: bool = False,
                 uow: SqlUnitOfWork | MemoryUnitOfWork | None = None) -> None:
        """``create``: a SQLite file that does not exist yet may be created (``init``, the
        embedded default); ``check``: run SQLite's integrity check first (the commands and the
        app). A database that cannot be used raises ``DatabaseUnavailableError``. ``uow``: an
        existing unit of work instead (e.g. ``MemoryUnitOfWork``)."""
        if uow is None:
            from .unit_of_work import SqlUnitOfWork
            uow = SqlUnitOfWork(url, engine=engine, tz=tz, create=create, check=check)
        self.uow = uow

    @classmethod
    def in_memory(cls, tz: str = "UTC") -> WardStore:
        """A ward record held in plain Python structures: the same rules and answers, no
        database (tests of services, escalation and UI logic)."""
        from .memory import MemoryUnitOfWork
        return cls(uow=MemoryUnitOfWork(tz))

    @property
    def tz(self) -> ZoneInfo:
        return self.uow.tz

    @property
    def engine(self) -> sa.Engine:
        return self.uow.engine  # type: ignore[union-attr]  # the SQL record only

    def locked(self, patient_ids: Iterable[str]) -> AbstractContextManager[Any]:
        """One write transaction holding the patients' locks: every store call made inside it
        by this thread joins it, so checks, writes, audit entries and the flag resync see one
        state of the record and land together, or not at all."""
        return self.uow.locked(patient_ids)

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside ``locked``: a part that may fail without undoing the rest."""
        return self.uow.savepoint()

    # ---------------------------------------------------------- users (UserRecord)
    def add_user(self, username: str, role: str, by: str = SYSTEM_USER,
                 display_name: str | None = None, password_hash: str | None = None) -> None:
        return self.uow.users.add_user(username, role, by, display_name, password_hash)

    def set_password(self, username: str, password: str, by: str) -> None:
        return self.uow.users.set_password(username, password, by)

    def set_active(self, username: str, active: bool, by: str) -> None:
        return self.uow.users.set_active(username, active, by)

    def sign_in(self, username: str, password: str, at: datetime | None = None,
                policy: auth.SignInPolicy = auth.DEFAULT_POLICY, client: str | None = None,
                refuse: Collection[str] = ()) -> auth.SignIn:
        return self.uow.users.sign_in(username, password, at, policy, client, refuse)

    def sso_sign_in(self, username: str, display_name: str | None, role: str | None,
                    at: datetime | None = None) -> auth.SignIn:
        return self.uow.users.sso_sign_in(username, display_name, role, at)

    def user(self, username: str) -> dict[str, Any] | None:
        return self.uow.users.user(username)

    def users(self) -> list[dict[str, Any]]:
        return self.uow.users.users()

    # ---------------------------------------------------------- patients (PatientRecord)
    def admit(self, patient: PatientIn | Mapping[str, Any], by: str) -> str:
        return self.uow.patients.admit(patient, by)

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        return self.uow.patients.patient(patient_id)

    def patients(self, *, demo: bool | None = None, admitted_only: bool = False
                 ) -> list[dict[str, Any]]:
        return self.uow.patients.patients(demo=demo, admitted_only=admitted_only)

    def discharge(self, patient_id: str, by: str, at: datetime | None = None) -> None:
        return self.uow.patients.discharge(patient_id, by, at)

    def update_patient(self, patient_id: str, changes: Mapping[str, Any], reason: str,
                       by: str) -> None:
        return self.uow.patients.update_patient(patient_id, changes, reason, by)

    def clear_demo_patient(self, patient_id: str, reason: str, by: str) -> int:
        return self.uow.patients.clear_demo_patient(patient_id, reason, by)

    # ---------------------------------------------------------- assessments (AssessmentRecord)
    def record_assessment(self, patient_id: str, values: Mapping[str, Any], by: str,
                          source: str = "form") -> int:
        return self.uow.assessments.record_assessment(patient_id, values, by, source)

    def amend_assessment(self, assessment_id: int, values: Mapping[str, Any], reason: str,
                         by: str) -> int:
        return self.uow.assessments.amend_assessment(assessment_id, values, reason, by)

    def mark_entered_in_error(self, assessment_id: int, reason: str, by: str) -> int:
        return self.uow.assessments.mark_entered_in_error(assessment_id, reason, by)

    def mark_many_entered_in_error(self, assessment_ids: Sequence[int], reason: str,
                                   by: str) -> list[int]:
        return self.uow.assessments.mark_many_entered_in_error(assessment_ids, reason, by)

    def history(self, patient_id: str) -> list[StoredAssessment]:
        return self.uow.assessments.history(patient_id)

    def record_problems(self, patient_ids: Sequence[str] | None = None,
                        *, duplicates: bool = True) -> dict[str, list[str]]:
        return self.uow.assessments.record_problems(patient_ids, duplicates=duplicates)

    # ---------------------------------------------------------- timeline (TimelineRecord)
    def timeline_rows(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        return self.uow.timeline.timeline_rows(patient_id)

    def timeline(self, patient_id: str) -> grading.Assessments:
        return self.uow.timeline.timeline(patient_id)

    def timelines(self, patient_ids: Sequence[str]
                  ) -> tuple[grading.Assessments | None, list[int]]:
        return self.uow.timeline.timelines(patient_ids)

    # ---------------------------------------------------------- treatments (TreatmentRecord)
    def record_administration(self, patient_id: str, kind: str, given_at: datetime, by: str,
                              dose: float | None = None, unit: str | None = None,
                              route: str | None = None, indication: str = NOT_STATED, *,
                              imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.record_administration(patient_id, kind, given_at, by, dose,
                                                         unit, route, indication,
                                                         imported=imported)

    def record_administrations(self, patient_id: str, doses: Sequence[tuple[Any, ...]], by: str,
                               *, imported: Sequence[Mapping[str, Any]] | None = None
                               ) -> list[int]:
        return self.uow.treatments.record_administrations(patient_id, doses, by,
                                                          imported=imported)

    def record_lab(self, patient_id: str, test: str, value: float, unit: str,
                   taken_at: datetime, by: str, *,
                   imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.record_lab(patient_id, test, value, unit, taken_at, by,
                                              imported=imported)

    def record_labs(self, patient_id: str,
                    results: Sequence[tuple[str, float, str, datetime]], by: str, *,
                    imported: Sequence[Mapping[str, Any]] | None = None) -> list[int]:
        return self.uow.treatments.record_labs(patient_id, results, by, imported=imported)

    def mark_medications_and_labs_entered_in_error(
            self, patient_id: str, reason: str, by: str) -> int:
        return self.uow.treatments.mark_medications_and_labs_entered_in_error(
            patient_id, reason, by)

    def labs(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.treatments.labs(patient_id)

    def amend_administration(self, patient_id: str, administration_id: int, given_at: datetime,
                             dose: float | None, unit: str | None, route: str | None,
                             reason: str, by: str, indication: str | None = None, *,
                             imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.amend_administration(
            patient_id, administration_id, given_at, dose, unit, route, reason, by, indication,
            imported=imported)

    def amend_lab(self, patient_id: str, lab_id: int, value: float, unit: str,
                  taken_at: datetime, reason: str, by: str, *,
                  imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.amend_lab(patient_id, lab_id, value, unit, taken_at, reason,
                                             by, imported=imported)

    def mark_administration_in_error(self, patient_id: str, administration_id: int,
                                     reason: str, by: str, *,
                                     imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.mark_administration_in_error(patient_id, administration_id,
                                                                reason, by, imported=imported)

    def mark_lab_in_error(self, patient_id: str, lab_id: int, reason: str, by: str, *,
                          imported: Mapping[str, Any] | None = None) -> int:
        return self.uow.treatments.mark_lab_in_error(patient_id, lab_id, reason, by,
                                                     imported=imported)

    def treatment_history(self, patient_id: str) -> dict[str, list[dict[str, Any]]]:
        return self.uow.treatments.treatment_history(patient_id)

    def administrations(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.treatments.administrations(patient_id)

    # ---------------------------------------------------------- intensive care (IcuRecord)
    def record_icu_transfer(self, patient_id: str, transferred_at: datetime, by: str,
                            returned_at: datetime | None = None) -> int:
        return self.uow.icu.record_icu_transfer(patient_id, transferred_at, by, returned_at)

    def record_icu_return(self, patient_id: str, stay_id: int, returned_at: datetime,
                          by: str) -> int:
        return self.uow.icu.record_icu_return(patient_id, stay_id, returned_at, by)

    def amend_icu_stay(self, patient_id: str, stay_id: int, transferred_at: datetime,
                       returned_at: datetime | None, reason: str, by: str) -> int:
        return self.uow.icu.amend_icu_stay(patient_id, stay_id, transferred_at, returned_at,
                                           reason, by)

    def mark_icu_stay_in_error(self, patient_id: str, stay_id: int, reason: str,
                               by: str) -> int:
        return self.uow.icu.mark_icu_stay_in_error(patient_id, stay_id, reason, by)

    def icu_stays(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.icu.icu_stays(patient_id)

    def icu_history(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.icu.icu_history(patient_id)

    def in_icu(self, patient_ids: list[str] | None = None) -> dict[str, datetime]:
        return self.uow.icu.in_icu(patient_ids)

    # ---------------------------------------------------------- judgements (JudgementRecord)
    def attribute(self, assessment_id: int, finding: str, reason: str, by: str) -> int:
        return self.uow.judgements.attribute(assessment_id, finding, reason, by)

    def attribute_period(self, patient_id: str, finding: str, starts_at: datetime,
                         ends_at: datetime | None, reason: str, by: str) -> int:
        return self.uow.judgements.attribute_period(patient_id, finding, starts_at, ends_at,
                                                    reason, by)

    def end_attribution_period(self, patient_id: str, period_id: int, ends_at: datetime | None,
                               reason: str, by: str) -> int:
        return self.uow.judgements.end_attribution_period(patient_id, period_id, ends_at,
                                                          reason, by)

    def attribution_periods(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.judgements.attribution_periods(patient_id)

    def confirm_grade(self, assessment_id: int, syndrome: str, grade: int, by: str,
                      note: str | None = None) -> int:
        return self.uow.judgements.confirm_grade(assessment_id, syndrome, grade, by, note)

    def confirmations(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.judgements.confirmations(patient_id)

    def add_note(self, patient_id: str, text: str, by: str, at: datetime | None = None) -> int:
        return self.uow.judgements.add_note(patient_id, text, by, at)

    def notes(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.judgements.notes(patient_id)

    def attributions(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.judgements.attributions(patient_id)

    # ---------------------------------------------------------- flags (FlagRecord)
    def raise_flag(self, patient_id: str, code: str, severity: str, message: str,
                   raised_at: datetime, by: str = SYSTEM_USER, assessment_id: int | None = None,
                   respond: str | None = None) -> int:
        return self.uow.flags.raise_flag(
            patient_id, code, severity, message, raised_at, by, assessment_id, respond)

    def acknowledge_flag(self, flag_id: int, action: str, by: str, dismiss: bool = False,
                         reason: str | None = None) -> int:
        return self.uow.flags.acknowledge_flag(flag_id, action, by, dismiss, reason)

    def acknowledge_flags(self, flag_ids: Sequence[int], action: str, by: str,
                          dismiss: bool = False, reason: str | None = None) -> list[int]:
        return self.uow.flags.acknowledge_flags(flag_ids, action, by, dismiss, reason)

    def withdraw_flag(self, flag_id: int, reason: str, by: str = SYSTEM_USER) -> int:
        return self.uow.flags.withdraw_flag(flag_id, reason, by)

    def flags(self, patient_id: str) -> list[dict[str, Any]]:
        return self.uow.flags.flags(patient_id)

    def open_flags(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        return self.uow.flags.open_flags(patient_id)

    # ---------------------------------------------------------- teaching (TeachingRecord)
    def save_teaching_case(self, case_id: str, title: str, card: str, timeline: str,
                           by: str, reason: str | None = None) -> int:
        return self.uow.teaching.save_teaching_case(case_id, title, card, timeline, by, reason)

    def teaching_cases(self) -> list[dict[str, Any]]:
        return self.uow.teaching.teaching_cases()

    def teaching_case_versions(self, case_id: str) -> list[dict[str, Any]]:
        return self.uow.teaching.teaching_case_versions(case_id)

    # ---------------------------------------------------------- audit (AuditRecord)
    def audit(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        return self.uow.audit.audit(patient_id)

    def note(self, by: str, action: str, entity: str, entity_id: object,
             patient_id: str | None = None, after: object = None) -> None:
        return self.uow.audit.note(by, action, entity, entity_id, patient_id, after)

    def claim_once(self, task: str, by: str = SYSTEM_USER) -> bool:
        return self.uow.audit.claim_once(task, by)

    def data_version(self) -> int:
        return self.uow.audit.data_version()

    # ---------------------------------------------------------- csv (CsvRecord)
    def import_csv(self, source: str | Path | bytes, by: str, *, demo: bool = False,
                   progress: Callable[[int, int], None] | None = None,
                   chunk: int = 5000) -> int:
        return self.uow.csv.import_csv(source, by, demo=demo, progress=progress, chunk=chunk)

    def export_csv(self, patient_id: str | None = None) -> str:
        return self.uow.csv.export_csv(patient_id)
