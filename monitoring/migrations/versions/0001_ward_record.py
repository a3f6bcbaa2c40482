"""The ward record: users, patients, append-only clinical rows and the audit log.

Every table is written out here as it was at this revision; each later revision adds only
what it brings (never a read of ``monitoring.tables``, whose definitions move on), so a
database at any revision upgrades to the newest by running the revisions after it.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# As at this revision, frozen (later values belong to later revisions).
ROLES = ("nurse", "physician", "educator", "admin")
PRODUCTS = ("axi-cel", "tisa-cel", "liso-cel", "brexu-cel", "ide-cel", "cilta-cel", "obe-cel",
            "investigational")
STATUSES = ("final", "entered_in_error")
KINDS = ("tocilizumab", "dexamethasone", "methylprednisolone", "anakinra", "antipyretic",
         "fluid_bolus")
APPEND_ONLY = ("assessments", "audit_log", "administrations", "labs", "attributions",
               "grade_confirmations", "flags", "flag_acknowledgements")

# The canonical assessment fields of the bedside record at this revision (grading/fields.py
# then), in their order: name and stored type. 0006 and 0007 add the later ones.
FLOAT, INTEGER, BOOLEAN, TEXT = "float", "integer", "boolean", "text"
CANONICAL = (
    ("age_years", FLOAT), ("temp_c", FLOAT), ("hr_bpm", INTEGER), ("sbp_mmhg", INTEGER),
    ("dbp_mmhg", INTEGER), ("rr_per_min", INTEGER), ("spo2_pct", INTEGER),
    ("o2_device", TEXT), ("o2_flow_l_min", FLOAT), ("fio2_pct", FLOAT),
    ("vasopressors", TEXT), ("antipyretic_given", BOOLEAN), ("tocilizumab_given", BOOLEAN),
    ("corticosteroid_given", BOOLEAN), ("fluid_bolus_given", BOOLEAN),
    ("ice_orientation", INTEGER), ("ice_naming", INTEGER), ("ice_commands", INTEGER),
    ("ice_writing", INTEGER), ("ice_attention", INTEGER), ("capd_total", INTEGER),
    ("sedated", BOOLEAN), ("consciousness", TEXT), ("seizure", TEXT),
    ("motor_weakness", TEXT), ("cerebral_edema", TEXT), ("raised_icp_signs", TEXT),
    ("attributed_elsewhere", TEXT), ("died_of", TEXT),
)
TYPES = {FLOAT: sa.Float, INTEGER: sa.Integer, BOOLEAN: sa.Boolean, TEXT: lambda: sa.String(200)}


def _time() -> sa.DateTime:
    """Timezone-aware times (stored as UTC; SQLite keeps them without an offset)."""
    return sa.DateTime(timezone=True)


def _record_columns() -> list[sa.Column]:
    """Who wrote the row and when, and whether it stands."""
    return [
        sa.Column("recorded_at", _time(), nullable=False),
        sa.Column("recorded_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("status", sa.String(20), sa.CheckConstraint(f"status IN {STATUSES}"),
                  nullable=False),
        sa.Column("reason", sa.Text),
    ]


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _patient() -> sa.Column:
    return sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), sa.CheckConstraint(f"role IN {ROLES}"), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "patients",
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
        sa.Column("infusion_time", _time()),
        sa.Column("baseline_ice", sa.Integer,
                  sa.CheckConstraint("baseline_ice BETWEEN 0 AND 10")),
        sa.Column("admitted_at", _time()),
        sa.Column("discharged_at", _time()),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
    )
    op.create_table(
        "assessments",
        _id(),
        _patient(),
        sa.Column("assessed_at", _time(), nullable=False),
        *_record_columns(),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("assessments.id")),
        sa.Column("source", sa.String(16), nullable=False),
        *(sa.Column(name, TYPES[kind]()) for name, kind in CANONICAL),
    )
    op.create_index("ix_assessments_patient_time", "assessments", ["patient_id", "assessed_at"])
    op.create_index("ix_assessments_replaces", "assessments", ["replaces_id"])
    op.create_table(
        "administrations",
        _id(),
        _patient(),
        sa.Column("given_at", _time(), nullable=False),
        sa.Column("kind", sa.String(32), sa.CheckConstraint(f"kind IN {KINDS}"), nullable=False),
        sa.Column("dose", sa.Float, sa.CheckConstraint("dose > 0")),
        sa.Column("unit", sa.String(8)),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("administrations.id")),
        *_record_columns(),
    )
    op.create_index("ix_administrations_patient_time", "administrations",
                    ["patient_id", "given_at"])
    op.create_table(
        "labs",
        _id(),
        _patient(),
        sa.Column("taken_at", _time(), nullable=False),
        sa.Column("test", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("entered_value", sa.Float, nullable=False),
        sa.Column("entered_unit", sa.String(16), nullable=False),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("labs.id")),
        *_record_columns(),
    )
    op.create_index("ix_labs_patient_time", "labs", ["patient_id", "taken_at"])
    op.create_table(
        "attributions",
        _id(),
        _patient(),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("finding", sa.String(16), nullable=False),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("attributions.id")),
        *_record_columns(),
    )
    op.create_table(
        "grade_confirmations",
        _id(),
        _patient(),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("syndrome", sa.String(8), sa.CheckConstraint("syndrome IN ('crs', 'icans')"),
                  nullable=False),
        sa.Column("grade", sa.Integer, sa.CheckConstraint("grade BETWEEN 0 AND 5"),
                  nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("grade_confirmations.id")),
        *_record_columns(),
    )
    op.create_table(
        "flags",
        _id(),
        _patient(),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id")),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("raised_at", _time(), nullable=False),
        sa.Column("respond", sa.String(64)),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("flags.id")),
        *_record_columns(),
    )
    op.create_table(
        "flag_acknowledgements",
        _id(),
        sa.Column("flag_id", sa.Integer, sa.ForeignKey("flags.id"), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("dismissed", sa.Boolean, nullable=False),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("flag_acknowledgements.id")),
        *_record_columns(),
    )
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", _time(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64)),
        sa.Column("patient_id", sa.String(64)),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_index("ix_audit_patient", "audit_log", ["patient_id"])
    _append_only_triggers(op.get_bind().dialect.name)


def _append_only_triggers(dialect: str) -> None:
    """Rows of the clinical tables and the audit log are never updated or deleted."""
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a correction "
                    "instead'); END")
        return
    op.execute("""
        CREATE FUNCTION forbid_change() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: record a correction instead', TG_TABLE_NAME;
        END $$ LANGUAGE plpgsql""")
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
