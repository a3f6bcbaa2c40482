"""Build a case (educators): admit a synthetic patient, chart assessments with the bedside
form (ui/form.py, the same form and validation as bedside entry), add medications and lab
results, fill in the case card and save it to the teaching library."""

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

import grading
from grading import guidance
from monitoring import library, limits, services
from monitoring.course import course
from monitoring.library import grade_words
from monitoring.services import PatientIn, StoreError
from monitoring.support import changed_support
from monitoring.vocabulary import ADMINISTRATION_KINDS, KIND_WORDS, LAB_UNITS
from monitoring.ward import carried_forward, preview, save
from ui import session
from ui.common import SEVERITY_ICONS, badge, local, reasons_text
from ui.flags import by_severity
from ui.form import (
    DEVICE_WORDS,
    assessment_form,
    problem_lines,
    problems_by_field,
    show_problems,
)
from ui.recording import asked_time
from ui.teaching_view import LAB_DISPLAY
from ui.text import md

user = session.require("case_builder")
store = session.store()
tz = store.tz
now = session.now()

st.title("Build a case")
st.caption("A synthetic teaching case, charted with the bedside form. Everything is saved as it "
           "is entered (who and when, nothing deleted); the case joins the library when you save "
           "its card. Never enter real patient data here.")
done = st.session_state.pop("builder_done", None)
if done:
    st.success(done, icon=":material/check:")  # user text in it escaped (md)


def when_input(key: str, default: datetime, label: str, what: str,
               widths: tuple[float, ...] = (1, 1, 3)) -> tuple[datetime, str | None]:
    """The instant typed, and why it cannot be recorded (naming ``what``): a clock time the
    night's clock change skips is refused, one it repeats asked under the fields, the
    default kept (``ui.recording.asked_time``, decision V4)."""
    c = st.columns(list(widths))
    local_default = default.astimezone(tz)
    day = c[0].date_input(label, value=local_default.date(), key=f"{key}_date",
                          format="DD/MM/YYYY")
    clock = c[1].time_input("Time", value=local_default.time().replace(second=0, microsecond=0),
                            step=300, key=f"{key}_time")
    return asked_time(key, day, clock, tz, what, default)


# ------------------------------------------------------------------------------ which case
drafts = [p for p in store.patients(demo=True, admitted_only=True)
          if p["patient_id"].startswith(library.EDUCATOR_PREFIX)]
NEW = "— start a new case —"
options = [NEW, *[p["patient_id"] for p in drafts]]
names = {p["patient_id"]: f"{p['patient_id']} · {p.get('name') or ''}" for p in drafts}
wanted = st.session_state.pop("builder_open", None)
if wanted in options:
    st.session_state["builder_case"] = wanted
chosen = st.selectbox("Case being built", options, key="builder_case",
                      format_func=lambda x: names.get(x, x))

if chosen == NEW:
    new_id = library.next_case_id(store)
    with st.form("builder_new", border=True):
        st.markdown(f"**New synthetic patient {new_id}**")
        c = st.columns(3)
        name = c[0].text_input("Name", value=f"Teaching case {new_id} (synthetic)",
                               max_chars=limits.most("name"))
        product = c[1].selectbox("CAR-T product", list(library.TRIALS),
                                 help="The case follows its trial's published timing.")
        disease = c[2].text_input("Disease", value="DLBCL", max_chars=limits.most("disease"))
        c = st.columns(4)
        age = c[0].number_input("Age (years)", min_value=0.0, max_value=125.0, value=60.0,
                                step=1.0, format="%g")
        sex = c[1].selectbox("Sex", ("female", "male", "other", "unknown"))
        weight = c[2].number_input("Weight (kg)", min_value=0.5, max_value=350.0, value=75.0,
                                   step=1.0, format="%g")
        bed = c[3].text_input("Bed", value="", max_chars=limits.most("bed"))
        st.markdown("CAR-T infusion (Day 0)")
        c = st.columns([1, 1, 3])
        infusion_day = c[0].date_input("Infusion date",
                                       value=now.astimezone(tz).date() - timedelta(days=3),
                                       format="DD/MM/YYYY")
        infusion_clock = c[1].time_input("Infusion time", value=time(10, 0), step=300)
        # asked under the time once sent with a clock time the clocks going back repeat
        infusion, infusion_problem = asked_time("builder_infusion", infusion_day,
                                                infusion_clock, tz, "Infusion time")
        if st.form_submit_button("Create the synthetic patient", type="primary"):
            if infusion_problem:
                st.error(md(infusion_problem))
            elif infusion > now:
                st.error("The infusion time is in the future.")
            else:
                try:
                    services.admit(store, PatientIn(
                        patient_id=new_id, name=name.strip() or None, product=product,
                        indication=f"{disease.strip()} (demo)", bed=bed.strip() or None,
                        weight_kg=weight, sex=sex, infusion_time=infusion, is_demo=True),
                        by=user["username"])
                except (StoreError, ValueError) as e:
                    st.error(f"Not created: {md(e)}")
                else:
                    st.session_state[f"builder_age_{new_id}"] = age
                    st.session_state["builder_open"] = new_id
                    st.session_state["builder_done"] = f"{new_id} created: chart its first " \
                                                       "assessment below."
                    st.rerun()
    st.stop()

