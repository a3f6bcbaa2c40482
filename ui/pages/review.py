"""Patient review: the whole course on one time axis, why each grade, the course summary,
physician actions, guideline prompts (named sources) and exports."""

import pandas as pd
import streamlit as st

from grading import guidance
from monitoring import limits, services
from monitoring.library import grade_words
from monitoring.marker_panel import default_markers
from monitoring.review import (
    ATTRIBUTION_FINDINGS,
    attribution_effect,
    course_table,
    icu_now,
    maximum_row,
    news_now,
    patient_review,
    period_effect,
    tocilizumab,
)
from monitoring.scale_review import scale_course, scales_csv
from monitoring.services import StoreError
from monitoring.timeline_export import timeline_csv
from monitoring.ward import day_post_infusion
from ui import session
from ui.attribution import period_effect_text
from ui.charts import gap_note, timeline_figure
from ui.common import (
    attribution_effect_text,
    badge,
    grade_text,
    local,
    news_text,
    reasons_text,
)
from ui.fhir import download_bundle
from ui.flags import HISTORY_COLUMNS, history_frame, open_flags_panel
from ui.handover import handover_html
from ui.icu import header_state
from ui.marker_chart import choices as marker_choices
from ui.marker_chart import markers_figure
from ui.marker_chart import notes as marker_notes
from ui.scales import draw_labs_tab, draw_scales_tab
from ui.text import file_part, md

user = session.require("patient_review")
store = session.store()
tz = store.tz
now = session.now()

st.title("Patient review")
done = st.session_state.pop("review_done", None)
if done:
    st.success(done, icon=":material/check:")
patient = session.pick_patient(user, key="review_patient")
if patient is None:
    st.stop()
pid = patient["patient_id"]
try:
    rv = patient_review(store, pid)
except StoreError as e:  # no assessments yet, or a record problem (named, never a trace)
    (st.error if str(e).startswith("record problem") else st.info)(md(e))
    st.stop()
r = rv.current
s = rv.summary
day_now = day_post_infusion(patient.get("infusion_time"), now, tz)
weight = f"weight {patient['weight_kg']:g} kg" if patient.get("weight_kg") else \
    "weight not recorded"
icu_since = store.in_icu([pid]).get(pid)  # a stay with no return charted (decision R10)
st.markdown(f"**{md(patient.get('name') or pid)}** · bed {md(patient.get('bed') or '—')} · "
            f"{patient.get('product') or 'product not recorded'} · "
            f"today D+{day_now if day_now is not None else '—'} · {weight}"
            + header_state(rv.rows[-1], r.time, icu_since, tz))
extra = []
if rv.unattributed is not None:
    u = rv.unattributed[-1]
    if (u.crs.grade, u.icans.grade) != (r.crs.grade, r.icans.grade):
        extra.append(f"with physicians' attributions; without them {grade_text('CRS', u.crs)}, "
                     f"{grade_text('ICANS', u.icans)}")
for c_ in rv.confirmations:
    if c_["assessment_id"] == rv.ids[-1]:
        extra.append(f"{c_['syndrome'].upper()} {c_['grade']} confirmed by {c_['recorded_by']}")
# the badges are HTML of our own; who confirmed (user text) is Markdown, escaped
st.markdown(f"Latest assessment ({local(r.time, tz)}): " + badge("CRS", r.crs) + " "
            + badge("ICANS", r.icans)
            + f" &nbsp; Maximum so far: CRS {grade_words(s.crs_max_grade)}, ICANS "
            f"{grade_words(s.icans_max_grade)}",
            unsafe_allow_html=True)
news = news_now(rv)
if news is not None:
    st.markdown(news_text(news))
if extra:
    st.markdown("**" + md("; ".join(extra)) + "**")
physician = user["role"] == "physician"

open_count = len(rv.flags)  # the course's open flags: what the overview counts
flag_done = st.session_state.pop("flag_done", None)
if flag_done:
    st.success(flag_done, icon=":material/check:")
if open_count:
    st.markdown(f"**{open_count} open flag{'s' if open_count > 1 else ''}**: see *Flags*.")
