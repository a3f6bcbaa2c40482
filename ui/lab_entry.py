"""One lab result entered by hand: the form of the Medications and labs page, and of the
bedside entry page's "Lab result" expander (a point-of-care value at the bedside; issue 20
point 1). Checked as the record checks it (test, unit, number, plausibility limit, time not in
the future) before the save button is offered; an unusual value is highlighted and can be
saved (decision W14); saved through ``services.record_lab`` (write, audit, flag resync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from monitoring import services
from monitoring.vocabulary import ANALYTES, LabUnitError, check_value, to_canonical, unusual
from ui.common import local
from ui.recording import NUMBER_CHARS, clinical, future, number, save, when_input
from ui.text import md


def draw(store: services.Ward, user: dict[str, Any], pid: str, now: datetime, prefix: str,
         done_key: str) -> None:
    """The form; widget keys start with ``prefix``; after a save, what was saved goes to
    ``st.session_state[done_key]`` and the page reruns with empty fields."""
    tz = store.tz
    test = st.selectbox("Test", list(ANALYTES), format_func=lambda k: ANALYTES[k].words,
                        key=f"{prefix}_test_{pid}")
    a = ANALYTES[test]
    n = st.session_state.setdefault(f"{prefix}_added_{pid}", 0)
    c = st.columns(2)
    typed = c[0].text_input("Value", key=f"{prefix}_value_{pid}_{n}", max_chars=NUMBER_CHARS)
    lab_unit = c[1].selectbox("Unit", list(a.factors), key=f"{prefix}_unit_{pid}_{test}")
    taken_at, clock_problem = when_input(f"{prefix}_at_{pid}_{n}", now, "Taken", tz, "taken")
    value, problem = number(typed, a.words)
    note = None
    if problem is None and value is not None:
        try:
            check_value(test, value, lab_unit)
            note = unusual(test, value, lab_unit)
        except LabUnitError as e:
            problem = str(e)
    if problem is None:
        problem = clock_problem or future(taken_at, "taken", now, tz)
    if problem:
        st.error(md(problem), icon=":material/error:")
    elif note:
        st.warning(md(note) + " — it can be saved.", icon=":material/warning:")
    if value is not None and problem is None and lab_unit != a.canonical:
        st.caption(f"Stored as {clinical(to_canonical(test, value, lab_unit))} {a.canonical} "
                   "(the value as entered is kept too).")
    if st.button("Save the result", type="primary", key=f"{prefix}_save_{pid}",
                 disabled=value is None or problem is not None):
        assert value is not None

        def write() -> int:
            got = services.record_lab(store, pid, test, value, lab_unit, taken_at,
                                      by=user["username"])
            st.session_state[f"{prefix}_added_{pid}"] = n + 1   # fresh fields after the save
            return got
        save(write, lambda _: f"{a.words} {value:g} {lab_unit} taken {local(taken_at, tz)} "
             "saved.", done_key)
