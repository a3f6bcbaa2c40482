"""AppTest fixtures: the real app.py on a copy of a demo ward database, one per test.

The demo ward (5 synthetic patients, demo accounts) is built once per session and copied for
each test, so tests cannot see each other's writes. ``signed_in(role)`` skips the password form
(argon2 costs ~50 ms a check) - the sign-in tests use the form itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from monitoring.demo import DEMO_ACCOUNTS, ensure_demo_ward
from monitoring.store import WardStore
from ui.text import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
ROLE_ACCOUNT = {role: name for name, (role, _) in DEMO_ACCOUNTS.items()}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ward.db"
    store = WardStore(f"sqlite:///{path}")
    ensure_demo_ward(store)
    store.engine.dispose()
    return path


@pytest.fixture
def ward_url(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "ward.db"
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    # this copy stands for the embedded demo database, where the demo accounts sign in
    monkeypatch.setattr("monitoring.db.DEFAULT_URL", url)
    monkeypatch.setenv("WARD_TZ", "UTC")
    monkeypatch.delenv("WARD_IDLE_TIMEOUT_MINUTES", raising=False)
    return url


@pytest.fixture
def store(ward_url: str) -> Iterator[WardStore]:
    s = WardStore(ward_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def app(ward_url: str) -> Iterator[AppTest]:
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    yield at
    st.cache_resource.clear()


@pytest.fixture
def signed_in(app: AppTest) -> Callable[[str], AppTest]:
    def sign(role: str) -> AppTest:
        name = ROLE_ACCOUNT[role]
        app.session_state["user"] = {"username": name, "display_name": name, "role": role,
                                     "sso": False}
        app.session_state["last_activity"] = datetime.now(UTC)
        app.run()
        assert not app.exception, app.exception
        return app
    return sign


def go(at: AppTest, page: str) -> AppTest:
    """Open a page as the navigation would (file path relative to app.py)."""
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every text the page shows (markdown, captions, alerts), for 'shows ...' checks; the
    backslash escapes of user text (ui.text.md) taken out, as the browser shows it."""
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "success", "info",
                                  "title", "subheader") for e in getattr(at, kind)]
    return "\n".join(shown(str(p)) for p in parts)


def patient_ids(frame) -> list[str]:
    """The patient ids of the overview table's rows (its Patient cells: "name · id")."""
    return [str(cell).rsplit(" · ", 1)[-1] for cell in frame["Patient"]]
