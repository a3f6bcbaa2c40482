"""CAR-T ward monitor: CRS / ICANS grading at the bedside (Streamlit entry point).

    streamlit run app.py

Routing only: who is signed in, which pages their role may open, sign-out and the idle timeout.
Pages live in ui/pages/ and check the role again themselves.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from ui import session

st.set_page_config(page_title="CAR-T ward monitor", page_icon=":material/monitor_heart:",
                   layout="wide")
session.store()  # opens (and on first run creates) the ward record
session.sso_check()
session.check_idle()
session.touch()
st.session_state["_auto_refresh"] = False  # the overview page switches it on

user = session.current_user()
if user is None:
    nav = st.navigation([st.Page(session.SIGN_IN_PAGE[0], title=session.SIGN_IN_PAGE[1],
                                 icon=session.SIGN_IN_PAGE[2],
                                 url_path=session.SIGN_IN_PAGE[3])])
else:
    nav = st.navigation([session.page(k) for k in session.allowed_pages(user["role"])])
    with st.sidebar:
        st.markdown(f"**{user['display_name']}**  \n{user['role']}")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            session.sign_out_everywhere()
            st.rerun()
        st.caption("Decision support only: grades and flags are for a clinician to confirm.")
        idle = session.config().policy.idle_timeout

        @st.fragment(run_every=timedelta(seconds=max(1.0, min(
            30.0, idle.total_seconds() / 4))))
        def watch() -> None:
            """Idle timeout and the overview's one-minute refresh, without a user action."""
            if session.check_idle():
                st.rerun()
            last = st.session_state.get("_rendered_at")
            if st.session_state.get("_auto_refresh") and last is not None \
                    and session.now() - last >= timedelta(seconds=60):
                st.session_state["_auto_rerun"] = True  # not user activity
                st.rerun()

        watch()
nav.run()
