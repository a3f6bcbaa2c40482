"""Observations due (nurses, physicians): the ward's next vital signs and neuro assessments,
most overdue first, then the soonest due; each opens the patient's bedside entry."""

from datetime import datetime
from typing import Any

import streamlit as st

from monitoring.worklist import DueItem, duration_words, every_words, observations_due
from ui import session
from ui.text import md

user = session.require("observations_due")
store = session.store()
now = session.now()
tz = store.tz
st.session_state["_auto_refresh"] = True  # refreshes itself every minute (app.py)
st.session_state["_rendered_at"] = now
may_chart = session.auth.may_open(user["role"], "bedside_entry")


def clock(at: datetime) -> str:
    """A clinical local time: '18:07' today, 'yesterday 22:00', 'Mon 7 Dec 02:07'."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    if days == 0:
        return f"{local:%H:%M}"
    if days == -1:
        return f"yesterday {local:%H:%M}"
    if days == 1:
        return f"tomorrow {local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def status(item: DueItem) -> str:
    if item.problem is not None:
        return ":red[**Check the record**]"
    if item.last is None:
        return f":red[**Not recorded yet**] (due since {clock(item.due)})"
    late = item.overdue_by(now)
    if late is not None:
        return f":red[**Overdue {duration_words(late)}**] (due {clock(item.due)})"
    wait = item.due - now
    if item.state(now) == "due soon":
        return f":orange[**Due in {duration_words(wait)}**] (at {clock(item.due)})"
    return f"Due at {clock(item.due)} (in {duration_words(wait)})"


def open_entry(patient_id: str) -> None:
    st.session_state["patient_id"] = patient_id
    st.session_state["_go_entry"] = True


def who(p: dict[str, Any]) -> str:
    bed = f"Bed {md(p['bed'])} · " if p.get("bed") else ""
    return f"{bed}**{md(p.get('name') or p['patient_id'])}**"


if st.session_state.pop("_go_entry", False):
    st.switch_page(session.PAGES["bedside_entry"][0])

st.title("Observations due")
st.caption(f"Updated {clock(now)} ({tz.key}) · refreshes every minute · most overdue first, "
           "then the soonest due. Vital signs at least every 4 h and a neuro assessment (ICE "
           "or CAPD) at least every 8 h, more often as the CRS or ICANS grade rises (ASTCT "
           "2019 monitoring, the ward's schedule); NEWS2 minimum monitoring (RCP 2017) on top. "
           "Decision support only.")
items = observations_due(store, now, demo_only=not session.sees_real_patients(user))
if not items:
    st.info("No admitted patients.")
    st.stop()
late = sum(i.state(now) == "overdue" for i in items)
soon = sum(i.state(now) == "due soon" for i in items)
st.markdown(f"**{late}** overdue · **{soon}** due within the hour · {len(items)} in all")

for n, item in enumerate(items):
    with st.container(border=True):
        # the button column keeps "Chart" whole on a tablet with the sidebar open (820 px)
        text, action = st.columns([3, 1], vertical_alignment="center")
        if item.problem is not None:
            detail = md(item.problem)
        elif item.every is None:
            detail = f"{item.what} · {md(item.why)}"
        else:
            detail = (f"{item.what} · {every_words(item.every)} ({md(item.why)}) · "
                      + (f"last {clock(item.last)}" if item.last else "none recorded yet"))
        text.markdown(f"{status(item)}  \n{who(item.patient)} — {detail}")
        if may_chart:
            action.button("Chart", key=f"due_{n}_{item.patient['patient_id']}",
                          icon=":material/edit_note:", on_click=open_entry,
                          args=(item.patient["patient_id"],),
                          help="Open the bedside entry for this patient")
