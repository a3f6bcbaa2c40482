"""Sign in: local account (argon2) or, when configured, single sign-on.

``render`` is the page shown to anyone not signed in, under every page address, so a bookmark
or a reload of /entry asks for sign-in and then opens the page asked for (if the role may)."""

import logging
from collections.abc import Callable

import streamlit as st

from monitoring import auth, services
from monitoring.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from ui import session
from ui.text import md

LOG = logging.getLogger(__name__)


def render() -> None:
    st.title("CAR-T ward monitor")
    st.caption("CRS and ICANS grading by the ASTCT consensus (Lee et al., BBMT 2019). "
               "Decision support only.")
    because = st.session_state.get("signed_out_because")
    if because:
        st.warning(because, icon=":material/timer_off:")
    message = st.session_state.pop("sign_in_message", None)
    if message:
        st.error(md(message))

    policy = session.config().policy
    with st.form("sign_in", enter_to_submit=True, width=460):
        username = st.text_input("User name", key="sign_in_user", autocomplete="username",
                                 max_chars=auth.MAX_USERNAME_LENGTH)
        password = st.text_input("Password", type="password", key="sign_in_password",
                                 autocomplete="current-password",
                                 max_chars=auth.MAX_PASSWORD_LENGTH)
        submitted = st.form_submit_button("Sign in", type="primary")
    st.caption(f"After {policy.max_failed_attempts} failed sign-ins an account is locked for "
               f"{policy.lockout.total_seconds() / 60:g} minutes; an administrator can unlock "
               "it by setting a new password.")
    if submitted:
        result = attempt(username.strip(), password, policy)
        if result.ok and result.user is not None:
            session.sign_in_as(result.user)
            st.rerun()
        st.error(md(result.message))

    if session.sso_available():
        st.divider()
        if st.button("Sign in with single sign-on", icon=":material/key:"):
            st.login()

    if session.config().demo_ward:
        with st.expander("Demo accounts (embedded demo database only)"):
            st.markdown("Synthetic demo ward; password for every demo account: "
                        f"`{DEMO_PASSWORD}`")
            st.table({"user name": list(DEMO_ACCOUNTS),
                      "role": [role for role, _ in DEMO_ACCOUNTS.values()]})


def attempt(username: str, password: str, policy: auth.SignInPolicy) -> auth.SignIn:
    """One sign-in through the store: per client (the browser's address), the demo accounts
    refused unless WARD_DEMO is on. Never a traceback on this page: a failure of the database
    is logged on the server and the user told plainly."""
    ip = st.context.ip_address  # the browser's address as the server sees it (None if unknown)
    try:
        return services.sign_in(
            session.store(), username, password, policy=policy,
            client=ip if isinstance(ip, str) else None,
            refuse=() if session.config().demo_accounts else tuple(DEMO_ACCOUNTS))
    except Exception:
        LOG.exception("sign-in failed with an error")
        return auth.SignIn(False, "Sign-in is not possible at the moment: try again, or tell "
                           "the administrator if it keeps happening.")


def page_for(page_key: str | None) -> Callable[[], None]:
    """The sign-in page under one page's address, remembering which page was asked for."""
    def page() -> None:
        # a bookmark or reload (a new session) - not the page someone just signed out from
        if page_key is not None and not st.session_state.get("_signed_out"):
            st.session_state["wanted_page"] = page_key
        render()
    page.__name__ = f"sign_in_for_{page_key or 'app'}"
    return page
