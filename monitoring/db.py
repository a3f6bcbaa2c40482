"""The database: embedded SQLite by default, PostgreSQL through ``DATABASE_URL``.

SQLite runs in WAL mode with foreign keys on and a busy timeout; writes take the write lock at
the start (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing half-way.
Migrations are applied automatically when a store opens.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_URL = f"sqlite:///{DATA_DIR / 'ward.db'}"  # the embedded default (demo ward on first run)
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x57A2D  # any fixed number, shared by every process migrating this database
MIGRATIONS = Path(__file__).with_name("migrations")


def is_embedded_default(url: str | None = None) -> bool:
    """True when no ward database was chosen (no ``DATABASE_URL``): the embedded demo file."""
    return database_url(url) == DEFAULT_URL


def database_url(url: str | None = None) -> str:
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None) -> sa.Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                                     "isolation_level": None})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: object, _record: object) -> None:
            cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            readonly = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several workstations starting at once: one migrates, the others wait for it
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
