"""Admission and discharge (physician, admin): demographics, weight, product, infusion time,
lymphodepletion start, baseline ICE; changes to admission details need a reason."""

from datetime import date, time

import streamlit as st
from pydantic import ValidationError

from monitoring import limits, services
from monitoring.services import StoreError
from monitoring.vocabulary import PATIENT_FIELDS, PRODUCTS
from ui import session
from ui.common import local
from ui.recording import asked_time
from ui.text import md

user = session.require("admission")
store = session.store()
tz = store.tz

st.title("Admission and discharge")
done = st.session_state.pop("admission_done", None)
if done:
    st.success(done, icon=":material/check:")  # ids in it escaped (md) when it was made
admit_tab, edit_tab, discharge_tab = st.tabs(["Admit a patient", "Change details", "Discharge"])


def pydantic_messages(e: ValidationError) -> list[str]:
    out = []
    for err in e.errors():
        field = ".".join(str(x) for x in err["loc"]) or "details"
        title = PATIENT_FIELDS[field].title if field in PATIENT_FIELDS else field
        out.append(f"{title}: {md(err['msg'])}")
    return out


with admit_tab, st.form("admit", clear_on_submit=False):
    c = st.columns(3)
    patient_id = c[0].text_input("Ward patient id (required)", max_chars=limits.most("patient_id"))
    hospital_number = c[1].text_input("Hospital number", max_chars=limits.most("hospital_number"))
    name = c[2].text_input("Name", max_chars=limits.most("name"))
    c = st.columns(4)
    dob = c[0].date_input("Date of birth", value=None, min_value=date(1900, 1, 1),
                          max_value=session.now().astimezone(tz).date(),  # the ward's today
                          format="DD/MM/YYYY")
    sex = c[1].selectbox("Sex", ("female", "male", "other", "unknown"), index=None)
    weight = c[2].number_input("Weight (kg)", value=None, step=0.1, format="%.1f",
                               help="0.5-350 kg; used for tocilizumab dosing")
    baseline_ice = c[3].number_input("Baseline ICE (0-10)", value=None, step=1, format="%d",
                                     help="Pre-infusion ICE score; ASTCT makes no baseline "
                                          "adjustment (ASTCT 2019)")
    c = st.columns(4)
    ward_name = c[0].text_input("Ward", max_chars=limits.most("ward"))
    bed = c[1].text_input("Bed", max_chars=limits.most("bed"))
    product = c[2].selectbox("CAR-T product", PRODUCTS, index=None)
    indication = c[3].text_input("Indication", max_chars=limits.most("indication"))
    c = st.columns(5, vertical_alignment="bottom")  # a label on two lines at 820 px
    inf_day = c[0].date_input("Infusion date (Day 0)", value=None, format="DD/MM/YYYY")
    inf_time = c[1].time_input("Infusion time", value=time(10, 0), step=300)
    ld_day = c[2].date_input("Lymphodepletion start", value=None, format="DD/MM/YYYY",
                             help=PATIENT_FIELDS["lymphodepletion_at"].description)
    ld_time = c[3].time_input("Lymphodepletion time", value=time(9, 0), step=300)
    spo2_scale = c[4].radio("NEWS2 SpO2 scale", (1, 2), horizontal=True,
                            help=PATIENT_FIELDS["spo2_scale"].description)
    # a clock time that night's clock change skips is refused, one it repeats asked here,
    # under the times, once the form has been sent with it (a form tells nothing before)
    infusion, inf_problem = (None, None) if inf_day is None \
        else asked_time("admit_infusion", inf_day, inf_time, tz, "Infusion time")
    ld_at, ld_problem = (None, None) if ld_day is None \
        else asked_time("admit_ld", ld_day, ld_time, tz, "Lymphodepletion time")
    submitted = st.form_submit_button("Admit", type="primary")
if submitted:
    details = {
        "patient_id": patient_id.strip(), "hospital_number": hospital_number.strip() or None,
        "name": name.strip() or None, "date_of_birth": dob, "sex": sex, "weight_kg": weight,
        "ward": ward_name.strip() or None, "bed": bed.strip() or None, "product": product,
        "indication": indication.strip() or None,
        "baseline_ice": None if baseline_ice is None else int(baseline_ice),
        "spo2_scale": spo2_scale,
        "infusion_time": infusion, "lymphodepletion_at": ld_at}
    try:
        if inf_problem or ld_problem:
            raise StoreError("  \n".join(p for p in (inf_problem, ld_problem) if p))
        services.admit(store, details, by=user["username"])
    except ValidationError as e:
        with admit_tab:
            st.error("Not admitted:  \n" + "  \n".join(pydantic_messages(e)))
    except StoreError as e:
        with admit_tab:
            st.error(f"Not admitted: {md(e)}")
    else:
        st.session_state["admission_done"] = f"Admitted {md(details['patient_id'])}."
        st.rerun()

