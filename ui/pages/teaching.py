"""Teaching (educators): replay a demo case step by step, or take the grading quiz."""

import streamlit as st

from monitoring.store import StoreError
from monitoring.teaching import Quiz, replay, steps
from ui import session
from ui.charts import timeline_figure
from ui.common import badge, local, reasons_text

user = session.require("teaching")
store = session.store()
tz = store.tz

st.title("Teaching")
st.caption("Synthetic demo cases only. A step shows the case as it stood then: later "
           "assessments are not known yet. Grades: ASTCT consensus (Lee et al., BBMT 2019).")
cases = store.patients(demo=True)
if not cases:
    st.info("The demo ward is empty.")
    st.stop()
labels = {p["patient_id"]: session.patient_label(p) for p in cases}
pid = st.selectbox("Case", list(labels), format_func=labels.get, key="teach_case")
times = steps(store, pid)
if not times:
    st.info("This case has no assessments.")
    st.stop()
mode = st.radio("Mode", ("Replay", "Quiz"), horizontal=True, key="teach_mode")
step_key = f"teach_step_{pid}"
step = st.session_state.setdefault(step_key, 0)

c = st.columns([1, 1, 1, 4])
if c[0].button("◀ back", disabled=step == 0, key="teach_back"):
    st.session_state[step_key] = step - 1
    st.rerun()
if c[1].button("next ▶", disabled=step >= len(times) - 1, key="teach_next"):
    st.session_state[step_key] = step + 1
    st.rerun()
if c[2].button("restart", key="teach_restart"):
    st.session_state[step_key] = 0
    st.session_state.pop(f"quiz_{pid}", None)
    st.rerun()
c[3].markdown(f"Step **{step + 1} of {len(times)}** · {local(times[step], tz)}")

try:
    rv = replay(store, pid, step)
except StoreError as e:
    st.error(str(e))
    st.stop()
r = rv.current
quiz: Quiz = st.session_state.setdefault(f"quiz_{pid}", Quiz(pid))
done = {a["step"]: a for a in quiz.answers}

CHOICES = ("not evaluable", "0", "1", "2", "3", "4", "5")


def grade_of(choice: str) -> int | None:
    return None if choice == "not evaluable" else int(choice)


def words(g: int | None) -> str:
    return "not evaluable" if g is None else str(g)


if mode == "Quiz" and step not in done:
    st.markdown(f"**What are the CRS and ICANS grades at {local(r.time, tz)}?** "
                f"(D+{r.day_post_infusion})")
    q = st.columns(2)
    crs = q[0].radio("CRS grade", CHOICES, index=None, horizontal=True,
                     key=f"quiz_crs_{pid}_{step}")
    icans = q[1].radio("ICANS grade", CHOICES, index=None, horizontal=True,
                       key=f"quiz_icans_{pid}_{step}")
    if st.button("Check", type="primary", key=f"quiz_check_{pid}_{step}",
                 disabled=crs is None or icans is None):
        quiz.answer(step, r, grade_of(crs), grade_of(icans))
        st.rerun()
    st.plotly_chart(timeline_figure(rv), key=f"teach_chart_{pid}_{step}_q")
else:
    if mode == "Quiz":
        a = done[step]
        for name, key in (("CRS", "crs"), ("ICANS", "icans")):
            show = st.success if a[f"{key}_right"] else st.error
            show(f"{name}: you chose {words(a[f'{key}_answer'])}; the rules give "
                 f"{words(a[f'{key}_grade'])}.")
    cols = st.columns(2)
    for col, name, g in ((cols[0], "CRS", r.crs), (cols[1], "ICANS", r.icans)):
        col.markdown(badge(name, g), unsafe_allow_html=True)
        col.markdown("  \n".join(reasons_text(g, tz)))
    st.plotly_chart(timeline_figure(rv), key=f"teach_chart_{pid}_{step}")

if mode == "Quiz":
    right, given = quiz.score
    st.markdown(f"**Score: {right} of {given}** ({len(quiz.answers)} of {len(times)} steps "
                "answered)")
    st.download_button("Export the score (CSV)", quiz.csv(user["username"]),
                       file_name=f"quiz-{pid}.csv", mime="text/csv", key=f"quiz_csv_{pid}",
                       on_click="ignore")
