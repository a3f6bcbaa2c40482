"""The ward record's tables (SQLAlchemy Core). Changes go through migrations (Alembic).

Append-only: assessments, administrations, labs, attributions, grade confirmations, flags,
acknowledgements and the audit log are never updated or deleted (database triggers enforce it
for assessments and the audit log and the other clinical tables). A correction is a new row
whose ``replaces_id`` points at the row it corrects, with a reason; ``entered_in_error`` rows mark
without deleting.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from grading.fields import FIELDS

from .medications import DRUGS, INDICATIONS


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the ward record stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
ROLES = ("nurse", "physician", "educator", "admin")
PRODUCTS = ("axi-cel", "tisa-cel", "liso-cel", "brexu-cel", "ide-cel", "cilta-cel", "obe-cel",
            "investigational")
RECORD_STATUSES = ("final", "entered_in_error")

users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), sa.CheckConstraint(f"role IN {ROLES}"), nullable=False),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),  # 0002
    sa.Column("locked_until", UtcDateTime),                                        # 0002
)

# 0009: failed sign-ins per client and time window (docs/security.md "Roles and sign-in"). One
# row per (source, window) however many attempts, so its growth is bounded; rows older than a
# day are deleted (a counter, not part of the record: the audit log keeps the sign-ins).
sign_in_throttle = sa.Table(
    "sign_in_throttle", metadata,
    sa.Column("source", sa.String(80), primary_key=True),
    sa.Column("window_start", UtcDateTime, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Index("ix_sign_in_throttle_window", "window_start"),
)

patients = sa.Table(
    "patients", metadata,
    sa.Column("patient_id", sa.String(64), primary_key=True),
    sa.Column("hospital_number", sa.String(64)),
    sa.Column("name", sa.String(200)),
    sa.Column("date_of_birth", sa.Date),
    sa.Column("sex", sa.String(16)),
    sa.Column("weight_kg", sa.Float, sa.CheckConstraint("weight_kg BETWEEN 0.5 AND 350")),
    sa.Column("ward", sa.String(64)),
    sa.Column("bed", sa.String(32)),
    sa.Column("product", sa.String(32), sa.CheckConstraint(f"product IN {PRODUCTS}")),
    sa.Column("indication", sa.String(200)),
    sa.Column("infusion_time", UtcDateTime),
    sa.Column("lymphodepletion_at", UtcDateTime),                                  # 0006
    sa.Column("baseline_ice", sa.Integer, sa.CheckConstraint("baseline_ice BETWEEN 0 AND 10")),
    sa.Column("spo2_scale", sa.Integer, sa.CheckConstraint("spo2_scale IN (1, 2)"),
              nullable=False, server_default="1"),                                 # 0004
    sa.Column("admitted_at", UtcDateTime),
    sa.Column("discharged_at", UtcDateTime),
    sa.Column("is_demo", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
)


def canonical_columns() -> list[sa.Column]:
    """One column per canonical field except patient_id, time and infusion_time."""
    cols = []
    for f in FIELDS:
        if f.name in ("patient_id", "time", "infusion_time"):
            continue
        if f.kind == "number":
            cols.append(sa.Column(f.name, sa.Float))
        elif f.kind == "integer":
            cols.append(sa.Column(f.name, sa.Integer))
        elif f.kind == "boolean":
            cols.append(sa.Column(f.name, sa.Boolean))
        else:  # choice, or choices stored as the canonical ';'-joined text
            cols.append(sa.Column(f.name, sa.String(200)))
    return cols


def _record_columns() -> list[sa.Column]:
    """Who wrote the row and when, and what it corrects."""
    return [
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {RECORD_STATUSES}"),
                  nullable=False, default="final"),
        sa.Column("reason", sa.Text),
    ]


assessments = sa.Table(
    "assessments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("assessed_at", UtcDateTime, nullable=False),
    *_record_columns(),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("assessments.id")),
    # 0008: the newest row at the same patient and time when this one was written (0: none).
    # Unique with (patient_id, assessed_at), so two writers who both saw the same slot cannot
    # both land: one effective assessment per patient and time (docs/security.md).
    sa.Column("follows_id", sa.Integer),
    sa.Column("source", sa.String(16), nullable=False, default="form"),
    *canonical_columns(),
    sa.Index("ix_assessments_patient_time", "patient_id", "assessed_at"),
    sa.Index("ix_assessments_replaces", "replaces_id"),
    # 0008: one row per patient, time and predecessor; a row corrected once (docs/security.md)
    sa.Index("ux_assessments_slot", "patient_id", "assessed_at", "follows_id", unique=True),
    sa.Index("ux_assessments_replaces", "replaces_id", unique=True,
             sqlite_where=sa.text("follows_id IS NOT NULL"),
             postgresql_where=sa.text("follows_id IS NOT NULL")),
)

# kind -> (usual unit, canonical "given since the previous row" field or None): views of the
# one drug table (monitoring/medications.py), which has the routes and the dose limits too
ADMINISTRATION_KINDS = {k: (d.unit, d.field) for k, d in DRUGS.items()}
KIND_WORDS = {k: d.words for k, d in DRUGS.items()}  # kind -> how the pages name it

administrations = sa.Table(
    "administrations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("given_at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(32),
              sa.CheckConstraint(f"kind IN {tuple(ADMINISTRATION_KINDS)}"), nullable=False),
    sa.Column("dose", sa.Float, sa.CheckConstraint("dose > 0")),
    sa.Column("unit", sa.String(16)),                      # 0012: was 8 (µg/kg/min)
    sa.Column("route", sa.String(8)),                      # 0012: IV, SC, PO, PR, IM
    # 0016: why it was given (decision W20); rows written before say "not_stated"
    sa.Column("indication", sa.String(16),
              sa.CheckConstraint(f"indication IN {tuple(INDICATIONS)}"), nullable=False,
              server_default="not_stated"),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("administrations.id")),
    *_record_columns(),
    sa.Index("ix_administrations_patient_time", "patient_id", "given_at"),
)

labs = sa.Table(
    "labs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("taken_at", UtcDateTime, nullable=False),
    sa.Column("test", sa.String(32), nullable=False),
    sa.Column("value", sa.Float, nullable=False),          # in the canonical unit (spec §6.3)
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("entered_value", sa.Float, nullable=False),  # as entered
    sa.Column("entered_unit", sa.String(16), nullable=False),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("labs.id")),
    *_record_columns(),
    sa.Index("ix_labs_patient_time", "patient_id", "taken_at"),
)

attributions = sa.Table(
    "attributions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False),
    sa.Column("finding", sa.String(16), nullable=False),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("attributions.id")),
    *_record_columns(),
)

# 0012: a physician's attribution of a finding over a time range (issue 18 point 12, decision
# W15): every assessment from ``starts_at`` to ``ends_at`` (None: until further notice) has
# the finding attributed elsewhere. Ending or correcting one is a new row replacing it.
attribution_periods = sa.Table(
    "attribution_periods", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("finding", sa.String(16), nullable=False),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("ends_at", UtcDateTime),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("attribution_periods.id")),
    *_record_columns(),
    sa.Index("ix_attribution_periods_patient", "patient_id"),
)

# 0015: a patient's stays in intensive care (decision R10): transferred to the ICU, returned
# to the ward (None: still there). Recording the return, correcting a stay or marking it
# entered in error is a new row replacing it, once (the unique index); the return cannot
# precede the transfer (the check). One stay at a time is checked under the patient's lock.
icu_stays = sa.Table(
    "icu_stays", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("transferred_at", UtcDateTime, nullable=False),
    sa.Column("returned_at", UtcDateTime),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("icu_stays.id")),
    *_record_columns(),
    sa.CheckConstraint("returned_at IS NULL OR returned_at > transferred_at",
                       name="icu_stays_return_after_transfer"),
    sa.Index("ix_icu_stays_patient", "patient_id"),
    sa.Index("ux_icu_stays_replaces", "replaces_id", unique=True,
             sqlite_where=sa.text("replaces_id IS NOT NULL"),
             postgresql_where=sa.text("replaces_id IS NOT NULL")),
)

grade_confirmations = sa.Table(
    "grade_confirmations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False),
    sa.Column("syndrome", sa.String(8), sa.CheckConstraint("syndrome IN ('crs', 'icans')"),
              nullable=False),
    sa.Column("grade", sa.Integer, sa.CheckConstraint("grade BETWEEN 0 AND 5"), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("grade_confirmations.id")),
    *_record_columns(),
)

flags = sa.Table(
    "flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id")),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("raised_at", UtcDateTime, nullable=False),
    sa.Column("respond", sa.String(64)),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("flags.id")),
    *_record_columns(),
)

flag_acknowledgements = sa.Table(
    "flag_acknowledgements", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flag_id", sa.Integer, sa.ForeignKey("flags.id"), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("dismissed", sa.Boolean, nullable=False, default=False),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("flag_acknowledgements.id")),
    *_record_columns(),
)

notes = sa.Table(  # 0003: a physician's note on the course (free text, append-only)
    "notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("written_at", UtcDateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("notes.id")),
    *_record_columns(),
    sa.Index("ix_notes_patient", "patient_id"),
)

teaching_cases = sa.Table(  # 0005: cases educators built, in the teaching library (append-only)
    "teaching_cases", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("card", sa.Text, nullable=False),       # the case card, JSON (sample_data format)
    sa.Column("timeline", sa.Text, nullable=False),   # canonical CSV, ward-local clock times
    sa.Column("replaces_id", sa.Integer, sa.ForeignKey("teaching_cases.id")),
    *_record_columns(),
    sa.Index("ix_teaching_cases_case", "case_id"),
    # 0010: a version is replaced once and a case has one first version (rows from before 0010
    # that already broke this are left out of the indexes by id there, and audited)
    sa.Index("ux_teaching_cases_replaces", "replaces_id", unique=True,
             sqlite_where=sa.text("replaces_id IS NOT NULL"),
             postgresql_where=sa.text("replaces_id IS NOT NULL")),
    sa.Index("ux_teaching_cases_first", "case_id", unique=True,
             sqlite_where=sa.text("replaces_id IS NULL"),
             postgresql_where=sa.text("replaces_id IS NULL")),
)

fhir_provenance = sa.Table(  # 0013: where an imported FHIR resource came from (append-only)
    "fhir_provenance", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_system", sa.String(255), nullable=False),  # meta.source or fullUrl base
    sa.Column("resource_type", sa.String(32), nullable=False),
    sa.Column("resource_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # 1, 2, ... per resource: each change seen
    sa.Column("fhir_status", sa.String(32), nullable=False),
    sa.Column("content", sa.String(64), nullable=False),  # SHA-256 of the values read
    sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), nullable=False),
    sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id")),  # None: a Patient
    # 0014: the medication or lab row an imported MedicationAdministration / lab became
    sa.Column("administration_id", sa.Integer,
              sa.ForeignKey("administrations.id", name="fk_fhir_provenance_administration")),
    sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", name="fk_fhir_provenance_lab")),
    sa.Column("assessed_at", UtcDateTime),   # the row's time
    sa.Column("effective_at", UtcDateTime),  # the resource's own time (an Observation)
    sa.Column("imported_at", UtcDateTime, nullable=False),
    sa.Column("imported_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
    # one row per version of a resource: two imports of one change cannot both land
    sa.UniqueConstraint("source_system", "resource_type", "resource_id", "version",
                        name="ux_fhir_provenance_version"),
    sa.Index("ix_fhir_provenance_patient", "patient_id"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64)),
    sa.Column("patient_id", sa.String(64)),
    sa.Column("before", sa.Text),   # JSON
    sa.Column("after", sa.Text),    # JSON
    sa.Index("ix_audit_patient", "patient_id"),
)

# Every table is in exactly one of these three (tests/monitoring/test_database_rights.py): the
# application's PostgreSQL role may SELECT and INSERT all of them, UPDATE only the mutable ones
# (accounts, admission details), UPDATE and DELETE only the counters (the sign-in throttle's
# per-client windows, pruned after a day: no clinical data) and TRUNCATE none
# (monitoring.db.grant_app_role).
MUTABLE = ("users", "patients")
# The columns of the mutable tables the application changes (and may change: the app's role
# has UPDATE on these columns only). Accounts: a password, a lock-out, enabling, the role from
# a single sign-on claim. Admissions: the details a physician corrects with a reason
# (WardStore.update_patient) and the discharge. Never the key, who created the row and when,
# the admission time or whether a patient is synthetic demo data (docs/security.md).
UPDATABLE_COLUMNS = {
    "users": ("password_hash", "failed_attempts", "locked_until", "active", "role"),
    "patients": ("hospital_number", "name", "date_of_birth", "sex", "weight_kg", "ward", "bed",
                 "product", "indication", "infusion_time", "lymphodepletion_at",
                 "baseline_ice", "spo2_scale", "discharged_at"),
}
COUNTERS = ("sign_in_throttle",)
APPEND_ONLY = ("assessments", "audit_log", "administrations", "labs", "attributions",
               "attribution_periods",
               "grade_confirmations", "flags", "flag_acknowledgements", "notes",
               "teaching_cases", "fhir_provenance", "icu_stays")
