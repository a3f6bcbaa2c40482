"""An open session never outlives its account (docs/security.md "Sessions and downloads"):
disabled or given another role since sign-in, the next run signs it out, and its downloads
stop working."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from monitoring import tables as t
from monitoring.demo import DEMO_PASSWORD

from .conftest import texts
from .test_sign_in import _guarded_download_app


def set_role(store, username: str, role: str) -> None:
    """As an administrator (or the identity provider's claim at the next sign-in) would."""
    with store.engine.begin() as conn:
        conn.execute(t.users.update().where(t.users.c.username == username).values(role=role))


def test_a_session_whose_account_is_disabled_is_signed_out_at_its_next_run(signed_in, store):
    at = signed_in("physician")
    assert at.session_state["user"]["username"] == "demo.physician"
    store.set_active("demo.physician", False, by="system")
    at.run()
    assert not at.exception
    assert "user" not in at.session_state
    assert "Your account has been disabled: you were signed out." in texts(at)
    assert any(b.label == "Sign in" for b in at.button)  # the sign-in form, no ward page
    assert store.audit()[-1]["action"] == "sign_out"


def test_a_session_whose_role_changed_is_signed_out_at_its_next_run(signed_in, store):
    at = signed_in("physician")
    set_role(store, "demo.physician", "nurse")
    at.run()
    assert not at.exception
    assert "user" not in at.session_state
    assert "Your role changed from physician to nurse" in texts(at)


def test_a_session_whose_account_is_unchanged_stays_signed_in(signed_in):
    at = signed_in("physician")
    at.run()
    assert at.session_state["user"]["username"] == "demo.physician"


@pytest.fixture
def download(ward_url):
    at = AppTest.from_function(_guarded_download_app, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("change", ["disable", "demote"])
def test_a_download_offered_before_the_account_changed_gives_nothing(download, store, change):
    make = download.session_state["make"]
    assert make() == b"patient,time\n"
    if change == "disable":
        store.set_active("demo.nurse", False, by="system")
    else:
        set_role(store, "demo.nurse", "educator")
    with pytest.raises(PermissionError, match="disabled or its role changed"):
        make()
    assert download.session_state["_download_guard"].revoked


def test_the_check_is_one_query_on_the_users_table(signed_in, store, monkeypatch):
    at = signed_in("physician")
    reads = []
    real = type(store).user
    monkeypatch.setattr(type(store), "user", lambda self, name: reads.append(name)
                        or real(self, name))
    at.run()
    assert reads == ["demo.physician"]


def test_on_a_chosen_ward_database_demo_accounts_neither_sign_in_nor_stay_signed_in(
        app, signed_in, monkeypatch):
    at = signed_in("nurse")  # a demo session opened while the database was the demo one
    # the same file named by DATABASE_URL as a ward's database (not the embedded default)
    monkeypatch.setattr("monitoring.db.DEFAULT_URL", "sqlite:////nonexistent/ward.db")
    at.run()
    assert "user" not in at.session_state
    assert "The demo accounts are switched off: you were signed out." in texts(at)
    at.text_input(key="sign_in_user").input("demo.nurse")
    at.text_input(key="sign_in_password").input(DEMO_PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert "user" not in at.session_state
    assert [e.value for e in at.error] == ["user name or password not accepted"]
    assert "Demo accounts" not in texts(at)