admitted = store.patients(admitted_only=True)
labels = {p["patient_id"]: session.patient_label(p) for p in admitted}

with edit_tab:
    if not admitted:
        st.info("No admitted patients.")
    else:
        pid = st.selectbox("Patient", list(labels), format_func=labels.get, key="edit_pid")
        p = next(x for x in admitted if x["patient_id"] == pid)
        c = st.columns(4)
        weight = c[0].number_input("Weight (kg)", value=p["weight_kg"], step=0.1, format="%.1f",
                                   key=f"edit_weight_{pid}")
        bed = c[1].text_input("Bed", value=p["bed"] or "", key=f"edit_bed_{pid}",
                              max_chars=limits.most("bed"))
        baseline = c[2].number_input("Baseline ICE", value=p["baseline_ice"], step=1,
                                     format="%d", key=f"edit_ice_{pid}")
        product = c[3].selectbox("CAR-T product", PRODUCTS, index=PRODUCTS.index(
            p["product"]) if p["product"] in PRODUCTS else None, key=f"edit_prod_{pid}")
        scale = st.radio("NEWS2 SpO2 scale", (1, 2), index=(p["spo2_scale"] or 1) - 1,
                         horizontal=True, key=f"edit_scale_{pid}",
                         help=PATIENT_FIELDS["spo2_scale"].description)
        ld = p.get("lymphodepletion_at")
        c = st.columns(4)
        ld_day = c[0].date_input("Lymphodepletion start",
                                 value=None if ld is None else ld.astimezone(tz).date(),
                                 format="DD/MM/YYYY", key=f"edit_ld_day_{pid}",
                                 help=PATIENT_FIELDS["lymphodepletion_at"].description)
        ld_time = c[1].time_input("Lymphodepletion time",
                                  value=time(9, 0) if ld is None else ld.astimezone(tz).time(),
                                  step=300, key=f"edit_ld_time_{pid}")
        ld_new, ld_problem = (None, None) if ld_day is None \
            else asked_time(f"edit_ld_{pid}", ld_day, ld_time, tz, "Lymphodepletion time", ld)
        if ld_problem:
            st.error(md(ld_problem), icon=":material/error:")
        st.caption("Transfers to intensive care and back are recorded on the Patient record "
                   "page (nurses and physicians).")
        reason = st.text_input("Reason for the change (required)", key=f"edit_reason_{pid}",
                               max_chars=limits.most("reason"))
        changes = {k: v for k, v in (("weight_kg", weight), ("bed", bed.strip() or None),
                                     ("baseline_ice", None if baseline is None else int(baseline)),
                                     ("product", product), ("spo2_scale", scale),
                                     ("lymphodepletion_at", ld_new)) if v != p[k]}
        if st.button("Save changes", disabled=not changes or not reason.strip() or bool(ld_problem),
                     key=f"edit_save_{pid}"):
            try:
                # the flags are resynced with the change, in its transaction
                services.update_patient(store, pid, changes, reason.strip(), by=user["username"])
            except StoreError as e:
                st.error(f"Not saved: {md(e)}")
            else:
                st.session_state["admission_done"] = f"Details of {md(pid)} changed."
                st.rerun()

with discharge_tab:
    if not admitted:
        st.info("No admitted patients.")
    else:
        pid = st.selectbox("Patient", list(labels), format_func=labels.get, key="discharge_pid")
        p = next(x for x in admitted if x["patient_id"] == pid)
        st.caption(f"Admitted {local(p['admitted_at'], tz)}; infusion "
                   f"{local(p['infusion_time'], tz)}. Discharge ends bedside charting; the "
                   "record stays.")
        sure = st.checkbox(f"Discharge {md(labels[pid])} now", key=f"discharge_sure_{pid}")
        if st.button("Discharge", type="primary", disabled=not sure, key=f"discharge_{pid}"):
            try:
                services.discharge(store, pid, by=user["username"])
            except StoreError as e:
                st.error(f"Not discharged: {md(e)}")
            else:
                st.session_state["admission_done"] = f"Discharged {md(pid)}."
                st.rerun()
