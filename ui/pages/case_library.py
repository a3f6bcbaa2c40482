"""Case library (educators): every synthetic teaching case with its card; load a fresh copy
into the demo ward, open it in Teaching, export it in the sample_data format."""

import pandas as pd
import streamlit as st

from monitoring import library
from ui import session
from ui.common import local
from ui.teaching_view import patient_line, trial_line
from ui.text import md

user = session.require("case_library")
store = session.store()
tz = store.tz

st.title("Case library")
st.caption("Synthetic teaching cases only - never real patients. Each card's grades are checked "
           "against the grading engine (ASTCT 2019, Lee et al., BBMT 2019); doses are "
           "illustrative teaching values.")
done = st.session_state.pop("library_done", None)
if done:
    st.success(done, icon=":material/check:")  # the title in it escaped (md)

cases = library.library(store)
in_ward = {p["patient_id"] for p in store.patients(demo=True, admitted_only=True)}
overview = pd.DataFrame([{
    "ID": c.id, "Title": c.card.title, "Product": c.card.patient.product,
    "Age": f"{c.card.patient.age_years:g}", "Trial": c.card.trial.trial or "none (child)",
    "Max CRS / ICANS": f"{c.card.expected.crs_max} / {c.card.expected.icans_max}",
    "Source": "built-in" if c.source == "built-in" else f"educator (v{c.version})",
    "In the demo ward": "yes" if c.id in in_ward else ""} for c in cases])
st.dataframe(overview, hide_index=True, key="library_table",
             height=35 * (len(overview) + 1) + 3)  # every case in view, no inner scroll

by_id = {c.id: c for c in cases}
chosen = st.selectbox("Case", list(by_id), key="library_case", index=None,
                      placeholder="Choose a case",
                      format_func=lambda i: f"{i} · {by_id[i].card.title}")
if chosen is None:
    st.stop()
case = by_id[chosen]
card = case.card

with st.container(border=True):
    st.subheader(md(card.title))
    st.markdown(f"**{md(card.patient.name)}** · {md(patient_line(card))}")
    st.markdown(trial_line(card))
    st.caption(card.trial.note)
    st.markdown(md(card.summary))  # an educator's words, shown as typed
    st.markdown("**Learning points**\n" + "\n".join(f"- {md(p)}" for p in card.learning_points))
    if case.source == "educator":
        st.caption(f"Built by {md(case.saved_by)}; version {case.version} saved "
                   f"{local(case.saved_at, tz, '%d %b %Y %H:%M')}.")
    with st.expander(f"Grades the card states ({len(card.expected.grades)})"):
        st.dataframe(pd.DataFrame([{
            "Time (case clock)": f"{e.time:%d %b %H:%M}", "CRS": e.crs,
            "CRS status": e.crs_status, "ICANS": e.icans, "ICANS status": e.icans_status,
            "Note": e.note} for e in card.expected.grades]), hide_index=True,
            key="library_grades")
        if card.expected.flags:
            st.markdown("Review flags the case is about: " + ", ".join(
                f"`{code}` ({len(times)} assessments)"
                for code, times in card.expected.flags.items()))
    stays = len(card.icu)  # loaded as the record's ICU stays (decision R10)
    st.caption(f"{len(card.medications)} medications, {len(card.events)} other events, "
               + (f"{stays} ICU stay{'s' if stays > 1 else ''}, " if stays else "")
               + f"{len(card.labs.draws)} lab draws.")
    problems = library.verify(case, tz.key)
    if problems:
        st.error("The grading engine does not agree with this card:  \n"
                 + "  \n".join(map(md, problems)), icon=":material/error:")
    else:
        st.success("Every grade on this card is the grading engine's.",
                   icon=":material/verified:")

    c = st.columns([1.4, 1.2, 1.4, 2])
    label = "Load a fresh copy" if chosen in in_ward else "Load into the demo ward"
    if c[0].button(label, type="primary", key="library_load",
                   help="Puts the case into the demo ward ending today; a copy already there "
                        "is marked entered-in-error first (kept in the audit trail)."):
        n = library.load_case(store, case, session.now(), by=user["username"])
        st.session_state["library_done"] = (f"{md(card.title)} ({chosen}) loaded into the demo "
                                            f"ward: {n} assessments.")
        st.rerun()
    if chosen in in_ward and c[1].button("Open in Teaching", key="library_open"):
        st.session_state["teach_open"] = chosen
        st.switch_page("ui/pages/teaching.py")
    c[2].download_button("Export (card and CSV, zip)",
                         session.guarded(lambda: library.export_zip(case)),
                         file_name=f"{case.stem}.zip", mime="application/zip",
                         key="library_export", on_click="ignore",
                         help="The two sample_data files: <name>.card.json and <name>.csv")
