"""Ward overview (landing page): every admitted patient, most acute first. The acuity columns
come first and alone (bed, patient, CRS, ICANS, NEWS2, most severe open flag, next
observations due), so they fit a tablet; the rest of each row is behind the patient."""

import streamlit as st

from monitoring.ward import overview
from ui import icu, session
from ui.tables import (
    emergency_lines,
    news_frame,
    overview_details,
    overview_frame,
    style_details,
    style_overview,
)
from ui.text import md

user = session.require("ward_overview")
store = session.store()
now = session.now()
st.session_state["_auto_refresh"] = True  # refreshes itself every minute (app.py)
st.session_state["_rendered_at"] = now

st.title("Ward overview")
# overdue observations raised as flags (once each) and those recorded since closed; read
# again when that changed the record, so the open flags shown are the record's
statuses = overview(store, now, demo_only=not session.sees_real_patients(user))
emergencies = emergency_lines(statuses)
if emergencies:  # one box, one line per patient: the table below stays on a tablet's screen
    st.error(f"**EMERGENCY** on {len(emergencies)} patient{'s' if len(emergencies) > 1 else ''}"
             "\n\n" + "\n".join(f"- {line}" for line in emergencies),
             icon=":material/emergency:")
st.caption(f"{len(statuses)} patients · updated {now.astimezone(store.tz):%d %b %H:%M} "
           f"({store.tz.key}) · refreshes every minute · most urgent first: the most severe "
           "open flag, then the grade · grades by ASTCT 2019 (Lee et al., BBMT 2019); "
           "decision support only")
if not statuses:
    st.info("No admitted patients.")
    st.stop()
frame = overview_frame(statuses, now, store.tz)
st.table(style_overview(frame, statuses), hide_index=True)
# stays the ward charted on the Patient record page (decision R10); a death recorded during
# the stay reads "died in intensive care", as on the Patient record
for line in icu.ward_lines(store, statuses, lambda p: md(session.patient_label(p))):
    st.caption(line)
with st.expander("Details: day after infusion, vital signs (▲▼ outside the normal range), "
                 "oxygen and vasopressors, maximum grades"):
    st.dataframe(style_details(overview_details(statuses, store.tz)), hide_index=True,
                 width="stretch")
with st.expander("NEWS2 by parameter (Royal College of Physicians 2017; beside the ASTCT "
                 "grades, never instead of them)"):
    st.dataframe(news_frame(statuses), hide_index=True, width="stretch")

st.subheader("Open a patient")
by_id = {s.patient["patient_id"]: s for s in statuses}
ids = list(by_id)
chosen = st.session_state.get("patient_id")
pid = st.selectbox("Patient", ids, index=ids.index(chosen) if chosen in ids else 0,
                   format_func=lambda i: session.patient_label(by_id[i].patient),
                   key="overview_patient")
st.session_state["patient_id"] = pid
left, middle, right = st.columns(3)
if session.auth.may_open(user["role"], "bedside_entry") and left.button(
        "Record an assessment", type="primary", icon=":material/edit_note:"):
    st.switch_page(session.PAGES["bedside_entry"][0])
if session.auth.may_open(user["role"], "patient_review") and middle.button(
        "Review the course", icon=":material/monitoring:"):
    st.switch_page(session.PAGES["patient_review"][0])
if session.auth.may_open(user["role"], "patient") and right.button(
        "Patient record and corrections", icon=":material/person:"):
    st.switch_page(session.PAGES["patient"][0])