(timeline_tab, flags_tab, why_tab, course_tab, scales_tab, labs_tab, guide_tab, action_tab,
 export_tab) = st.tabs(
    ["Timeline", "Flags", "Why this grade", "Course summary", "Scales", "Labs",
     "Guideline prompts", "Physician actions", "Export"], default="Flags" if flag_done else None)

with flags_tab:
    open_flags_panel(store, pid, user, key=f"review_{pid}")
    history = history_frame(store, pid)
    st.markdown("**Flag history**")
    if history.empty:
        st.caption("No flags raised.")
    else:
        st.dataframe(history, hide_index=True, width="stretch", column_config=HISTORY_COLUMNS)

with timeline_tab:
    st.caption("Quick ranges at the top left of the chart: 24 h, 72 h, whole stay. Hover a point "
               "for the value, who recorded it and when. Shaded: oxygen support by device and "
               "flow. Dotted: the episode maximum. " + gap_note())
    st.plotly_chart(timeline_figure(rv), key=f"timeline_{pid}",
                    config={"displaylogo": False})
    st.markdown("**Markers**, on the same time axis")
    options = marker_choices(rv)
    if not options:
        st.caption("No lab results recorded for this patient.")
    else:
        chosen = st.multiselect("Markers to show", list(options),
                                default=default_markers(options), format_func=options.get,
                                key=f"markers_{pid}_{'-'.join(options)}")
        if chosen:
            st.plotly_chart(markers_figure(rv, chosen), key=f"markers_chart_{pid}",
                            config={"displaylogo": False})
            for line in marker_notes(rv, chosen):
                st.caption(line)

with why_tab:
    labels = [f"{local(x.time, tz)} · {grade_text('CRS', x.crs)} · {grade_text('ICANS', x.icans)}"
              for x in rv.results]
    n, why_key = len(rv.results), f"why_{pid}"
    if st.session_state.get(f"why_rows_{pid}") != n or \
            st.session_state.get(why_key) not in range(n):
        st.session_state[why_key] = n - 1  # the latest assessment, again after a new one
        st.session_state[f"why_rows_{pid}"] = n

    def show(row: int) -> None:
        st.session_state[why_key] = row

    jump = st.columns(2)
    for col, name in zip(jump, ("CRS", "ICANS")):
        top = maximum_row(rv, name.lower())
        col.button(f"Show the highest {name} grade ({getattr(s, f'{name.lower()}_max_grade')})"
                   if top is not None else f"No {name} episode so far", disabled=top is None,
                   on_click=show, args=(top,), key=f"why_max_{name}_{pid}", width="stretch")
    i = st.selectbox("Assessment", range(n), format_func=labels.__getitem__, key=why_key)
    x = rv.at(i)
    by, at = rv.recorded.get(rv.ids[i], ("", None))
    st.caption(f"Recorded by {md(by)} at {local(at, tz)}; day after infusion "
               f"{x.day_post_infusion}.")
    cols = st.columns(2)
    for col, name, g, ep in ((cols[0], "CRS", x.crs, x.crs_episode_max),
                             (cols[1], "ICANS", x.icans, x.icans_episode_max)):
        with col:
            st.markdown(badge(name, g), unsafe_allow_html=True)
            st.markdown("  \n".join(reasons_text(g, tz)))
            change = guidance.what_would_change(name.lower(), g)
            if change:
                st.info(change)
            if ep is not None:
                st.caption(f"Episode maximum so far: {name} {ep}")
    if x.flags:
        st.markdown("**Review flags**  \n" + "  \n".join(f"{f.severity}: {f.message}"
                                                         for f in x.flags))
    if rv.unattributed is not None:
        u = rv.unattributed[i]
        if (u.crs.grade, u.icans.grade) != (x.crs.grade, x.icans.grade):
            st.warning(f"With the physicians' attributions: {grade_text('CRS', x.crs)}, "
                       f"{grade_text('ICANS', x.icans)}. Without them: "
                       f"{grade_text('CRS', u.crs)}, {grade_text('ICANS', u.icans)}.")
    confirmed = [c for c in rv.confirmations if c["assessment_id"] == rv.ids[i]]
    for c in confirmed:
        st.caption(f"Confirmed by {md(c['recorded_by'])} at {local(c['recorded_at'], tz)}: "
                   f"{c['syndrome'].upper()} {c['grade']}" + (f" — {md(c['note'])}"
                                                             if c["note"] else ""))
    st.caption(guidance.ASTCT_2019 + ". Decision support only.")

