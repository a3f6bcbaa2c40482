"""Demo ward (educators): the synthetic demo patients only, and a reset for teaching."""

import streamlit as st

from monitoring import services
from monitoring.demo import load_demo
from monitoring.ward import ward_overview
from ui import icu, session
from ui.tables import overview_details, overview_frame, style_details, style_overview
from ui.text import md

user = session.require("demo_ward")
store = session.store()
now = session.now()

st.title("Demo ward")
st.caption("Synthetic teaching cases only - never real patients. ▲▼ outside the normal range; "
           "grades by ASTCT 2019 (Lee et al., BBMT 2019).")
done = st.session_state.pop("demo_done", None)
if done:
    st.success(done, icon=":material/check:")
statuses = ward_overview(store, now, demo_only=True)
if statuses:
    st.table(style_overview(overview_frame(statuses, now, store.tz), statuses),
             hide_index=True)
    # the cases' ICU stays (decision R10), as the ward overview shows them
    for line in icu.ward_lines(store, statuses, lambda p: md(session.patient_label(p))):
        st.caption(line)
    with st.expander("Details: day after infusion, vital signs, oxygen and vasopressors, "
                     "maximum grades"):
        st.dataframe(style_details(overview_details(statuses, store.tz)), hide_index=True,
                     width="stretch")
else:
    st.info("The demo ward is empty.")
with st.container(border=True):
    st.markdown("**Reset the demo ward**: every demo entry (assessments, medications, lab "
                "results) is marked entered-in-error (kept in the audit trail) and the five "
                "standard cases are loaded again, ending today. Cases loaded from the library "
                "and cases being built leave the ward (load them again from the Case library; "
                "a case saved to the library is kept there).")
    sure = st.checkbox("Reset the demo ward now", key="demo_reset_sure")
    def reset() -> None:
        services.note(store, user["username"], "demo_reset_requested", "demo_ward", "all")
        n = load_demo(store, reset=True, by=user["username"])
        st.session_state["demo_done"] = f"Demo ward reset: {n} assessments loaded."
        st.session_state["demo_reset_sure"] = False  # disarmed: a second reset asks again

    st.button("Reset demo ward", disabled=not sure, on_click=reset)
