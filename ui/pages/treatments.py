"""Medications and labs for ward patients (issue 18 point 11): the medication administration
record (drug, dose, unit, route, time, why it was given: decision W20) and lab results, each
checked against its table (impossible refused naming the field and the range, unusual accepted
and highlighted), listed with every correction (the original stays visible), and corrected
with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from grading import guidance
from monitoring import course, limits, services
from monitoring.review import tocilizumab_for_dose
from monitoring.services import StoreError
from monitoring.vocabulary import (
    ANALYTES,
    DRUGS,
    INDICATION_ASKED,
    INDICATIONS,
    KIND_WORDS,
    MAR_KINDS,
    NOT_STATED,
    ROUTES,
    VASOPRESSORS,
    DoseError,
    LabUnitError,
    check_dose,
    check_value,
    uncharted_vasopressors,
    unusual,
)
from ui import lab_entry, lab_upload, recording, session
from ui.common import local
from ui.recording import NUMBER_CHARS, clinical, number, save
from ui.text import md

user = session.require("treatments")
store = session.store()
tz = store.tz
STATUS_WORDS = {"final": "current", "amended": "replaced by a correction",
                "entered_in_error": "entered in error"}

st.title("Medications and labs")
DONE = "treatments_done"  # what was saved, said above the page after the rerun
done = st.session_state.pop(DONE, None)
if done:
    st.success(done, icon=":material/check:")
patient = session.pick_patient(user, key="treatments_patient")
if patient is None:
    st.stop()
pid = patient["patient_id"]
now = session.now()


def short(check: str) -> str:
    """An unusual-value note without the name and value the row already shows."""
    return check.split(" is ", 1)[-1] if check else ""


def when_input(key: str, default: datetime, label: str) -> tuple[datetime, str | None]:
    return recording.when_input(key, default, label, tz, label.lower())


def future(at: datetime, what: str) -> str | None:
    return recording.future(at, what, now, tz)


def statuses(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each version's status in words: current, replaced by a correction, entered in error
    (the original so marked), or the marking itself."""
    by = {r["replaces_id"]: r for r in rows if r["replaces_id"] is not None}
    out = {}
    for r in rows:
        if r["status"] == "entered_in_error":
            out[r["id"]] = "marking: entered in error"
        elif r["id"] in by:
            out[r["id"]] = STATUS_WORDS["entered_in_error" if by[r["id"]]["status"]
                                        == "entered_in_error" else "amended"]
        else:
            out[r["id"]] = STATUS_WORDS["final"]
    return out


INDICATION_HELP = ("Why this dose was given, as the prescription or the team says: the registry "
                   "asks for the therapy given for CRS and for ICANS. Choose \"not stated\" "
                   "when nobody has said - never a guess. It changes no grade, flag or "
                   "tocilizumab count.")


def given_for(key: str, kind: str, current: str | None = None) -> str | None:
    """The "Given for" choice: asked, with no choice made for the nurse, for the
    anti-cytokine agents and corticosteroids (W20); "not stated" unless changed for the
    others; the recorded one when correcting."""
    options = list(INDICATIONS)
    index = (options.index(current) if current in options else
             None if kind in INDICATION_ASKED else options.index(NOT_STATED))
    return st.selectbox("Given for" + (" (required)" if kind in INDICATION_ASKED
                                       and current is None else ""),
                        options, index=index, format_func=INDICATIONS.get, key=key,
                        placeholder="Choose why it was given", help=INDICATION_HELP)


def dose_text(m: dict[str, Any]) -> str:
    return "" if m["dose"] is None else f"{m['dose']:g} {m['unit'] or ''}".strip()


def dose_check(m: dict[str, Any]) -> str:
    try:
        return check_dose(m["kind"], m["dose"], m["unit"], m.get("route")) or ""
    except DoseError as e:
        return str(e)


history = store.treatment_history(pid)
try:
    c_: course.PatientCourse | None = course.course(store, pid)
except StoreError as e:  # a record problem, named (never a trace): the MAR still works
    st.error(md(e))
    c_ = None
meds_tab, labs_tab = st.tabs(["Medications", "Lab results"])

