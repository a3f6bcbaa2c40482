"""Why a medication was given (issue 19 point 3, decision W20): an ``indication`` on each
administration - CRS, ICANS, both, IEC-HS (HLH-like), prophylaxis, another reason, or not
stated. Every row written before says "not_stated" (the column's default): nobody said why, and
the migration never guesses it.

Revision ID: 0016
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The indications as of this revision, frozen here: a migration never reads the app's live
# constants (a later indication belongs to a later migration).
INDICATIONS = ("crs", "icans", "crs_icans", "iec_hs", "prophylaxis", "other", "not_stated")


def upgrade() -> None:
    # A NOT NULL column with a constant default is added in place on both backends: SQLite
    # appends it to the table's definition (sqlite.org/lang_altertable.html, "ALTER TABLE ADD
    # COLUMN"), PostgreSQL 11+ stores the default without rewriting a row; no row is updated,
    # so the append-only triggers are not fired and keep every row as written.
    op.execute("ALTER TABLE administrations ADD COLUMN indication VARCHAR(16) "
               "DEFAULT 'not_stated' NOT NULL "
               f"CHECK (indication IN {INDICATIONS})")
