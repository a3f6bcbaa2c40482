"""Sign-in, roles, sign-out and the idle timeout, through the real app (AppTest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitoring import auth
from monitoring.demo import DEMO_PASSWORD
from ui.text import md

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
    assert [e.value for e in app.error] == ["user name or password not accepted"]


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(app, store):
    for _ in range(auth.DEFAULT_POLICY.max_failed_attempts):
        sign_in(app, "demo.nurse", "wrong-password")
    sign_in(app, "demo.nurse", DEMO_PASSWORD)
    assert "user" not in app.session_state
    # the same answer as for a typo or an unknown name (no "locked" telling that it exists);
    # the rule is on the page for everyone
    assert [e.value for e in app.error] == ["user name or password not accepted"]
    assert store.user("demo.nurse")["locked_until"] is not None
    assert "After 5 failed sign-ins an account is locked for 15 minutes" in texts(app)


def test_an_unknown_name_gets_the_same_answer_and_is_not_stored(app, store):
    sign_in(app, "correct horse battery staple", "")
    assert [e.value for e in app.error] == ["user name or password not accepted"]
    assert "correct horse" not in str(store.audit()[-1])


def test_the_form_bounds_what_can_be_typed(app):
    app.run()
    assert app.text_input(key="sign_in_user").max_chars == 64
    assert app.text_input(key="sign_in_password").max_chars == 128


@pytest.mark.parametrize("name", ["n" * 65, "n" * 200_000])
def test_an_overlong_name_sent_past_the_form_gets_the_plain_answer(app, name):
    sign_in(app, name, "whatever")  # sign_in asserts no exception on the page
    assert [e.value for e in app.error] == ["user name or password not accepted"]


def test_a_database_failure_during_sign_in_shows_no_traceback(app, monkeypatch):
    import sqlalchemy as sa

    from monitoring.store import WardStore

    def broken(*args, **kwargs):
        raise sa.exc.DataError("INSERT INTO audit_log ... /srv/ward/monitoring/store.py", {},
                               Exception("value too long for type character varying(64)"))

    monkeypatch.setattr(WardStore, "sign_in", broken)
    sign_in(app, "demo.nurse", DEMO_PASSWORD)
    assert [e.value for e in app.error] == [md(  # as typed: Markdown-escaped for display
        "Sign-in is not possible at the moment: try again, or tell the administrator if it "
        "keeps happening.")]
    assert "INSERT" not in texts(app) and "store.py" not in texts(app)


def test_demo_accounts_do_not_sign_in_once_the_demo_is_switched_off(app, monkeypatch):
    """The embedded database keeps its demo accounts after a restart with WARD_DEMO=0: they
    must not sign in (their password is public)."""
    monkeypatch.setenv("WARD_DEMO", "0")
    for name in ("demo.nurse", "demo.admin"):
        sign_in(app, name, DEMO_PASSWORD)
        assert "user" not in app.session_state
        assert [e.value for e in app.error] == ["user name or password not accepted"]
    assert "Demo accounts" not in texts(app)


def test_the_system_account_never_signs_in(app, store):
    import sqlalchemy as sa
    with store.engine.begin() as conn:  # a password put there behind the software's back
        conn.execute(sa.text("UPDATE users SET password_hash=:h WHERE username='system'"),
                     {"h": auth.hash_password("a fine long passphrase")})
    sign_in(app, "system", "a fine long passphrase")
    assert "user" not in app.session_state


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
    ("admin", "entry"), ("nurse", "fhir_import"), ("educator", "fhir_import"),
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
    assert session.allowed_pages("nurse") == ["ward_overview", "observations_due",
                                              "bedside_entry", "patient_review", "patient",
                                              "treatments"]
    assert session.allowed_pages("physician") == ["ward_overview", "observations_due",
                                                  "bedside_entry", "patient_review", "patient",
                                                  "treatments",
                                                  "admission", "fhir"]
    assert session.allowed_pages("educator") == ["demo_ward", "teaching", "case_library",
                                                 "case_builder"]
    assert session.allowed_pages("admin") == ["ward_overview", "patient", "admission", "users",
                                              "fhir"]
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


def _guarded_download_app():
    """A page offering one download, as the review page does (session.guarded)."""
    import streamlit as st

    from ui import session
    if st.session_state.pop("sign_out_now", False):
        session.sign_out()
    elif session.current_user() is None and not st.session_state.get("_signed_out"):
        session.sign_in_as({"username": "demo.nurse", "display_name": "n", "role": "nurse"})
    if session.current_user() is not None:
        session.touch()
        st.session_state["make"] = session.guarded(lambda: b"patient,time\n")


@pytest.fixture
def download(ward_url):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_guarded_download_app, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_download_offered_before_sign_out_gives_nothing_after_it(download):
    make = download.session_state["make"]
    assert make() == b"patient,time\n"
    download.session_state["sign_out_now"] = True
    download.run()
    assert "user" not in download.session_state
    with pytest.raises(PermissionError, match="signed out"):
        make()


@pytest.mark.parametrize(("idle", "served"), [(timedelta(minutes=14, seconds=50), True),
                                              (timedelta(minutes=15), False)])
def test_a_download_is_made_only_within_the_idle_timeout(download, idle, served):
    """Even when clicked before the idle watcher has signed the session out."""
    make = download.session_state["make"]
    download.session_state["_download_guard"].last_activity = datetime.now(UTC) - idle
    if served:
        assert make() == b"patient,time\n"
    else:
        with pytest.raises(PermissionError):
            make()


def test_activity_keeps_the_downloads_of_the_session_alive(download):
    make = download.session_state["make"]
    download.session_state["_download_guard"].last_activity = datetime.now(UTC) - timedelta(
        minutes=14)
    download.run()  # a click on the page: activity
    assert make() == b"patient,time\n"
    assert datetime.now(UTC) - download.session_state["_download_guard"].last_activity < \
        timedelta(minutes=1)