# ------------------------------------------------------------------------------ medications
with meds_tab, st.container(border=True):
    st.markdown("**Record a medication given**")
    kind = st.selectbox("Medication", MAR_KINDS, format_func=KIND_WORDS.get,
                        key=f"mar_kind_{pid}")
    drug = DRUGS[kind]
    n = st.session_state.setdefault(f"mar_added_{pid}", 0)  # fields empty after each save
    c = st.columns(3)
    dose_typed = c[0].text_input("Dose", key=f"mar_dose_{pid}_{n}", max_chars=NUMBER_CHARS,
                                 placeholder="e.g. 560")
    unit = c[1].selectbox("Unit", list(drug.doses), key=f"mar_unit_{pid}_{kind}")
    route = c[2].selectbox("Route", drug.routes, format_func=lambda r: f"{r} ({ROUTES[r]})",
                           key=f"mar_route_{pid}_{kind}")
    given_at, clock_problem = when_input(f"mar_at_{pid}_{n}", now, "Given")
    indication = given_for(f"mar_for_{pid}_{kind}_{n}", kind)
    dose, problem = number(dose_typed, "dose")
    note = None
    if problem is None and dose is not None:
        try:
            note = check_dose(kind, dose, unit, route)
        except DoseError as e:
            problem = str(e)
    problem = problem or clock_problem or future(given_at, "given")
    if problem:
        st.error(md(problem), icon=":material/error:")
    elif note:
        st.warning(md(note) + " — it can be saved.", icon=":material/warning:")
    if kind == "tocilizumab" and c_ is not None:
        # the limits at the time the dose was given (a dose charted late may come before
        # doses already recorded: they count too), at now while that time cannot be used
        late = clock_problem is None and given_at < now - timedelta(minutes=1)
        count = tocilizumab_for_dose(c_.rows, c_.administrations, given_at if late else now)
        weight = patient.get("weight_kg")
        ref = guidance.tocilizumab_dose_mg(weight) if weight else None
        st.caption((f"Tocilizumab doses in the 24 h before {local(given_at, tz)}: "
                    if late else "Tocilizumab doses in the last 24 h: ")
                   + f"{count.last_24h} (limit 3) · in total: {count.total} (limit 4)"
                   + (f" · reference dose from the recorded weight {ref[0]:g} mg" if ref else "")
                   + " (ASCO 2021).")
        for w in count.warnings:  # a clause of the limits' text: a sentence here
            st.warning(f"Tocilizumab: {w} (ASCO 2021).", icon=":material/warning:")
        above = (guidance.tocilizumab_dose_problem(dose, weight)
                 if dose is not None and problem is None and unit == "mg" else None)
        if above:
            st.warning(f"Check the dose: {above}.", icon=":material/warning:")
    if kind in VASOPRESSORS:
        st.caption("The CRS grade takes vasopressors from the bedside assessment (what is "
                   "running then, ASTCT 2019): chart the infusion on the next assessment too.")
    for m, at in [] if c_ is None else uncharted_vasopressors(
            c_.administrations, [r["time"] for r in c_.rows],
            [s_.vasopressors for s_ in c_.support], now - timedelta(hours=24)):
        where = ("no bedside assessment has been charted since" if at is None else
                 f"the bedside assessment at {local(at, tz)} shows no vasopressor running")
        st.warning(f"{KIND_WORDS[m['kind']]} given at {local(m['given_at'], tz)}, but {where}: "
                   "chart the infusion on the bedside assessment so the CRS grade counts it "
                   "(ASTCT 2019).", icon=":material/warning:")
    if indication is None:
        st.caption(f"Choose what the {KIND_WORDS[kind]} was given for (\"not stated\" when "
                   "nobody has said) to save it.")
    if st.button("Save the medication", type="primary", key=f"mar_save_{pid}",
                 disabled=dose is None or problem is not None or indication is None):
        def record() -> int:
            got = services.record_medication(store, pid, kind, given_at, by=user["username"],
                                             dose=dose, unit=unit, route=route,
                                             indication=str(indication))
            st.session_state[f"mar_added_{pid}"] = n + 1   # fresh fields after the save
            return got
        save(record, lambda _: f"{KIND_WORDS[kind]} {dose:g} {unit} {route} at "
             f"{local(given_at, tz)}, given for {INDICATIONS[str(indication)]}, saved.", DONE)

