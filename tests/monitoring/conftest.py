"""Ward record fixtures: one store per test, on every backend available.

SQLite always (a file under the test's tmp_path). PostgreSQL too when ``TEST_DATABASE_URL``
names a server: each test gets a database of its own (``ward_t_<hex>``), created through that
server and dropped (``WITH (FORCE)``) when the test ends. To keep that cheap, a test's database
is a copy of one migrated, otherwise empty template made once per session; the tests of the
migrations themselves ask for a database with nothing in it (``new_database_url(empty=True)``).

The rights tests (docs/security.md) also connect as the roles of a real deployment: an owner
that migrates and a restricted application role, from ``TEST_DATABASE_OWNER_URL`` and
``TEST_DATABASE_APP_URL`` (``.ci/run`` creates both), or made here (``ward_test_owner``,
``ward_test_app``) when ``TEST_DATABASE_URL``'s account may create roles. The template is
granted to the application role, so every copy is too.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitoring.db import grant_app_role
from monitoring.store import WardStore

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ROLE_URLS = {"owner": os.environ.get("TEST_DATABASE_OWNER_URL"),
             "app": os.environ.get("TEST_DATABASE_APP_URL")}
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]

WARD_USERS = (("nina", "nurse"), ("drx", "physician"), ("eddie", "educator"))


class PostgresServer:
    """The TEST_DATABASE_URL server: creates and drops databases (AUTOCOMMIT, psycopg 3)."""

    def __init__(self, url: str) -> None:
        self.server = sa.engine.make_url(url).set(drivername="postgresql+psycopg")
        self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT",
                                      poolclass=sa.NullPool)

    def create(self, template: str | None = None, owner: str | None = None) -> str:
        name = f"ward_t_{secrets.token_hex(6)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        owned = f' OWNER "{owner}"' if owner else ""
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}{owned}')
        return name

    def role(self, kind: str) -> tuple[str, str]:
        """(user, password) of the deployment's owner or application role (see above)."""
        given = ROLE_URLS[kind]
        if given:
            url = sa.engine.make_url(given)
            return str(url.username), str(url.password)
        user = password = f"ward_test_{kind}"
        with self.admin.connect() as conn:
            if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'"
                                    ).first() is None:
                conn.exec_driver_sql(f"CREATE ROLE {user} LOGIN NOSUPERUSER NOCREATEDB "
                                     f"NOCREATEROLE PASSWORD '{password}'")
        return user, password

    def role_url_of(self, name: str, kind: str) -> str:
        user, password = self.role(kind)
        return self.server.set(drivername="postgresql", database=name, username=user,
                               password=password).render_as_string(hide_password=False)

    def drop(self, names: list[str]) -> None:
        with self.admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url_of(self, name: str) -> str:
        # plain postgresql:// so that monitoring.db picks the driver, as DATABASE_URL would
        return self.server.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[PostgresServer, str]]:
    """The server, and a database on it with the migrations applied and nothing else."""
    assert TEST_DATABASE_URL is not None
    server = PostgresServer(TEST_DATABASE_URL)
    template = server.create()
    try:
        store = WardStore(server.url_of(template))
        with store.engine.begin() as conn:
            grant_app_role(conn, server.role("app")[0])
        store.engine.dispose()  # a template takes no connections
        yield server, template
    finally:
        server.drop([template])
        server.admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database_url(backend: str, tmp_path: Path,
                     request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Make URLs of new databases on the test's backend, dropped at the end of the test:
    migrated, or with ``empty=True`` not even that (a new SQLite file is always empty)."""
    if backend == "sqlite":
        made = 0

        def sqlite_url(empty: bool = False) -> str:
            nonlocal made
            folder = tmp_path if made == 0 else tmp_path / f"ward{made}"
            made += 1
            return f"sqlite:///{folder}/ward.db"

        yield sqlite_url
        return

    server, template = request.getfixturevalue("postgres")
    names: list[str] = []

    def postgres_url(empty: bool = False) -> str:
        names.append(server.create(None if empty else template))
        return server.url_of(names[-1])

    try:
        yield postgres_url
    finally:
        server.drop(names)


@pytest.fixture
def store_url(new_database_url: Callable[..., str]) -> str:
    """The URL of this test's database (for ``DATABASE_URL`` in subprocess tests)."""
    return new_database_url()


def _with_users(store: WardStore) -> WardStore:
    for username, role in WARD_USERS:
        store.add_user(username, role)
    return store


@pytest.fixture
def make_store(new_database_url: Callable[..., str]) -> Iterator[Callable[[], WardStore]]:
    """Another ward record on the same backend, in a database of its own, with the users."""
    made: list[WardStore] = []

    def make() -> WardStore:
        made.append(_with_users(WardStore(new_database_url())))
        return made[-1]

    yield make
    for store in made:
        store.engine.dispose()


@pytest.fixture
def database_store(store_url: str) -> Iterator[WardStore]:
    """The ward record of ``store_url`` with a nurse (nina), a physician (drx) and an
    educator (eddie)."""
    ward = _with_users(WardStore(store_url))
    yield ward
    ward.engine.dispose()  # before the database is dropped


@pytest.fixture
def store(database_store: WardStore) -> WardStore:
    """The ward record on every backend (``database_store``). A module whose tests do not
    test the database overrides it with ``memory_store``."""
    return database_store


@pytest.fixture
def memory_store() -> WardStore:
    """The in-memory ward record (same rules and answers, no database:
    tests/monitoring/test_record_contract.py), with the same users."""
    return _with_users(WardStore.in_memory())


# The record fixture of the record-contract tests (test_record_contract, test_icu_stays): the
# in-memory record, SQLite and PostgreSQL, with a nurse, a physician and an educator.
INFUSION = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", *BACKENDS])
def record(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WardStore]:
    """A ward record with a nurse, a physician and an educator, and patient P admitted."""
    if request.param == "memory":
        store = WardStore.in_memory()
    elif request.param == "sqlite":
        store = WardStore(f"sqlite:///{tmp_path}/ward.db")
    else:
        server, template = request.getfixturevalue("postgres")
        name = server.create(template)
        request.addfinalizer(lambda: server.drop([name]))
        store = WardStore(server.url_of(name))
    for username, role in WARD_USERS:
        store.add_user(username, role)
    store.admit({"patient_id": "P", "infusion_time": INFUSION}, by="drx")
    yield store
    if request.param != "memory":
        store.engine.dispose()