with course_tab:
    # the columns named: no infusion time recorded gives no days, and no traceback
    daily = pd.DataFrame(course_table(rv), columns=["day", "crs", "icans"]).rename(
        columns={"day": "Day", "crs": "max CRS", "icans": "max ICANS"})
    daily["Day"] = [f"D+{d}" if d >= 0 else f"Day {d}" for d in daily["Day"]]
    st.markdown("**Maximum grade for each day after infusion**")
    st.dataframe(daily.set_index("Day").T, width="stretch")
    rows = []
    for name, eps in (("CRS", s.crs_episodes), ("ICANS", s.icans_episodes)):
        for e in eps:
            rows.append({"Syndrome": name, "Onset": local(e.onset, tz),
                         "Onset day": f"D+{e.onset_day}", "Maximum": e.max_grade,
                         "Time to maximum (h)": round(
                             (e.max_grade_time - e.onset).total_seconds() / 3600, 1),
                         "Resolved": local(e.resolved, tz) if e.resolved
                         else "not documented" if e.closed else "ongoing",
                         "Duration (h)": ("not documented" if e.closed else "ongoing")
                         if e.duration_hours is None
                         else e.duration_hours})
    st.markdown("**Episodes**")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("No CRS or ICANS episode.")
    codes = [(n, g, s.icd10(n.lower())) for n, g in (("CRS", s.crs_max_grade),
                                                     ("ICANS", s.icans_max_grade))]
    st.markdown("**ICD-10-CM for the maximum grades**: " + "; ".join(
        f"{n} grade {g}: {c}" for n, g, c in codes if c) if any(c for *_, c in codes)
        else "**ICD-10-CM**: no code (maximum grade 0).")

scales = scale_course(rv)
with scales_tab:
    draw_scales_tab(scales, tz, key=pid)
    st.download_button("Every scale, each assessment (CSV)",
                       session.guarded(lambda: scales_csv(rv, scales)),
                       file_name=f"{file_part(pid)}-scales.csv", mime="text/csv",
                       key=f"scales_csv_{pid}",
                       on_click="ignore")

with labs_tab:
    draw_labs_tab(store, patient, now, key=pid)

with guide_tab:
    st.warning(guidance.DISCLAIMER, icon=":material/info:")
    icu = icu_now(rv)
    if icu:
        st.error("**ICU prompts**  \n" + "  \n".join(f"{t.what} ({t.source})" for t in icu))
    age = next((x.get("age_years") for x in reversed(rv.rows)
                if x.get("age_years") is not None), None)
    prompts = guidance.prompts(r.crs.grade, r.icans.grade, tocilizumab(rv, now)["count"],
                               child=age is not None and age < 18)
    if prompts:
        st.markdown("**For the current grades**")
        for p in prompts:
            if p.kind == "warning":
                st.warning(f"{p.text} (Source: {p.source})")
            else:
                st.markdown(f"- {p.text}  \n  <small>Source: {p.source}</small>",
                            unsafe_allow_html=True)
    else:
        st.caption("No grade-specific prompts for the current grades.")
    toci = tocilizumab(rv, now)
    st.markdown("**Tocilizumab**")
    if toci["dose"]:
        st.markdown(f"Reference dose from the recorded weight: **{toci['dose'][0]:g} mg** "
                    f"({toci['dose'][1]}).")
    else:
        st.markdown("Record the weight (Admission) to see the reference dose.")
    count = toci["count"]
    st.markdown(f"Doses in the last 24 h: **{count.last_24h}** (limit 3) · in total: "
                f"**{count.total}** (limit 4)" + (f" · last {local(count.last_given, tz)}"
                                                 if count.last_given else ""))
    for w in count.warnings:  # a clause of the limits' text: a sentence here
        st.error(f"Tocilizumab: {w}.", icon=":material/warning:")
    st.caption(f"Source: {toci['source']}.")

