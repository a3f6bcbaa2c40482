"""FHIR import and export (physicians and administrators, decision W18): FHIR R4 files from
the hospital record imported with a progress bar, all or nothing (docs/fhir.md), and one
patient's grades downloaded as a FHIR Bundle."""

import streamlit as st

from ui import session
from ui.fhir import (
    KINDS,
    MAX_FILES,
    MAX_TOTAL_MB,
    ImportResult,
    Upload,
    download_bundle,
    run_import,
    show_result,
    upload_problem,
)

user = session.require("fhir")
store = session.store()

st.title("FHIR import and export")

st.subheader("Import from the hospital record")
st.caption("FHIR R4 Bundles (.json) and Bulk Data files (.ndjson) with Patients, vital-sign, "
           "neuro and lab Observations and MedicationAdministrations; up to "
           f"{MAX_FILES} files and {MAX_TOTAL_MB} MB at a time. Every resource is checked "
           "first: one problem anywhere and nothing is stored. Importing the same resources "
           "again adds nothing.")
files = st.file_uploader("FHIR files", type=list(KINDS), accept_multiple_files=True,
                         max_upload_size=MAX_TOTAL_MB, key="fhir_files")
chosen = [(f.name, f.size) for f in files or []]
problem = upload_problem(chosen) if chosen else None
if problem:
    st.error(f"Not imported: {problem}.", icon=":material/error:")
if st.button("Import", type="primary", icon=":material/upload:",
             disabled=not chosen or problem is not None, key="fhir_import"):
    bar = st.progress(0.0, text="Reading files…")
    result = run_import(store, [Upload(f.name, f.getvalue()) for f in files or []],
                        user["username"], lambda done, text: bar.progress(done, text=text))
    st.session_state["fhir_result"] = result
last = st.session_state.get("fhir_result")
if isinstance(last, ImportResult):
    show_result(last)

st.divider()
st.subheader("Export a patient's observations and grades")
patients = session.visible_patients(user, admitted_only=False)
if not patients:
    st.caption("No patients in the ward record.")
else:
    ids = [p["patient_id"] for p in patients]
    labels = {p["patient_id"]: session.patient_label(p) + (
        " · discharged" if p.get("discharged_at") else "") for p in patients}
    pid = st.selectbox("Patient", ids, index=None, format_func=labels.get,
                       placeholder="Choose a patient", key="fhir_export_patient")
    if pid is not None and session.open_patient(user, pid) is not None:
        download_bundle(store, pid, user, key=f"fhir_bundle_{pid}")
