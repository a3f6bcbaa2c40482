"""Bedside entry: one assessment, previewed with its CRS / ICANS grade before it is saved."""

import logging
from datetime import datetime

import streamlit as st

import grading
from monitoring.services import StoreError
from monitoring.ward import backdating_problem, carried_forward, preview, save
from ui import session
from ui.common import (
    SEVERITY_ICONS,
    badge,
    based_on,
    grade_text,
    local,
    news_text,
    reasons_text,
)
from ui.flags import by_severity
from ui.form import (
    DEVICE_WORDS,
    assessment_form,
    changed_support,
    problem_lines,
    problems_by_field,
    show_problems,
)
from ui.text import md

log = logging.getLogger(__name__)
user = session.require("bedside_entry")
store = session.store()
tz = store.tz

st.title("Bedside entry")
saved = st.session_state.pop("entry_saved", None)
if saved:
    with st.container(border=True):
        st.success(f"Saved for {md(saved['patient'])} at {saved['time']}.", icon=":material/check:")
        if saved.get("problem"):
            st.warning(md(saved["problem"]), icon=":material/warning:")
        st.markdown(saved["badges"], unsafe_allow_html=True)
        if saved.get("news"):
            st.markdown(saved["news"])
        for f in by_severity(saved["flags"]):
            show = st.error if f["severity"] in ("urgent", "emergency") else st.info
            show(f"New flag — {SEVERITY_ICONS.get(f['severity'], f['severity'])}: "
                 f"{md(f['message'])} (for: {md(f['respond'])})")
        if not saved["flags"] and not saved.get("problem"):
            st.caption("No new flags.")

patient = session.pick_patient(user, key="entry_patient")
if patient is None:
    st.stop()
pid = patient["patient_id"]
version = st.session_state.setdefault(f"entry_v_{pid}", 0)
key = f"entry_{pid}_{version}"

carried = carried_forward(store, pid)
now = session.now()
age = carried.get("age_years")
head = st.columns([3, 2])
head[0].markdown(
    f"**{md(patient.get('name') or pid)}** · bed {md(patient.get('bed') or '—')} · "
    f"{patient.get('product') or 'product not recorded'} · "
    + (f"age {age:g} · " if age is not None else "")
    + (f"weight {patient['weight_kg']:g} kg · " if patient.get("weight_kg") else "")
    + ("infusion " + local(patient["infusion_time"], tz) if patient.get("infusion_time")
       else "infusion time not recorded"))
if patient.get("is_demo"):
    head[0].caption("Synthetic demo patient.")
support_note = "Carried forward: " + (
    DEVICE_WORDS.get(carried.get("o2_device", ""), "no oxygen device recorded yet")
    + (f" {carried['o2_flow_l_min']:g} L/min" if carried.get("o2_flow_l_min") is not None
       else "")
    + "; vasoactive infusions: " + (carried.get("vasopressors") or "none").replace(";", ", "))

# ---- when
c = st.columns([1, 1, 3])
local_now = now.astimezone(tz)
day = c[0].date_input("Assessment date", value=local_now.date(), key=f"{key}_date",
                      format="YYYY-MM-DD")
clock = c[1].time_input("Time", value=local_now.time().replace(second=0, microsecond=0),
                        step=60, key=f"{key}_time")
assessed_at = datetime.combine(day, clock).replace(tzinfo=tz)
c[2].caption(f"Ward time zone {tz.key}. Defaults to now; may be back-dated up to 24 h, never "
             "in the future.")
time_problem = backdating_problem(assessed_at, session.now())
if time_problem:
    c[2].error(time_problem.message, icon=":material/error:")

form = assessment_form(key, carried, age, support_note)
values = changed_support(form.values, carried)  # blank = unchanged: only what the nurse changed
values["time"] = assessed_at

# ---- check, preview, save
problems = {k: list(v) for k, v in form.problems.items()}
result = None
soft: list[str] = []
general: list[str] = []
entered = [k for k in values if k != "time"]
if not problems and not time_problem and entered:
    try:
        result = preview(store, pid, values)
        soft = result.soft_limits
    except grading.InputError as e:
        for name, messages in problems_by_field(e.problems).items():
            problems.setdefault(name, []).extend(messages)
    except StoreError as e:
        general.append(str(e))
show_problems(form, problems)
unplaced = [m for name, ms in problems.items() if name not in form.slots for m in ms]

with st.container(border=True):
    st.markdown("**Before saving: grade preview**")
    for m in general + unplaced:
        st.error(md(m), icon=":material/error:")
    if problems:
        st.error("Correct the values marked above; nothing has been saved.",
                 icon=":material/error:")
    elif not entered:
        st.info("Enter the observations made; blank fields mean 'not assessed this time'.")
    elif result is not None:
        r = result.result
        st.markdown(badge("CRS", r.crs) + based_on(r.crs, r.time, tz) + " &nbsp; "
                    + badge("ICANS", r.icans) + based_on(r.icans, r.time, tz),
                    unsafe_allow_html=True)
        if result.previous is not None:
            st.caption(f"Previous assessment: {grade_text('CRS', result.previous.crs)}, "
                       f"{grade_text('ICANS', result.previous.icans)}")
        cols = st.columns(2)
        for col, name, g in ((cols[0], "CRS", r.crs), (cols[1], "ICANS", r.icans)):
            col.markdown(f"Why {name}:  \n" + "  \n".join(reasons_text(g, tz)))
        if result.news is not None:
            st.markdown(news_text(result.news))
        if result.flags:
            st.markdown("**Saving will raise:**  \n" + "  \n".join(
                f"{SEVERITY_ICONS.get(f['severity'], f['severity'])}: {md(f['message'])}"
                for f in by_severity(result.flags)))
        st.caption("ASTCT consensus grading (Lee et al., Biol Blood Marrow Transplant 2019). "
                   "Decision support only: the grade is for a clinician to confirm.")
    confirmed = True
    if soft:
        st.warning("Unusual values - re-check before saving:  \n" + "  \n".join(
            "• " + m.split(": ", 1)[-1] for m in soft), icon=":material/warning:")
        confirmed = st.checkbox("I have re-checked these values and they are correct",
                                key=f"{key}_soft_ok")
    can_save = result is not None and not problems and not time_problem and confirmed
    if st.button("Save assessment", type="primary", disabled=not can_save, key=f"{key}_save",
                 icon=":material/save:"):
        try:
            done = save(store, pid, values, by=user["username"])
        except grading.InputError as e:
            st.error("Not saved:  \n" + "  \n".join(map(md, problem_lines(e.problems))))
        except StoreError as e:
            st.error(f"Not saved: {md(e)}")
        except Exception:  # the save is one transaction: nothing was stored
            log.exception("bedside entry: saving for patient %s failed", pid)
            st.error("Not saved: the ward record could not be written at the moment. What you "
                     "typed is still in the form: try again, and tell the administrator if "
                     "it keeps failing.")
        else:
            st.session_state["entry_saved"] = {
                "patient": patient.get("name") or pid,
                "time": local(done.result.time if done.result is not None
                              else values["time"], tz),
                "badges": "" if done.result is None else badge("CRS", done.result.crs)
                + " &nbsp; " + badge("ICANS", done.result.icans),
                "flags": done.flags,
                "problem": done.problem,
                "news": None if done.news is None else news_text(done.news)}
            st.session_state[f"entry_v_{pid}"] = version + 1  # a fresh, empty form
            st.rerun()
