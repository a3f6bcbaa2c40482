"""The database: embedded SQLite by default, PostgreSQL through ``DATABASE_URL``.

SQLite runs in WAL mode with foreign keys on and a busy timeout; writes take the write lock at
the start (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing half-way.
Migrations are applied automatically when a store opens.

Only ``python -m monitoring init`` and the app's embedded default create a database file: any
other use of a SQLite file that does not exist (a mistyped ``DATABASE_URL``) is refused, as are a
file or folder that cannot be written and a damaged file (``PRAGMA quick_check`` on opening, for
the commands and the app), each with a message naming the file and what to do.

PostgreSQL (docs/security.md, "Deployment (PostgreSQL)"): the schema belongs to an owner role
that migrates (``python -m monitoring init`` with ``MIGRATION_DATABASE_URL``); the application
connects through ``DATABASE_URL`` as a role that may only read and add records
(``grant_app_role``). Such a role never migrates: it refuses to start on an old schema with a
message saying what to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

DATA_DIR = Path(os.environ.get("WARD_DATA_DIR") or Path(__file__).resolve().parents[1] / "data")
DEFAULT_URL = f"sqlite:///{DATA_DIR / 'ward.db'}"  # the embedded default (demo ward on first run)
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x57A2D  # any fixed number, shared by every process migrating this database
MIGRATIONS = Path(__file__).with_name("migrations")


# What a caller outside the record catches without importing SQLAlchemy itself: any error the
# database driver raised (a damaged page, a lost connection), and any error of the database layer.
DriverError = sa.exc.DBAPIError
DatabaseError = sa.exc.SQLAlchemyError


class SetupError(Exception):
    """The database cannot be used as it is (e.g. it needs a migration this account may not
    run); the message says what to do."""


def is_embedded_default(url: str | None = None) -> bool:
    """True when no ward database was chosen (no ``DATABASE_URL``): the embedded demo file."""
    return database_url(url) == DEFAULT_URL


def database_url(url: str | None = None) -> str:
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class DatabaseUnavailableError(SetupError):
    """The ward database file cannot be opened or used as it is (missing, unwritable, damaged);
    the message says why and what to do (never a traceback for the user)."""


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
            # INSERT OR REPLACE deletes the row it collides with: with recursive triggers on,
            # that deletion fires the append-only DELETE triggers (migration 0008 also refuses
            # such an insert outright, for connections that do not set this)
            cur.execute("PRAGMA recursive_triggers=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            readonly = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent). On PostgreSQL a role that may not
    change the schema (the application's role) gets ``SetupError`` when it is behind."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several workstations starting at once: one migrates, the others wait for it
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            head = ScriptDirectory.from_config(cfg).get_current_head()
            current = _current_revision(conn)
            if current == head:
                return
            if not _may_change_schema(conn):
                user = conn.execute(sa.text("SELECT current_user")).scalar_one()
                state = "has no schema yet" if current is None else "needs an upgrade"
                raise SetupError(
                    f"the ward database {state} (to revision {head}) and the account "
                    f"'{user}' in DATABASE_URL may not change it: it may only read and add "
                    "records, by design. The database "
                    "owner runs `python -m monitoring init` with MIGRATION_DATABASE_URL set to "
                    "the owner account (docs/security.md, \"Deployment (PostgreSQL)\"), then "
                    "start the app again.")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _current_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    try:
        return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.ProgrammingError:  # no SELECT on it: certainly not a role that migrates
        raise SetupError("the account in DATABASE_URL may not read the ward database's "
                         "schema version: run `python -m monitoring init` with "
                         "MIGRATION_DATABASE_URL set to the owner account, which grants the "
                         "application's rights (docs/security.md)") from None


def _may_change_schema(conn: sa.Connection) -> bool:
    """The current role owns the ward's tables (or the schema, when there are none yet)."""
    return bool(conn.execute(sa.text(
        "SELECT CASE WHEN to_regclass('alembic_version') IS NULL "
        "THEN has_schema_privilege(current_schema(), 'CREATE') "
        "ELSE pg_has_role(current_user, (SELECT relowner FROM pg_class "
        "WHERE oid = to_regclass('alembic_version')), 'USAGE') END")).scalar_one())