with action_tab:
    if physician:
        ids = list(range(len(rv.results)))
        labels = [f"{local(x.time, tz)} · {grade_text('CRS', x.crs)} · "
                  f"{grade_text('ICANS', x.icans)}" for x in rv.results]
        st.markdown("**Attribute a finding to another cause** (excluded from grading; the "
                    "grade with and without it stays visible)")
        scope = st.radio("Applies to", ("This assessment", "From an assessment until another",
                                         "From an assessment until further notice"),
                         horizontal=True, key=f"attr_scope_{pid}")
        c = st.columns([3, 1])
        a_i = c[0].selectbox("Assessment" if scope == "This assessment" else "From",
                             ids, index=len(ids) - 1,
                             format_func=labels.__getitem__, key=f"attr_row_{pid}")
        finding = c[1].selectbox("Finding", ATTRIBUTION_FINDINGS, key=f"attr_finding_{pid}")
        until_i = None
        if scope == "From an assessment until another":
            until_i = st.selectbox("Until (inclusive)", ids[a_i:], index=len(ids) - 1 - a_i,
                                   format_func=labels.__getitem__,
                                   key=f"attr_until_{pid}_{a_i}")
        if scope == "This assessment":
            st.caption(attribution_effect_text(attribution_effect(rv, a_i, finding),
                                               finding, tz))
        else:
            until = None if until_i is None else rv.results[until_i].time
            st.caption(period_effect_text(period_effect(rv, finding, rv.results[a_i].time,
                                                        until), finding, tz))
        reason = st.text_input("Reason (required)", key=f"attr_reason_{pid}",
                               max_chars=limits.most("reason"),
                               placeholder="e.g. line infection, blood cultures positive")
        if st.button("Record attribution", disabled=not reason.strip(), key=f"attr_{pid}"):
            # the flags from that assessment on are resynced in the same transaction
            try:
                if scope == "This assessment":
                    services.attribute(store, pid, rv.ids[a_i], finding, reason.strip(),
                                       by=user["username"])
                    said = f"at {labels[a_i]}"
                else:
                    services.attribute_period(
                        store, pid, finding, rv.results[a_i].time,
                        None if until_i is None else rv.results[until_i].time,
                        reason.strip(), by=user["username"])
                    said = (f"from {local(rv.results[a_i].time, tz)} " + (
                        "until further notice" if until_i is None
                        else f"until {local(rv.results[until_i].time, tz)}"))
            except StoreError as e:
                st.error(f"Not saved: {md(e)}")
            else:
                st.session_state["review_done"] = f"{finding} attributed {said}."
                st.rerun()
        for p_ in rv.periods:
            if p_["ends_at"] is not None:
                continue
            st.info(f"{p_['finding']} attributed to another cause from "
                    f"{local(p_['starts_at'], tz)} until further notice — "
                    f"{md(p_['reason'])} ({md(p_['recorded_by'])})",
                    icon=":material/schedule:")
            end_reason = st.text_input("Reason for ending it (required)",
                                       key=f"attr_end_reason_{p_['id']}",
                                       max_chars=limits.most("reason"))
            if st.button("End it now", key=f"attr_end_{p_['id']}",
                         disabled=not end_reason.strip()):
                try:
                    services.end_attribution_period(store, pid, p_["id"], now,
                                                    end_reason.strip(), by=user["username"])
                except StoreError as e:
                    st.error(f"Not saved: {md(e)}")
                else:
                    st.session_state["review_done"] = (f"{p_['finding']} attribution ended at "
                                                       f"{local(now, tz)}.")
                    st.rerun()
        st.divider()
        st.markdown("**Confirm a grade**")
        c = st.columns([3, 1, 1])
        c_i = c[0].selectbox("Assessment", ids, index=len(ids) - 1,
                             format_func=labels.__getitem__, key=f"conf_row_{pid}")
        syndrome = c[1].selectbox("Syndrome", ("crs", "icans"), format_func=str.upper,
                                  key=f"conf_syn_{pid}")
        computed = getattr(rv.results[c_i], syndrome).grade
        grade = c[2].selectbox("Grade", range(6), index=computed or 0,
                               key=f"conf_grade_{pid}_{c_i}_{syndrome}")
        differs = grade != computed
        note = st.text_input("Note (required when the grade differs from the computed one)"
                             if differs else "Note (optional)", key=f"conf_note_{pid}",
                             max_chars=limits.most("confirmation_note"))
        if st.button("Confirm grade", key=f"conf_{pid}",
                     disabled=differs and not note.strip()):
            services.confirm_grade(store, pid, rv.ids[c_i], syndrome, grade,
                                   by=user["username"], note=note.strip() or None)
            st.session_state["review_done"] = f"{syndrome.upper()} {grade} confirmed."
            st.rerun()
        st.divider()
        text = st.text_area("Add a note on the course", key=f"note_{pid}",
                            max_chars=limits.most("note"))
        if st.button("Add note", disabled=not text.strip(), key=f"note_add_{pid}"):
            services.add_note(store, pid, text, by=user["username"])
            st.session_state["review_done"] = "Note added."
            st.rerun()
    else:
        st.caption("Attribution, grade confirmation and notes are physician actions.")
    st.markdown("**Recorded**")
    row_time = {rid: x.time for rid, x in zip(rv.ids, rv.results)}
    for a in rv.attributions:
        when = local(row_time.get(a["assessment_id"]), tz)
        st.markdown(f"- attribution: {a['finding']} at {when} — {md(a['reason'])} "
                    f"({md(a['recorded_by'])}, {local(a['recorded_at'], tz)})")
    for p_ in rv.periods:
        end = "until further notice" if p_["ends_at"] is None else \
            f"until {local(p_['ends_at'], tz)}"
        st.markdown(f"- attribution: {p_['finding']} from {local(p_['starts_at'], tz)} {end} — "
                    f"{md(p_['reason'])} ({md(p_['recorded_by'])}, "
                    f"{local(p_['recorded_at'], tz)})")
    for c_ in rv.confirmations:
        st.markdown(f"- confirmed {c_['syndrome'].upper()} {c_['grade']} at "
                    f"{local(row_time.get(c_['assessment_id']), tz)} ({md(c_['recorded_by'])}, "
                    f"{local(c_['recorded_at'], tz)})" + (f": {md(c_['note'])}" if c_["note"]
                                                          else ""))
    for n in rv.notes:
        st.markdown(f"- note ({md(n['recorded_by'])}, {local(n['written_at'], tz)}): "
                    f"{md(n['text'])}")
    if not (rv.attributions or rv.periods or rv.confirmations or rv.notes):
        st.caption("No attributions, confirmations or notes yet.")

