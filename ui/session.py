"""Who is signed in, what they may open, and the idle timeout - checked on every run.

Pages start with ``user = require("page_key")``: the role check runs on the server for every
page, whatever the browser asks for (design.md "Roles"). Educators see demo patients only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import streamlit as st

from monitoring import auth, services, settings
from monitoring.demo import DEMO_ACCOUNTS
from monitoring.services import (
    SYSTEM_USER,
    DatabaseUnavailableError,
    SetupError,
    StoreError,
    Ward,
    database_url,
)

from .text import md

# page key -> (file, title, icon, url path)
PAGES: dict[str, tuple[str, str, str, str]] = {
    "ward_overview": ("ui/pages/overview.py", "Ward overview", ":material/dashboard:", "overview"),
    "observations_due": ("ui/pages/observations_due.py", "Observations due",
                         ":material/alarm:", "observations-due"),
    "bedside_entry": ("ui/pages/entry.py", "Bedside entry", ":material/edit_note:", "entry"),
    "patient_review": ("ui/pages/review.py", "Patient review", ":material/monitoring:",
                       "review"),
    "patient": ("ui/pages/patient.py", "Patient record", ":material/person:", "patient"),
    "treatments": ("ui/pages/treatments.py", "Medications and labs", ":material/medication:",
                   "medications-labs"),
    "admission": ("ui/pages/admission.py", "Admission and discharge", ":material/bed:",
                  "admission"),
    "users": ("ui/pages/users.py", "Users", ":material/group:", "users"),
    "fhir": ("ui/pages/fhir_import.py", "FHIR import and export", ":material/sync_alt:",
             "fhir"),
    "demo_ward": ("ui/pages/demo_ward.py", "Demo ward", ":material/school:", "demo-ward"),
    "teaching": ("ui/pages/teaching.py", "Teaching", ":material/quiz:", "teaching"),
    "case_library": ("ui/pages/case_library.py", "Case library", ":material/library_books:",
                     "case-library"),
    "case_builder": ("ui/pages/case_builder.py", "Build a case", ":material/edit_document:",
                     "case-builder"),
}


LOG = logging.getLogger(__name__)
UNREACHABLE = ("The ward record cannot be reached at the moment: nothing on this page was "
               "saved. Try again in a minute, and tell the administrator if it keeps happening.")


def now() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")


class DownloadGuard:
    """This session's sign-in, as download data generators see it. A download button's data is
    made only when clicked, in a server thread outside the page script; the generator checks
    this object first, so a sign-out (which revokes it) or the idle timeout ends every
    download the page offered, even from a URL or file id kept by the browser."""

    def __init__(self, idle_timeout: timedelta) -> None:
        self.idle_timeout = idle_timeout
        self.last_activity = now()
        self.revoked = False

    def open(self, at: datetime | None = None) -> bool:
        return not self.revoked and (at or now()) - self.last_activity < self.idle_timeout


def download_guard() -> DownloadGuard:
    guard = st.session_state.get("_download_guard")
    if not isinstance(guard, DownloadGuard) or guard.revoked:
        guard = st.session_state["_download_guard"] = DownloadGuard(
            config().policy.idle_timeout)
        guard.last_activity = st.session_state.get("last_activity") or now()
    return guard


def guarded(make: Callable[[], T]) -> Callable[[], T]:
    """Data for ``st.download_button``: made on click, only while the user who was shown the
    button is still signed in, not idle, and their account still active with the same role
    (docs/security.md "Roles and sign-in")."""
    user = current_user()
    if user is None:
        raise PermissionError("sign in first")
    guard = download_guard()
    ward = store()

    def make_if_signed_in() -> T:
        if not guard.open():
            raise PermissionError("signed out: the download has expired")
        if account_problem(ward, user) is not None:
            guard.revoked = True
            raise PermissionError("signed out: the account was disabled or its role changed")
        return make()
    return make_if_signed_in


def account_problem(ward: Ward, user: dict[str, Any]) -> str | None:
    """Why this session's account may no longer be used (one query), or None: disabled,
    gone, its role changed since sign-in, or a demo account once the demo is switched off."""
    account = ward.user(user["username"])
    if account is None or not account["active"]:
        return "Your account has been disabled: you were signed out."
    if account["role"] != user["role"]:
        return (f"Your role changed from {user['role']} to {account['role']}: you were signed "
                "out. Sign in again to continue.")
    if not config().demo_accounts and user["username"] in DEMO_ACCOUNTS:
        return "The demo accounts are switched off: you were signed out."
    return None


def check_account() -> bool:
    """Re-read this session's account once a run: sign out if it was disabled or its role
    changed (an open session never outlives the account it signed in with). True if it did."""
    user = current_user()
    if user is None:
        return False
    problem = account_problem(store(), user)
    if problem is None:
        return False
    sign_out_everywhere(problem)
    return True


@st.cache_resource
def _store(url: str, ward_tz: str, demo_ward: bool) -> Ward:
    # only the embedded default is created (a mistyped DATABASE_URL must not start an empty
    # ward); a damaged SQLite file is refused before anything is shown
    return services.open_ward(url, ward_tz, demo_ward=demo_ward)


def config() -> settings.Settings:
    return settings.load()


def store() -> Ward:
    s = config()
    try:
        return _store(database_url(), s.ward_tz, s.demo_ward)
    except DatabaseUnavailableError:  # server down, file missing or damaged: details (host,
        # account, file path) in the server log for the administrator, a plain word for users
        LOG.exception("the ward database cannot be used")
        st.error(UNREACHABLE, icon=":material/cloud_off:")
        st.stop()
        raise  # not reached: st.stop ends the script
    except SetupError as e:  # e.g. the app's role may not migrate: say what to run, no trace
        st.error(f"The ward database is not ready: {e}", icon=":material/error:")
        st.stop()
        raise  # not reached: st.stop ends the script


def current_user() -> dict[str, Any] | None:
    return st.session_state.get("user")


def sign_in_as(user: dict[str, Any], sso: bool = False) -> None:
    st.session_state["user"] = {"username": user["username"],
                                "display_name": user.get("display_name") or user["username"],
                                "role": user["role"], "sso": sso}
    st.session_state["last_activity"] = now()
    download_guard()
    st.session_state.pop("signed_out_because", None)
    st.session_state.pop("_signed_out", None)
    st.session_state["_just_signed_in"] = True


def sign_out(because: str | None = None) -> None:
    user = st.session_state.get("user")
    guard = st.session_state.get("_download_guard")
    if isinstance(guard, DownloadGuard):
        guard.revoked = True  # every download offered to this session stops working
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["_signed_out"] = True  # the next sign-in starts on the landing page
    if because:
        st.session_state["signed_out_because"] = because
    if user is not None:
        ward = store()
        try:
            services.note(ward, user["username"], "sign_out", "user", user["username"],
                          after={"because": because or "signed out"})
        except StoreError:  # a disabled account: the ward signs it out in its own name
            services.note(ward, SYSTEM_USER, "sign_out", "user", user["username"],
                          after={"because": because or "signed out"})


def idle_message() -> str:
    minutes = config().policy.idle_timeout.total_seconds() / 60
    return f"Signed out after {minutes:g} minutes without use. Sign in again to continue."


def check_idle(at: datetime | None = None) -> bool:
    """Sign out when the session has been idle for the timeout; True if it did."""
    user, last = current_user(), st.session_state.get("last_activity")
    if user is None or last is None:
        return False
    if auth.idle_expired(last, at or now(), config().policy):
        sign_out_everywhere(idle_message())
        return True
    return False


def touch() -> None:
    """A run the user caused counts as activity; an automatic refresh does not."""
    if st.session_state.pop("_auto_rerun", False):
        return
    if current_user() is not None:
        st.session_state["last_activity"] = now()
        download_guard().last_activity = st.session_state["last_activity"]


def allowed_pages(role: str) -> list[str]:
    return [key for key in PAGES if auth.may_open(role, key)]


def page(key: str) -> st.Page:
    file, title, icon, path = PAGES[key]
    return st.Page(file, title=title, icon=icon, url_path=path,
                   default=key == allowed_pages(current_user()["role"])[0])  # type: ignore[index]


def require(page_key: str) -> dict[str, Any]:
    """The signed-in user, if their role may open this page; otherwise stop here."""
    user = current_user()
    if user is None:
        st.error("Sign in first.")
        st.stop()
    if not auth.may_open(user["role"], page_key):
        services.note(store(), user["username"], "page_refused", "page", page_key)
        st.error(f"The {user['role']} role cannot open this page.")
        st.stop()
    return user  # type: ignore[return-value]


def sees_real_patients(user: dict[str, Any]) -> bool:
    return auth.SEES_REAL_PATIENTS.get(user["role"], False)


def visible_patients(user: dict[str, Any], *, admitted_only: bool = True
                     ) -> list[dict[str, Any]]:
    """Patients this user may see: educators the demo ward only."""
    demo = None if sees_real_patients(user) else True
    return store().patients(demo=demo, admitted_only=admitted_only)


def open_patient(user: dict[str, Any], patient_id: str | None) -> dict[str, Any] | None:
    """The patient record if this user may see it (server-side check), else an error."""
    if not patient_id:
        return None
    p = store().patient(patient_id)
    if p is None:
        st.error(f"No patient '{md(patient_id)}'.")
        return None
    if not p["is_demo"] and not sees_real_patients(user):
        services.note(store(), user["username"], "patient_refused", "patient", patient_id,
                      patient_id)
        st.error("Educators see demo patients only.")
        return None
    return p


def pick_patient(user: dict[str, Any], key: str, label: str = "Patient"
                 ) -> dict[str, Any] | None:
    """A patient picker shared by pages; remembers the choice across pages."""
    patients = visible_patients(user)
    if not patients:
        st.info("No admitted patients.")
        return None
    ids = [p["patient_id"] for p in patients]
    names = {p["patient_id"]: patient_label(p) for p in patients}
    chosen = st.session_state.get("patient_id")
    index = ids.index(chosen) if chosen in ids else None
    pid = st.selectbox(label, ids, index=index, format_func=names.get, key=key,
                       placeholder="Choose a patient")
    if pid is not None:
        st.session_state["patient_id"] = pid
    return open_patient(user, pid)


def patient_label(p: dict[str, Any]) -> str:
    bed = f"Bed {p['bed']} · " if p.get("bed") else ""
    demo = " · synthetic demo" if p.get("is_demo") else ""
    return f"{bed}{p.get('name') or p['patient_id']} ({p['patient_id']}){demo}"


# ------------------------------------------------------------------------------ single sign-on
def sso_available() -> bool:
    """Single sign-on is offered when ``[auth]`` is configured in .streamlit/secrets.toml."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: local accounts only
        return False


def sso_check() -> None:
    """Map an identity-provider sign-in (``st.login``) to a ward session, role from a claim."""
    if current_user() is not None or not sso_available():
        return
    if st.session_state.pop("sso_logout_pending", False):
        st.logout()
        return
    if not st.user.get("is_logged_in", False):
        return
    claims = dict(st.user.to_dict())
    username = str(claims.get("email") or claims.get("sub") or "")
    if not username:
        st.session_state["sign_in_message"] = "single sign-on gave no user name or e-mail"
        st.logout()
        return
    role = auth.role_from_claims(claims, config().sso_role_claim)
    result = services.sso_sign_in(store(), username, claims.get("name"),
                                  role)  # type: ignore[arg-type]
    if result.ok and result.user is not None:
        sign_in_as(result.user, sso=True)
    else:
        st.session_state["sign_in_message"] = result.message
        st.logout()


def sign_out_everywhere(because: str | None = None) -> None:
    """Sign out of the ward app, and of single sign-on for an SSO session."""
    user = current_user()
    sign_out(because)
    if user is not None and user.get("sso"):
        st.session_state["sso_logout_pending"] = True
