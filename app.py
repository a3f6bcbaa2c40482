"""CAR-T ward monitor: CRS / ICANS grading at the bedside (Streamlit entry point).

    streamlit run app.py

Routing only: who is signed in, which pages their role may open, sign-out and the idle timeout.
Pages live in ui/pages/ and check the role again themselves.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import streamlit as st

from monitoring.services import DatabaseError
from ui import session, sign_in
from ui.text import md
from ui.warm import WARM_UP

# The favicon is an emoji: a material icon would be fetched from Google on every page load.
# initial_sidebar_state="auto" collapses the sidebar only up to 768 px (Streamlit 1.67), so on
# a tablet in portrait (820 px) it would cover a third of the bedside form; see NARROW_SIDEBAR.
st.set_page_config(page_title="CAR-T ward monitor", page_icon="🩺", layout="wide",
                   initial_sidebar_state="auto")
LOG = logging.getLogger("ward.app")
# Narrow screens (a tablet in portrait, up to 1024 px) start with the sidebar collapsed: on the
# first visit from a device, once, the sidebar's own collapse button is pressed. Streamlit
# remembers the sidebar's state per device from then on, so the user's later choice (opening it
# again) wins. Static text, ours; nothing from a user. Without it the sidebar just stays open.
NARROW_SIDEBAR = """<script>
(() => {
  if (window.innerWidth > 1024) return;
  for (let i = 0; i < window.localStorage.length; i++) {
    if ((window.localStorage.key(i) || "").startsWith("stSidebarCollapsed-")) return;
  }
  let tries = 0;
  const collapse = () => {
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") button.click();
    } else if (++tries < 20) {
      window.setTimeout(collapse, 100);
    }
  };
  collapse();
})();
</script>"""


def unreachable() -> None:
    """A database failure (outage, lost connection, a refused statement): logged on the server
    with its traceback, a plain message on the page, never the SQL or a file path."""
    LOG.exception("the ward record failed")
    st.error(session.UNREACHABLE, icon=":material/cloud_off:")
    st.stop()


def main() -> None:
    """Route this run: sign-in or the role's pages, then run the page."""
    WARM_UP.start()  # the grading engine compiles off the request path (once per process)
    session.store()  # opens (and on first run creates) the ward record
    session.sso_check()
    session.check_idle()
    session.check_account()  # disabled or demoted since sign-in: signed out now
    session.touch()
    st.session_state["_auto_refresh"] = False  # the overview page switches it on

    user = session.current_user()
    if user is None:
        # every page address shows the sign-in form (no "page not found" over it); the page asked
        # for opens after sign-in if the role may open it
        nav = st.navigation([st.Page(sign_in.page_for(None), title="Sign in",
                                     icon=":material/login:", url_path="sign-in", default=True)]
                            + [st.Page(sign_in.page_for(key), title="Sign in", url_path=path)
                               for key, (_, _, _, path) in session.PAGES.items()],
                            position="hidden")
    else:
        nav = st.navigation([session.page(k) for k in session.allowed_pages(user["role"])])
        if st.session_state.pop("_just_signed_in", False):
            # first run after sign-in: the page a bookmark asked for if the role may open it,
            # else the role's landing page (never the page the previous user left open)
            pages = session.allowed_pages(user["role"])
            wanted = st.session_state.pop("wanted_page", None)
            target = wanted if wanted in pages else pages[0]
            if nav.url_path != session.PAGES[target][3]:
                st.switch_page(session.PAGES[target][0])
        with st.sidebar:
            st.html(NARROW_SIDEBAR, unsafe_allow_javascript=True)
            st.markdown(f"**{md(user['display_name'])}**  \n{user['role']}")
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
        WARM_UP.wait()  # the pages grade: a spinner while the engine is still being prepared
    nav.run()


try:
    main()
except DatabaseError:
    unreachable()
