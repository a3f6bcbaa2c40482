"""Sign-in, roles, sign-out and the idle timeout, through the real app (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import auth
from monitoring.demo import DEMO_PASSWORD

from .conftest import APP, go, texts

LANDING = {"nurse": "Ward overview", "physician": "Ward overview", "admin": "Ward overview",
           "educator": "Demo ward"}


def sign_in(at, username: str, password: str):
    at.run()
    at.text_input(key="sign_in_user").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_a_new_session_sees_only_the_sign_in_page_with_the_demo_accounts(app):
    app.run()
    assert [t.value for t in app.title] == ["CAR-T ward monitor"]
    assert app.session_state["_auto_refresh"] is False
    assert "user" not in app.session_state


@pytest.mark.parametrize("role", ["nurse", "physician", "educator", "admin"])
def test_each_demo_account_signs_in_and_lands_on_its_first_page(app, role):
    sign_in(app, f"demo.{role}", DEMO_PASSWORD)
    assert app.session_state["user"]["role"] == role
    assert [t.value for t in app.title] == [LANDING[role]]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app):
    sign_in(app, "demo.nurse", "not-the-password")
    assert "user" not in app.session_state
    assert [e.value for e in app.error] == ["user name or password not recognised"]


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(app):
    for _ in range(auth.DEFAULT_POLICY.max_failed_attempts):
        sign_in(app, "demo.nurse", "wrong-password")
    sign_in(app, "demo.nurse", DEMO_PASSWORD)
    assert "user" not in app.session_state
    assert "account locked" in app.error[0].value


def test_sign_out_returns_to_the_sign_in_page_and_is_audited(signed_in, store):
    at = signed_in("nurse")
    at.button(key="sign_out").click().run()
    assert "user" not in at.session_state
    assert [t.value for t in at.title] == ["CAR-T ward monitor"]
    assert store.audit()[-1]["action"] == "sign_out"


def test_fifteen_idle_minutes_sign_the_user_out_with_a_message(signed_in):
    at = signed_in("nurse")
    at.session_state["last_activity"] = datetime.now(UTC) - timedelta(minutes=15, seconds=1)
    at.run()
    assert "user" not in at.session_state
    assert "Signed out after 15 minutes without use" in texts(at)


def test_fourteen_idle_minutes_keep_the_session_and_count_as_activity(signed_in):
    at = signed_in("nurse")
    at.session_state["last_activity"] = datetime.now(UTC) - timedelta(minutes=14)
    at.run()
    assert at.session_state["user"]["role"] == "nurse"
    assert datetime.now(UTC) - at.session_state["last_activity"] < timedelta(minutes=1)


def test_an_automatic_refresh_is_not_user_activity(signed_in):
    at = signed_in("nurse")
    idle_since = datetime.now(UTC) - timedelta(minutes=10)
    at.session_state["last_activity"] = idle_since
    at.session_state["_auto_rerun"] = True  # what the overview's refresh sets
    at.run()
    assert at.session_state["last_activity"] == idle_since


def test_the_idle_timeout_is_configurable(signed_in, monkeypatch):
    monkeypatch.setenv("WARD_IDLE_TIMEOUT_MINUTES", "5")
    at = signed_in("nurse")
    at.session_state["last_activity"] = datetime.now(UTC) - timedelta(minutes=5)
    at.run()
    assert "user" not in at.session_state
    assert "Signed out after 5 minutes without use" in texts(at)


@pytest.mark.parametrize(("role", "page"), [
    ("nurse", "users"), ("nurse", "admission"), ("educator", "overview"),
    ("educator", "entry"), ("educator", "patient"), ("physician", "users"),
    ("admin", "entry"),
])
def test_every_page_checks_the_role_on_the_server(role, page, ward_url):
    """A page refuses a role that may not open it even when asked for directly."""
    from streamlit.testing.v1 import AppTest

    from .conftest import ROLE_ACCOUNT
    at = AppTest.from_file(str(__import__("pathlib").Path(APP).parent / f"ui/pages/{page}.py"),
                           default_timeout=60)
    at.session_state["user"] = {"username": ROLE_ACCOUNT[role], "display_name": "x",
                                "role": role, "sso": False}
    at.run()
    assert [e.value for e in at.error] == [f"The {role} role cannot open this page."]
    assert not at.title  # nothing else drawn


def test_a_page_opened_without_signing_in_shows_nothing_but_the_request(ward_url):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(__import__("pathlib").Path(APP).parent / "ui/pages/overview.py"),
                           default_timeout=60)
    at.run()
    assert [e.value for e in at.error] == ["Sign in first."]
    assert not at.table


def test_navigation_offers_each_role_its_pages_only(signed_in):
    from ui import session
    assert session.allowed_pages("nurse") == ["ward_overview", "bedside_entry", "patient_review",
                                              "patient"]
    assert session.allowed_pages("physician") == ["ward_overview", "bedside_entry",
                                                  "patient_review", "patient",
                                                  "admission"]
    assert session.allowed_pages("educator") == ["demo_ward", "teaching", "case_library",
                                                 "case_builder"]
    assert session.allowed_pages("admin") == ["ward_overview", "patient", "admission", "users"]
    at = signed_in("nurse")
    go(at, "ui/pages/entry.py")
    assert at.title[0].value == "Bedside entry"


@pytest.mark.parametrize(("role", "wanted", "lands"), [
    ("nurse", "bedside_entry", "Bedside entry"), ("physician", "admission",
                                                   "Admission and discharge"),
    ("educator", "bedside_entry", "Demo ward"),  # not the educator's: their own page instead
    ("nurse", "users", "Ward overview")])
def test_the_page_asked_for_before_sign_in_opens_after_it_if_the_role_may(app, role, wanted,
                                                                          lands):
    app.run()
    app.session_state["wanted_page"] = wanted  # what visiting /entry etc. signed out records
    sign_in(app, f"demo.{role}", DEMO_PASSWORD)
    assert [t.value for t in app.title] == [lands]


def test_after_a_sign_out_the_next_user_starts_on_their_landing_page(signed_in):
    at = signed_in("nurse")
    go(at, "ui/pages/patient.py")
    at.button(key="sign_out").click().run()
    at.text_input(key="sign_in_user").input("demo.physician")
    at.text_input(key="sign_in_password").input(DEMO_PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert [t.value for t in at.title] == ["Ward overview"]