pid = chosen
patient = store.patient(pid)
assert patient is not None and patient["is_demo"]
rows = course(store, pid).rows  # the one read model (read again after any write)
carried = carried_forward(store, pid)
age = carried.get("age_years", st.session_state.get(f"builder_age_{pid}"))
st.markdown(f"**{md(patient.get('name') or pid)}** · {patient.get('product')} · "
            + (f"weight {patient['weight_kg']:g} kg · " if patient.get("weight_kg") else "")
            + "infusion " + local(patient["infusion_time"], tz, "%d %b %Y %H:%M")
            + " · synthetic demo patient")

# ------------------------------------------------------------------------------ so far
results = course(store, pid).results
with st.expander(f"The record so far: {len(rows)} assessments", expanded=bool(rows)):
    if rows:
        st.dataframe(pd.DataFrame([{
            "Time": local(r["time"], tz), "Day": g.day_post_infusion,
            "Temp": r.get("temp_c"), "SBP": r.get("sbp_mmhg"), "SpO2": r.get("spo2_pct"),
            "O2": DEVICE_WORDS.get(r.get("o2_device") or "", ""),
            "Pressors": r.get("vasopressors") or "",
            "CRS": g.crs.grade, "CRS status": g.crs.status, "ICANS": g.icans.grade,
            "ICANS status": g.icans.status} for r, g in zip(rows, results)]),
            hide_index=True, key=f"builder_rows_{pid}")
    else:
        st.caption("No assessments yet.")

# ------------------------------------------------------------------------------ add a row
version = st.session_state.setdefault(f"builder_v_{pid}", 0)
key = f"builder_{pid}_{version}"
with st.container(border=True):
    st.subheader("Add an assessment")
    default = rows[-1]["time"] + timedelta(hours=4) if rows else \
        patient["infusion_time"] - timedelta(hours=2)
    assessed_at, time_problem = when_input(f"{key}_at", min(default, now), "Assessment date",
                                           "Time")
    age_in = st.number_input("Age (years)", min_value=0.0, max_value=125.0,
                             value=None if age is None else float(age), step=1.0,
                             format="%g", key=f"{key}_age",
                             help="Recorded on every assessment of the case.")
    support_note = "Carried forward: " + DEVICE_WORDS.get(
        carried.get("o2_device", ""), "no oxygen device recorded yet") + "; vasoactive " \
        "infusions: " + (carried.get("vasopressors") or "none").replace(";", ", ")
    form = assessment_form(key, carried, age_in, support_note)
    values = changed_support(form.values, carried)
    values["time"] = assessed_at
    if age_in is not None:
        values["age_years"] = age_in
    problems = {k: list(v) for k, v in form.problems.items()}
    general: list[str] = [time_problem] if time_problem else []
    if time_problem is None and assessed_at > now:
        general.append("The assessment time is in the future.")
    result = None
    entered = [k for k in values if k not in ("time", "age_years")]
    if not problems and not general and entered:
        try:
            result = preview(store, pid, values)
        except grading.InputError as e:
            for name, messages in problems_by_field(e.problems).items():
                problems.setdefault(name, []).extend(messages)
        except StoreError as e:
            general.append(str(e))
    show_problems(form, problems)
    for m in general + [m for n, ms in problems.items() if n not in form.slots for m in ms]:
        st.error(md(m), icon=":material/error:")
    if result is not None:
        r = result.result
        st.markdown(badge("CRS", r.crs) + " &nbsp; " + badge("ICANS", r.icans),
                    unsafe_allow_html=True)
        cols = st.columns(2)
        cols[0].markdown("Why CRS:  \n" + "  \n".join(reasons_text(r.crs, tz)))
        cols[1].markdown("Why ICANS:  \n" + "  \n".join(reasons_text(r.icans, tz)))
        if result.flags:
            st.markdown("**Saving will raise:**  \n" + "  \n".join(
                f"{SEVERITY_ICONS.get(f['severity'], f['severity'])}: {md(f['message'])}"
                for f in by_severity(result.flags)))
    elif not entered:
        st.info("Enter the observations of this assessment; blank fields mean 'not assessed'.")
    confirmed = True
    if result is not None and result.soft_limits:
        st.warning("Unusual values:  \n" + "  \n".join(
            "• " + m.split(": ", 1)[-1] for m in result.soft_limits))
        confirmed = st.checkbox("These values are intended", key=f"{key}_soft_ok")
    if st.button("Add to the case", type="primary", key=f"{key}_add",
                 disabled=result is None or bool(problems) or bool(general) or not confirmed):
        try:
            saved = save(store, pid, values, by=user["username"])
        except (grading.InputError, StoreError) as e:
            st.error("Not added: " + ("  \n".join(map(md, problem_lines(e.problems)))
                                      if isinstance(e, grading.InputError) else md(e)))
        else:
            st.session_state[f"builder_v_{pid}"] = version + 1
            st.session_state["builder_done"] = (
                f"Assessment at {local(values['time'], tz)} {saved.problem}."
                if saved.result is None else
                f"Assessment at {local(saved.result.time, tz)} added: "
                f"CRS {grade_words(saved.result.crs.grade)}, "
                f"ICANS {grade_words(saved.result.icans.grade)}.")
            st.rerun()

