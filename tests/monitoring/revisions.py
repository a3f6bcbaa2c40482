"""Databases at an older revision of the ward record, for the migration tests: built by running
the migrations up to that revision on an empty database, as the software of that time did."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from monitoring import db


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    return cfg


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(_config())
                                              .walk_revisions()))]


def head() -> str:
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def upgrade_to(url: str, revision: str) -> None:
    """Migrate the database of ``url`` to ``revision`` (and no further)."""
    engine = db.make_engine(url)
    try:
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    engine = sa.create_engine(db.database_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
