"""Patient record: every assessment with its correction history; amend or mark entered-in-error
(reason required; the original stays visible); stays in intensive care (ui/icu.py)."""

import pandas as pd
import streamlit as st

import grading
from monitoring import limits, services
from monitoring.services import StoreError
from ui import icu, session
from ui.common import local, observations_text
from ui.flags import open_flags_panel
from ui.form import assessment_form, problem_lines, problems_by_field, show_problems
from ui.recording import asked_time
from ui.text import md

user = session.require("patient")
store = session.store()
tz = store.tz
STATUS_WORDS = {"final": "current", "amended": "replaced by a correction",
                "entered_in_error": "entered in error"}

st.title("Patient record")
done = st.session_state.pop("patient_done", None)
if done:
    st.success(done, icon=":material/check:")
patient = session.pick_patient(user, key="patient_patient")
if patient is None:
    st.stop()
pid = patient["patient_id"]

with st.container(border=True):
    st.markdown("**Flags**")
    open_flags_panel(store, pid, user, key=f"record_{pid}")

history = store.history(pid)
died_at = icu.death_time(history)
with st.container(border=True):
    icu.draw(store, user, pid, session.now(), "patient_done", died_at)


st.subheader(f"Assessments ({sum(h.status == 'final' for h in history)} current)")
if not history:
    st.info("No assessments yet.")
    st.stop()
frame = pd.DataFrame([{
    "ID": h.id, "Assessed": local(h.assessed_at, tz), "Status": STATUS_WORDS[h.status],
    "Corrects": "" if h.replaces_id is None else f"#{h.replaces_id}",
    "Reason": h.reason or "", "Recorded": f"{local(h.recorded_at, tz)} by {h.recorded_by}",
    "Observations": observations_text(h.values)} for h in reversed(history)])
st.dataframe(frame, hide_index=True, width="stretch", height=320, column_config={
    "ID": st.column_config.NumberColumn(width="small"),
    "Corrects": st.column_config.TextColumn(width="small"),
    "Observations": st.column_config.TextColumn(width="large")})

current = [h for h in reversed(history) if h.status == "final"]
if not current:
    st.stop()
st.subheader("Correct an assessment")
by_id = {h.id: h for h in current}
chosen = st.selectbox("Assessment", list(by_id),
                      format_func=lambda i: f"#{i} · {local(by_id[i].assessed_at, tz)} · "
                                            f"{observations_text(by_id[i].values)[:90]}",
                      key=f"correct_pick_{pid}")
h = by_id[chosen]
action = st.radio("Correction", ("Amend values", "Mark entered in error"), horizontal=True,
                  key=f"correct_action_{pid}_{chosen}")
reason = st.text_input("Reason for the correction (required)", key=f"correct_reason_{chosen}",
                       max_chars=limits.most("reason"),
                       placeholder="e.g. transcription error: 38.9 charted as 39.8")
if action == "Mark entered in error":
    st.caption("The assessment stays in the record, marked entered in error, and no longer "
               "counts for grading.")
    sure = st.checkbox("This assessment was entered in error (e.g. wrong patient)",
                       key=f"eie_sure_{chosen}")
    if st.button("Mark entered in error", type="primary", disabled=not (sure and reason.strip()),
                 key=f"eie_{chosen}"):
        try:
            # the flags from its time on are resynced in the same transaction (E5)
            services.mark_in_error(store, pid, chosen, reason.strip(), by=user["username"])
        except StoreError as e:
            st.error(f"Not saved: {md(e)}")
        else:
            st.session_state["patient_done"] = f"Assessment #{chosen} marked entered in error."
            st.rerun()
else:
    key = f"amend_{chosen}"
    at_local = h.assessed_at.astimezone(tz)
    c = st.columns(2)
    day = c[0].date_input("Assessment date", value=at_local.date(), key=f"{key}_date",
                          format="DD/MM/YYYY")
    clock = c[1].time_input("Time", value=at_local.time(), step=60, key=f"{key}_time")
    # a clock time that night's clock change skips is refused, one it repeats asked (under
    # the time); the time as recorded keeps its instant
    amended_at, clock_problem = asked_time(key, day, clock, tz, "Time", h.assessed_at)
    time_slot = st.empty()  # what is wrong with the time, under it
    form = assessment_form(key, h.values, h.values.get("age_years"))
    form.slots["time"] = time_slot
    values = dict(form.values) | {"time": amended_at}
    # the record's rules for a correction (blank support kept blank, a dose with its
    # infusion, the row validated with the rest of the record) are the service's
    draft = services.draft_amendment(store, pid, h, values, form.drawn,
                                     validate=not form.problems)
    values = draft.values
    for words in draft.left_out:
        st.caption(words)
    problems = {k: list(v) for k, v in form.problems.items()}
    for name, messages in problems_by_field(draft.problems).items():
        problems.setdefault(name, []).extend(messages)
    if clock_problem:
        problems.setdefault("time", []).append(clock_problem)
    show_problems(form, problems)
    if problems:
        st.error("Correct the values marked above; nothing has been saved.")
    if st.button("Save correction", type="primary", key=f"{key}_save",
                 disabled=bool(problems) or not reason.strip()):
        try:
            # the flags from the earlier of the old and new times on are resynced in the
            # same transaction (E5)
            new_id = services.amend(store, pid, chosen, values, reason.strip(),
                                    by=user["username"])
        except grading.InputError as e:
            st.error("Not saved:  \n" + "  \n".join(map(md, problem_lines(e.problems))))
        except StoreError as e:
            st.error(f"Not saved: {md(e)}")
        else:
            st.session_state["patient_done"] = (f"Assessment #{chosen} corrected: the new "
                                                f"version is #{new_id}; the original stays "
                                                "in the list.")
            st.rerun()