with meds_tab:
    meds = history["administrations"]
    replaced = {m["replaces_id"] for m in meds if m["replaces_id"] is not None}
    n_now = sum(m["id"] not in replaced and m["status"] == "final" for m in meds)
    st.markdown(f"**Medications given** ({n_now} current)")
    if not meds:
        st.info("No medication recorded yet.")
    else:
        st.dataframe(pd.DataFrame([{
            "ID": m["id"], "Given": local(m["given_at"], tz),
            "Medication": KIND_WORDS.get(m["kind"], m["kind"]), "Dose": dose_text(m),
            "Check": short(dose_check(m)),
            "Route": m.get("route") or "",
            "Given for": INDICATIONS.get(m.get("indication") or NOT_STATED, ""),
            "Status": statuses(meds)[m["id"]],
            "Corrects": "" if m["replaces_id"] is None else f"#{m['replaces_id']}",
            "Reason": m["reason"] or "",
            "Recorded": f"{local(m['recorded_at'], tz)} by {m['recorded_by']}"}
            for m in reversed(meds)]), hide_index=True, width="stretch",
            key=f"mar_list_{pid}", column_config={
                "ID": st.column_config.NumberColumn(width="small"),
                "Check": st.column_config.TextColumn("Check (unusual dose)")})
        current = {m["id"]: m for m in reversed(meds)
                   if m["status"] == "final" and m["id"] not in replaced}
        if current:
            with st.expander("Correct a medication"):
                chosen = st.selectbox(
                    "Medication to correct", list(current), key=f"mar_pick_{pid}",
                    format_func=lambda i: f"#{i} · {local(current[i]['given_at'], tz)} · "
                    f"{KIND_WORDS.get(current[i]['kind'])} {dose_text(current[i])}")
                m = current[chosen]
                d = DRUGS[m["kind"]]
                action = st.radio("Correction", ("Amend", "Mark entered in error"),
                                  horizontal=True, key=f"mar_action_{chosen}")
                reason = st.text_input("Reason (required)", key=f"mar_reason_{chosen}",
                                       max_chars=limits.most("reason"),
                                       placeholder="e.g. 100 mg charted, 10 mg given")
                if action == "Amend":
                    c = st.columns(3)
                    typed = c[0].text_input("Dose", value="" if m["dose"] is None
                                            else f"{m['dose']:g}", max_chars=NUMBER_CHARS,
                                            key=f"mar_fix_dose_{chosen}")
                    units = list(d.doses)
                    fix_unit = c[1].selectbox("Unit", units, key=f"mar_fix_unit_{chosen}",
                                              index=units.index(m["unit"])
                                              if m["unit"] in units else 0)
                    fix_route = c[2].selectbox("Route", d.routes, key=f"mar_fix_route_{chosen}",
                                               format_func=lambda r: f"{r} ({ROUTES[r]})",
                                               index=d.routes.index(m["route"])
                                               if m.get("route") in d.routes else 0)
                    fix_at, fix_clock = when_input(f"mar_fix_at_{chosen}", m["given_at"],
                                                   "Given")
                    fix_for = given_for(f"mar_fix_for_{chosen}", m["kind"],
                                        m.get("indication") or NOT_STATED)
                    fix_dose, bad = number(typed, "dose")
                    if bad is None and fix_dose is not None:
                        try:
                            check_dose(m["kind"], fix_dose, fix_unit, fix_route)
                        except DoseError as e:
                            bad = str(e)
                    bad = bad or fix_clock or future(fix_at, "given")
                    if bad:
                        st.error(md(bad), icon=":material/error:")
                    if st.button("Save the correction", key=f"mar_fix_save_{chosen}",
                                 # a dose recorded without one (imported) can still be
                                 # corrected, e.g. why it was given; a dose is never blanked
                                 disabled=bool(bad) or not reason.strip()
                                 or (fix_dose is None and m["dose"] is not None)):
                        save(lambda: services.amend_medication(
                                store, pid, chosen, fix_at, fix_dose, fix_unit, fix_route,
                                reason.strip(), by=user["username"], indication=fix_for),
                             lambda new: f"Medication #{chosen} corrected: the new version is "
                             f"#{new}; the original stays in the list.", DONE)
                elif st.button("Mark entered in error", key=f"mar_eie_{chosen}",
                               disabled=not reason.strip()):
                    save(lambda: services.medication_in_error(
                            store, pid, chosen, reason.strip(), by=user["username"]),
                         lambda _: f"Medication #{chosen} marked entered in error; it stays in "
                         "the list and no longer counts.", DONE)

