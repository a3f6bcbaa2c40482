"""Bedside entry: one assessment, previewed with its CRS / ICANS grade before it is saved."""

import logging

import streamlit as st

import grading
from grading.parse import Problem
from monitoring.services import ConcurrentChangeError, StoreError
from monitoring.support import changed_support
from monitoring.ward import backdating_problem, carried_forward, preview, save
from ui import lab_entry, session
from ui.common import (
    SEVERITY_ICONS,
    badge,
    based_on,
    flags_by_group,
    grade_text,
    local,
    news_markdown,
    reasons_text,
)
from ui.flags import by_severity
from ui.form import (
    DEVICE_WORDS,
    assessment_form,
    field_messages,
    show_problems,
)
from ui.recording import asked_time
from ui.text import md

log = logging.getLogger(__name__)
user = session.require("bedside_entry")
store = session.store()
tz = store.tz

st.title("Bedside entry")
# New flags after a save: one box per severity, one line a flag, the most severe first; an
# emergency is a red box of its own, unlike the urgent (amber) and review (blue) ones.
GROUPS = {"emergency": (st.error, ":material/e911_emergency:", "EMERGENCY: act now"),
          "urgent": (st.warning, ":material/priority_high:", "Urgent"),
          "review": (st.info, ":material/rate_review:", "For review")}
saved = st.session_state.pop("entry_saved", None)
if saved:
    with st.container(border=True, key="entry_saved_box"):
        st.success(f"Saved for {md(saved['patient'])} at {saved['time']}.", icon=":material/check:")
        if saved.get("problem"):
            st.warning(md(saved["problem"]), icon=":material/warning:")
        st.markdown(saved["badges"], unsafe_allow_html=True)
        if saved.get("news"):
            st.markdown(saved["news"])
        for severity, flags in flags_by_group(saved["flags"]):
            lines = [f"- {md(f['message'])}" + (f" (for: {md(f['respond'])})" if f.get("respond")
                                                else "") for f in flags]
            many = f"{len(flags)} new flags" if len(flags) > 1 else "new flag"
            if severity in GROUPS:
                show, icon, title = GROUPS[severity]
                show(f"**{title}** — {many}  \n" + "\n".join(lines), icon=icon)
            else:  # information only
                st.markdown(f"**{md(SEVERITY_ICONS.get(severity, severity))}** — {many}  \n"
                            + "\n".join(lines))
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

# ---- when: "now" until the nurse changes it (issue 18.10). Left alone, the date and time
# follow the clock and the assessment is timed to the second when it is checked and saved, so
# a second entry in the same minute is no clash; a time the nurse sets is used as set.
local_now = now.astimezone(tz)
shown_now = local_now.replace(second=0, microsecond=0)
dkey, tkey, akey = f"{key}_date", f"{key}_time", f"{key}_auto_time"
auto = st.session_state.get(akey)
at_now = auto is None or (st.session_state.get(dkey), st.session_state.get(tkey)) == (
    auto.date(), auto.time())
if at_now:  # not changed by the nurse: the fields show the current minute
    st.session_state[dkey], st.session_state[tkey] = shown_now.date(), shown_now.time()
    st.session_state[akey] = shown_now
with st.container(key=f"{key}_bedside_when"):  # ui/bedside.css (drawn with the form)
    c = st.columns([1, 1, 2])
    day = c[0].date_input("Assessment date", key=dkey, format="DD/MM/YYYY")
    clock = c[1].time_input("Time", step=60, key=tkey)
    c[2].caption(f"Ward time zone {tz.key}. Left at now, the assessment is timed when it is "
                 "saved; it may be back-dated up to 24 h, never in the future.")
    clock_problem = None
    if at_now:
        assessed_at = local_now.replace(microsecond=0)
    else:  # a clock time that night's clock change skips is refused, one it repeats asked
        assessed_at, clock_problem = asked_time(key, day, clock, tz, "Time")
    time_slot = st.empty()  # what is wrong with the time, under it
# a time not yet known (skipped, or repeated and not yet chosen) is not checked against now
time_problem = Problem("time", "clock_change", clock_problem) if clock_problem \
    else backdating_problem(assessed_at, session.now())

form = assessment_form(key, carried, age, support_note)
form.slots["time"] = time_slot
values = changed_support(form.values, carried)  # blank = unchanged: only what the nurse changed
values["time"] = assessed_at

# ---- check, preview, save
problems = {k: list(v) for k, v in form.problems.items()}
if time_problem:
    problems.setdefault("time", []).append(time_problem.message)
result = None
soft: list[str] = []
general: list[str] = []
entered = [k for k in values if k != "time"]
if not problems and not time_problem and entered:
    try:
        result = preview(store, pid, values)
        soft = result.soft_limits
    except grading.InputError as e:
        for name, messages in field_messages(e.problems, local(assessed_at, tz)).items():
            problems.setdefault(name, []).extend(messages)
    except StoreError as e:
        general.append(str(e))
show_problems(form, problems)
unplaced = [m for name, ms in problems.items() if name not in form.slots for m in ms]

with st.container(border=True):
    st.markdown("**Before saving: grade preview**")
    for m in general + unplaced:
        st.error(md(m), icon=":material/error:")
    if len(unplaced) < sum(map(len, problems.values())):  # something is marked above
        st.error("Correct the values marked above; nothing has been saved.",
                 icon=":material/error:")
    elif problems or general:
        st.error("Nothing has been saved.", icon=":material/error:")
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
            st.markdown(news_markdown(result.news))
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
        except (grading.InputError, StoreError) as e:
            raced = isinstance(e, ConcurrentChangeError)  # someone saved at this time first
            found = [Problem("time", "duplicate_time", str(e))] if raced else e.problems
            refused = field_messages(found, local(assessed_at, tz), by_someone_else=raced)
            if "time" in refused:  # marked under the time, like a clash found in the preview
                time_slot.error("  \n".join(refused.pop("time")), icon=":material/error:")
            lines = [m for ms in refused.values() for m in ms] or (
                [] if found else [str(e)])
            st.error("Not saved" + (":  \n" + "  \n".join(map(md, lines)) if lines
                                    else ": see the time above."), icon=":material/error:")
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
                "news": None if done.news is None else news_markdown(done.news)}
            st.session_state[f"entry_v_{pid}"] = version + 1  # a fresh, empty form
            st.rerun()

# ---- a lab result taken at the bedside (a point-of-care value; issue 20 point 1): the same
# form and checks as the Medications and labs page, saved on its own, apart from the assessment
lab_done = st.session_state.pop("entry_lab_done", None)
with st.expander("Lab result (e.g. a point-of-care value)", expanded=bool(lab_done)):
    if lab_done:
        st.success(md(lab_done), icon=":material/check:")
    st.caption("Saved on its own, not with the assessment above. Corrections and every result "
               "so far are on the Medications and labs page.")
    lab_entry.draw(store, user, pid, session.now(), "entry_lab", "entry_lab_done")