# ------------------------------------------------------------------------------ meds, labs
c = st.columns(2)
with c[0].container(border=True):
    st.markdown("**Add a medication**")
    kinds = list(ADMINISTRATION_KINDS)
    kind = st.selectbox("Medication", kinds, format_func=KIND_WORDS.get, key=f"builder_med_{pid}")
    unit = ADMINISTRATION_KINDS[kind][0]
    added = st.session_state.setdefault(f"builder_meds_added_{pid}", 0)
    dose = st.number_input(f"Dose ({unit})", min_value=0.0, value=None, step=1.0,
                           key=f"builder_dose_{pid}_{added}")  # empty again after each add
    problem = (guidance.tocilizumab_dose_problem(dose, patient.get("weight_kg"))
               if kind == "tocilizumab" and dose else None)
    if problem:
        st.warning(f"Check the dose: {problem}. A teaching case shows learners this dose.",
                   icon=":material/warning:")
    last_time = rows[-1]["time"] if rows else now
    given_at, given_problem = when_input(f"builder_med_at_{pid}_{len(rows)}", last_time,
                                         "Given", "Given", (3, 2, 1))
    if given_problem:
        st.error(md(given_problem), icon=":material/error:")
    elif given_at > now:
        st.error("Given: the time is in the future; a medication is recorded when it was "
                 f"given (any time up to now, {local(now, tz, '%d %b %Y %H:%M')}).",
                 icon=":material/error:")
    if st.button("Add the medication", key=f"builder_med_add_{pid}",
                 disabled=dose is None or dose <= 0 or given_at > now or bool(given_problem)):
        try:
            services.record_medication(store, pid, kind, given_at, by=user["username"],
                                       dose=dose)
        except StoreError as e:
            st.error(f"Not added: {md(e)}")
        else:
            st.session_state["builder_done"] = f"{KIND_WORDS[kind]} {dose:g} {unit} added."
            st.session_state[f"builder_meds_added_{pid}"] = added + 1
            st.rerun()
    meds = course(store, pid).administrations
    if meds:
        st.dataframe(pd.DataFrame([{"Given": local(m["given_at"], tz),
                                    "Medication": KIND_WORDS.get(m["kind"], m["kind"]),
                                    "Dose": f"{m['dose']:g} {m['unit']}" if m["dose"] else ""}
                                   for m in meds]), hide_index=True, key=f"builder_meds_{pid}")