with export_tab:
    st.download_button("Timeline: observations, NEWS2 and grades (CSV)",
                       session.guarded(lambda: timeline_csv(rv)),
                       file_name=f"{file_part(pid)}-timeline.csv", mime="text/csv",
                       key=f"csv_{pid}",
                       on_click="ignore")
    st.caption("One row per assessment: vital signs, oxygen and infusions in force, neuro "
               "items, treatments, NEWS2 and the CRS and ICANS grades with why. Times are "
               "ward times; one column also gives each with its offset from UTC, so an hour "
               "repeated when the clocks go back reads one way only.")
    st.download_button("Every scale, each assessment (CSV)",
                       session.guarded(lambda: scales_csv(rv, scales)),
                       file_name=f"{file_part(pid)}-scales.csv", mime="text/csv",
                       key=f"scales_csv_export_{pid}", on_click="ignore")
    flags = rv.flags
    st.download_button(
        "Handover summary (SBAR, print-ready HTML)",
        session.guarded(lambda: handover_html(rv, session.now(), user["username"],
                                              flags).encode("utf-8")),
        file_name=f"{file_part(pid)}-handover.html", mime="text/html", key=f"sbar_{pid}",
        on_click="ignore")
    st.caption("Open the handover file in a browser and print it, or save it as PDF. It holds "
               "the situation, background, assessment and recommendation (prompts), the "
               "maximum grades, treatments and the chart.")
    download_bundle(store, pid, user, key=f"fhir_{pid}")