# ------------------------------------------------------------------------------ labs
with labs_tab, st.container(border=True):
    st.markdown("**Record a lab result**")
    lab_entry.draw(store, user, pid, now, "lab", DONE)

with labs_tab:
    lab_upload.draw(store, user, "lab_csv")
    labs = history["labs"]
    replaced = {x["replaces_id"] for x in labs if x["replaces_id"] is not None}
    n_now = sum(x["id"] not in replaced and x["status"] == "final" for x in labs)
    st.markdown(f"**Lab results** ({n_now} current; the lab scores are on Patient review)")
    if not labs:
        st.info("No lab result recorded yet.")
    else:
        st.dataframe(pd.DataFrame([{
            "ID": x["id"], "Taken": local(x["taken_at"], tz),
            "Test": ANALYTES[x["test"]].words if x["test"] in ANALYTES else x["test"],
            "Result": f"{x['entered_value']:g} {x['entered_unit']}",
            "Check": short(unusual(x["test"], x["entered_value"], x["entered_unit"]) or "")
            if x["test"] in ANALYTES else "",
            "Stored as": f"{clinical(x['value'])} {x['unit']}",
            "Status": statuses(labs)[x["id"]],
            "Corrects": "" if x["replaces_id"] is None else f"#{x['replaces_id']}",
            "Reason": x["reason"] or "",
            "Recorded": f"{local(x['recorded_at'], tz)} by {x['recorded_by']}"}
            for x in reversed(labs)]), hide_index=True, width="stretch",
            key=f"lab_list_{pid}", column_config={
                "ID": st.column_config.NumberColumn(width="small"),
                "Check": st.column_config.TextColumn("Check (unusual value)")})
        current = {x["id"]: x for x in reversed(labs)
                   if x["status"] == "final" and x["id"] not in replaced}
        if current:
            with st.expander("Correct a lab result"):
                chosen = st.selectbox(
                    "Result", list(current), key=f"lab_pick_{pid}",
                    format_func=lambda i: f"#{i} · {local(current[i]['taken_at'], tz)} · "
                    f"{ANALYTES[current[i]['test']].words} {current[i]['entered_value']:g} "
                    f"{current[i]['entered_unit']}")
                x = current[chosen]
                fa = ANALYTES[x["test"]]
                action = st.radio("Correction", ("Amend", "Mark entered in error"),
                                  horizontal=True, key=f"lab_action_{chosen}")
                reason = st.text_input("Reason (required)", key=f"lab_reason_{chosen}",
                                       max_chars=limits.most("reason"),
                                       placeholder="e.g. unit mistaken: µmol/L, not mg/dL")
                if action == "Amend":
                    c = st.columns(2)
                    typed = c[0].text_input("Value", value=f"{x['entered_value']:g}",
                                            max_chars=NUMBER_CHARS, key=f"lab_fix_v_{chosen}")
                    units = list(fa.factors)
                    fix_unit = c[1].selectbox("Unit", units, key=f"lab_fix_unit_{chosen}",
                                              index=units.index(x["entered_unit"])
                                              if x["entered_unit"] in units else 0)
                    fix_at, fix_clock = when_input(f"lab_fix_at_{chosen}", x["taken_at"],
                                                   "Taken")
                    fix_value, bad = number(typed, fa.words)
                    if bad is None and fix_value is not None:
                        try:
                            check_value(x["test"], fix_value, fix_unit)
                        except LabUnitError as e:
                            bad = str(e)
                    bad = bad or fix_clock or future(fix_at, "taken")
                    if bad:
                        st.error(md(bad), icon=":material/error:")
                    if st.button("Save the correction", key=f"lab_fix_save_{chosen}",
                                 disabled=bool(bad) or fix_value is None or not reason.strip()):
                        save(lambda: services.amend_lab(
                                store, pid, chosen, fix_value, fix_unit, fix_at, reason.strip(),
                                by=user["username"]),
                             lambda new: f"Lab result #{chosen} corrected: the new version is "
                             f"#{new}; the original stays in the list.", DONE)
                elif st.button("Mark entered in error", key=f"lab_eie_{chosen}",
                               disabled=not reason.strip()):
                    save(lambda: services.lab_in_error(
                            store, pid, chosen, reason.strip(), by=user["username"]),
                         lambda _: f"Lab result #{chosen} marked entered in error; it stays in "
                         "the list and no longer counts.", DONE)