def grant_app_role(conn: sa.Connection, role: str) -> None:
    """Give the application's PostgreSQL role exactly what the ward needs: SELECT and INSERT
    on every table, UPDATE on the columns of the mutable ones the app changes
    (``UPDATABLE_COLUMNS``: accounts, admission details), the sequences
    for new ids - and nothing else: no UPDATE or DELETE on the record, no TRUNCATE, no
    TRIGGER, not the owner (so it cannot ALTER TABLE ... DISABLE TRIGGER). Run by the owner
    after every migration (``python -m monitoring init``); idempotent."""
    from .tables import APPEND_ONLY, COUNTERS, MUTABLE, UPDATABLE_COLUMNS, metadata

    q = conn.dialect.identifier_preparer.quote
    who = q(role)
    schema = q(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
    names = [q(n) for n in metadata.tables]
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {who}"))
    conn.execute(sa.text(f"REVOKE ALL ON {', '.join(names)}, alembic_version FROM {who}"))
    conn.execute(sa.text(f"GRANT SELECT ON alembic_version TO {who}"))
    conn.execute(sa.text(f"GRANT SELECT, INSERT ON {', '.join(names)} TO {who}"))
    for table in MUTABLE:  # REVOKE ALL above took back any column rights as well
        columns = ", ".join(q(c) for c in UPDATABLE_COLUMNS[table])
        conn.execute(sa.text(f"GRANT UPDATE ({columns}) ON {q(table)} TO {who}"))
    conn.execute(sa.text(f"GRANT UPDATE, DELETE ON {', '.join(q(n) for n in COUNTERS)} TO {who}"))
    conn.execute(sa.text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {who}"))
    assert not set(APPEND_ONLY) & (set(MUTABLE) | set(COUNTERS))


def migration_url(env: dict[str, str] | None = None) -> str | None:
    """The owner account's URL for migrations (``MIGRATION_DATABASE_URL``), if set."""
    url = (os.environ if env is None else env).get("MIGRATION_DATABASE_URL")
    return database_url(url) if url else None


def init_database(env: dict[str, str] | None = None) -> list[str]:
    """``python -m monitoring init`` on PostgreSQL with ``MIGRATION_DATABASE_URL``: migrate as
    the owner, then grant the application's role (the user of ``DATABASE_URL``) its rights.
    Returns what was done, one line each; nothing without ``MIGRATION_DATABASE_URL``."""
    env = dict(os.environ) if env is None else env
    owner_url = migration_url(env)
    if owner_url is None:
        return []
    if not owner_url.startswith("postgresql"):
        raise SetupError("MIGRATION_DATABASE_URL is for PostgreSQL (an embedded SQLite file has "
                         "no roles): leave it unset")
    app = sa.engine.make_url(database_url(env.get("DATABASE_URL")))
    if not app.drivername.startswith("postgresql") or not app.username:
        raise SetupError("MIGRATION_DATABASE_URL is set: set DATABASE_URL to the application "
                         "role's PostgreSQL URL as well, so that init grants that role its "
                         "rights (docs/security.md)")
    owner = make_engine(owner_url)
    try:
        migrate(owner)
        done = [f"schema migrated as {owner.url.username}"]
        if app.username == owner.url.username:
            done.append("warning: DATABASE_URL uses the owner role, so the app could disable "
                        "the append-only triggers; run it as a role of its own "
                        "(docs/security.md)")
            return done
        with owner.begin() as conn:
            grant_app_role(conn, app.username)
        done.append(f"application role {app.username}: SELECT and INSERT on the record, "
                    "UPDATE on some columns of users and patients only")
        return done
    finally:
        owner.dispose()
