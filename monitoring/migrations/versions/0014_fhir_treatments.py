"""FHIR import of medications and labs (issue 19): the provenance of an imported
MedicationAdministration or lab Observation names the medication or lab row it became.

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


COLUMNS = (("administration_id", "administrations", "fk_fhir_provenance_administration"),
           ("lab_id", "labs", "fk_fhir_provenance_lab"))


def upgrade() -> None:
    # nullable columns added in place: the table keeps its rows and append-only triggers
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with a REFERENCES clause and a NULL default without a rebuild
        # (sqlite.org/lang_altertable.html, "ALTER TABLE ADD COLUMN")
        for column, table, name in COLUMNS:
            op.execute(f"ALTER TABLE fhir_provenance ADD COLUMN {column} INTEGER "
                       f"CONSTRAINT {name} REFERENCES {table} (id)")
    else:
        for column, table, name in COLUMNS:
            op.add_column("fhir_provenance", sa.Column(column, sa.Integer))
            op.create_foreign_key(name, "fhir_provenance", table, [column], ["id"])