with c[1].container(border=True):
    st.markdown("**Add a lab result**")
    test = st.selectbox("Test", list(LAB_UNITS), key=f"builder_lab_{pid}",
                        format_func=lambda x: LAB_DISPLAY.get(x, (x,))[0])
    units = list(LAB_UNITS[test][1])
    shown = LAB_DISPLAY.get(test, (test, units[0]))[1]
    lab_unit = st.selectbox("Unit", units, index=units.index(shown) if shown in units else 0,
                            key=f"builder_lab_unit_{pid}_{test}")
    value = st.number_input("Value", min_value=0.0, value=None, key=f"builder_lab_value_{pid}")
    taken_at, taken_problem = when_input(f"builder_lab_at_{pid}_{len(rows)}", last_time,
                                         "Taken", "Taken", (3, 2, 1))
    if taken_problem:
        st.error(md(taken_problem), icon=":material/error:")
    elif taken_at > now:
        st.error("Taken: the time is in the future; a result is recorded at the time the "
                 f"sample was taken (any time up to now, {local(now, tz, '%d %b %Y %H:%M')}).",
                 icon=":material/error:")
    if st.button("Add the result", key=f"builder_lab_add_{pid}",
                 disabled=value is None or taken_at > now or bool(taken_problem)):
        try:
            services.record_lab(store, pid, test, value, lab_unit, taken_at,
                                by=user["username"])
        except StoreError as e:
            st.error(f"Not added: {md(e)}")
        else:
            st.session_state["builder_done"] = f"{LAB_DISPLAY[test][0]} {value:g} {lab_unit} added."
            st.rerun()
    labs = course(store, pid).labs
    if labs:
        st.caption(f"{len(labs)} results recorded (latest {local(labs[-1]['taken_at'], tz)}).")

# ------------------------------------------------------------------------------ the card
saved_versions = store.teaching_case_versions(pid)
with st.container(border=True):
    st.subheader("Save to the library")
    st.caption("The card's grades are the grading engine's for the record as charted (every "
               "change of grade, the maxima and the review flags); the trial figures are the "
               "product's published ones. Saving again keeps the earlier version.")
    if saved_versions:
        st.caption(f"Saved {len(saved_versions)} time(s); last by "
                   f"{md(saved_versions[-1]['recorded_by'])} at "
                   f"{local(saved_versions[-1]['recorded_at'], tz, '%d %b %Y %H:%M')}.")
    previous = library.parse_card(saved_versions[-1]["card"]) if saved_versions else None
    title = st.text_input("Title", value=previous.title if previous else "",
                          key=f"builder_title_{pid}", max_chars=limits.most("case_title"))
    indication = (patient.get("indication") or "").removesuffix(" (demo)")
    disease = st.text_input("Disease", value=previous.patient.disease if previous else indication,
                            key=f"builder_disease_{pid}", max_chars=limits.most("disease"))
    summary = st.text_area("Summary (the course, in a few sentences)",
                           value=previous.summary if previous else "",
                           key=f"builder_summary_{pid}", max_chars=limits.most("summary"))
    points = st.text_area("Learning points (one a line)",
                          value="\n".join(previous.learning_points) if previous else "",
                          key=f"builder_points_{pid}",
                          max_chars=limits.most("learning_points"))
    learning = [p.strip(" -•") for p in points.splitlines() if p.strip(" -•")]
    missing = [what for what, ok in (("a title", title.strip()), ("a summary", summary.strip()),
                                     ("at least one learning point", learning),
                                     ("an assessment", rows), ("the disease", disease.strip()))
               if not ok]
    if missing:
        st.caption("To save, give " + ", ".join(missing) + ".")
    if st.button("Save to the library", type="primary", key=f"builder_save_{pid}",
                 disabled=bool(missing)):
        try:
            case = library.save_to_library(store, pid, user["username"], title=title.strip(),
                                           summary=summary.strip(), learning_points=learning,
                                           disease=disease.strip(), age_years=age)
        except library.CardError as e:
            st.error("Not saved:  \n" + "  \n".join(map(md, e.problems)))
        except (StoreError, ValueError) as e:
            st.error(f"Not saved: {md(e)}")
        else:
            st.session_state["builder_done"] = (
                f"{md(case.card.title)} ({pid}) saved to the library, version {case.version}: "
                f"maximum CRS {grade_words(case.card.expected.crs_max)}, ICANS "
                f"{grade_words(case.card.expected.icans_max)}; it loads, replays and quizzes "
                "like any case.")
            st.rerun()
