"""The database: embedded SQLite by default, PostgreSQL through ``DATABASE_URL``.

SQLite runs in WAL mode with foreign keys on and a busy timeout; writes take the write lock at
the start (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing half-way.
Migrations are applied automatically when a store opens.

Only ``python -m monitoring init`` and the app's embedded default create a database file: any
other use of a SQLite file that does not exist (a mistyped ``DATABASE_URL``) is refused, as are a
file or folder that cannot be written and a damaged file (``PRAGMA quick_check`` on opening, for
the commands and the app), each with a message naming the file and what to do.
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


class DatabaseUnavailableError(Exception):
    """The ward database cannot be opened or used as it is; the message says why and what to
    do (never a traceback for the user)."""


def sqlite_path(url: str | None = None) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL or an in-memory database."""
    u = sa.engine.make_url(database_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database.removeprefix("file:")) if u.query.get("uri") else Path(u.database)


def check_sqlite_file(url: str | None = None, create: bool = True) -> None:
    """Refuse, before SQLite is asked, a database file that is missing (unless ``create``), is a
    folder, or cannot be written with its folder (WAL mode writes files beside it)."""
    path = sqlite_path(url)
    if path is None:
        return
    if path.is_dir():
        raise DatabaseUnavailableError(f"{path}: is a folder, not a ward database file")
    if not path.exists():
        if not create:
            raise DatabaseUnavailableError(
                f"{path}: no ward database here (is DATABASE_URL mistyped?); create one with "
                "`python -m monitoring init`")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DatabaseUnavailableError(
                f"{path.parent}: cannot create the folder for the ward database "
                f"({e.strerror})") from None
    elif not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailableError(
            f"{path}: the ward database file cannot be read and written by this user; the ward "
            "record needs both")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseUnavailableError(
            f"{path.parent}: this user cannot write in the folder of the ward database (SQLite "
            "keeps its journal files beside it)")


def check_integrity(engine: sa.Engine) -> None:
    """SQLite's ``PRAGMA quick_check`` (every page and record readable and well formed; about
    linear in the file's size): a damaged file is refused before anything reads or writes it."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        found = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    if found != ["ok"]:
        raise DatabaseUnavailableError(
            f"{engine.url.database}: the ward database file is damaged (SQLite integrity check: "
            f"{'; '.join(found[:3])}); nothing was read or written. Restore it from the last "
            "backup, or ask the administrator")


def describe(e: sa.exc.DBAPIError, url: str | sa.URL) -> str:
    """A database driver's error as one line for the user (the URL without its password)."""
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    first = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
    hint = ""
    if "readonly" in first or "read-only" in first:
        hint = " (the file, or its folder, cannot be written)"
    elif "not a database" in first or "malformed" in first:
        hint = " (the file is damaged or is not a ward database; restore it from the last backup)"
    elif "unable to open" in first:
        hint = " (check the path and that this user may write in its folder)"
    return f"the ward database {shown} cannot be used: {first}{hint}"


def make_engine(url: str | None = None) -> sa.Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
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
