"""Teaching (educators): replay a demo case step by step or play it through, or take the
grading quiz and export the score. The logic is in monitoring.teaching; this page draws."""

from dataclasses import replace

import streamlit as st

from grading.words import rule_words
from monitoring import library, limits, services
from monitoring.library import grade_words
from monitoring.marker_panel import default_markers
from monitoring.services import StoreError
from monitoring.teaching import (
    PLAY_SPEEDS,
    QUIZ_SETS,
    Player,
    Quiz,
    card_times_in_ward,
    deciding,
    events_until,
    feedback,
    graded_steps,
    key_moments,
    next_moment,
    quiz_steps,
    replay,
    start_quiz,
)
from ui import session
from ui.charts import timeline_figure
from ui.common import badge, local, reason_text
from ui.marker_chart import choices as marker_choices
from ui.marker_chart import notes as marker_notes
from ui.teaching_view import (
    LABS_NOTE,
    charted_frame,
    events_frame,
    labs_figure,
    latest_labs,
    medications_frame,
    patient_line,
    quiz_figure,
    step_line,
    trial_line,
)
from ui.text import clock_times, file_part, md

user = session.require("teaching")
store = session.store()
tz = store.tz

st.title("Teaching")
st.caption("Synthetic demo cases only. A step shows the case as it stood then: later "
           "assessments, medications and results are not known yet. Grades: ASTCT consensus "
           "(Lee et al., Biol Blood Marrow Transplant 2019).")
cases = store.patients(demo=True, admitted_only=True)
if not cases:
    st.info("The demo ward is empty: load a case from the Case library.")
    st.stop()
labels = {p["patient_id"]: session.patient_label(p) for p in cases}
ids = list(labels)
wanted = st.session_state.pop("teach_open", None)  # set by the Case library's "open" button
if wanted in ids:
    st.session_state["teach_case"] = wanted
pid = st.selectbox("Case", ids, format_func=labels.get, key="teach_case")
st.caption("More cases, and a fresh copy of any of them: the Case library page.")
try:
    results = graded_steps(store, pid)
except StoreError as e:
    st.info(f"{md(e)}.")
    st.stop()
case = library.find_case(store, pid)
last = len(results) - 1
named = [] if case is None else card_times_in_ward(store, pid, case)
moments = key_moments(results, named)
CHOICES = ("not evaluable", "0", "1", "2", "3", "4", "5")


def grade_of(choice: str) -> int | None:
    return None if choice == "not evaluable" else int(choice)


def reason_lines(g, deciding_rules) -> str:
    lines = []
    for r in g.reasons:
        mark = "**deciding** · " if (r.rule, r.finding) in deciding_rules else ""
        lines.append(mark + reason_text(r, tz))
    return "  \n".join(lines)


def show_grades(rv) -> None:
    cols = st.columns(2)
    for col, name, g in ((cols[0], "CRS", rv.current.crs), (cols[1], "ICANS", rv.current.icans)):
        col.markdown(badge(name, g), unsafe_allow_html=True)
        col.markdown(reason_lines(g, {(r.rule, r.finding) for r in deciding(g)}))
    flags = [f for f in rv.current.flags if f.code != "soft_limit"]
    for f in flags:
        (st.warning if f.severity == "urgent" else st.info)(
            f"Review flag ({f.severity}): {clock_times(f.message, tz)}")


def show_context(rv, key: str) -> None:
    """What was charted, medications, events and labs up to this step (never later)."""
    charted, meds, labs = st.tabs(["Charted in the last 12 h", "Medications and events so far",
                                   "Lab results so far"])
    with charted:
        st.table(charted_frame(rv, tz), hide_index=True)  # static: long rows wrap
    with meds:
        frame = medications_frame(rv, tz)
        if frame.empty:
            st.caption("No medications recorded yet.")
        else:
            st.dataframe(frame, hide_index=True, key=f"{key}_meds")
        if case is not None:
            events = events_until(store, pid, case, rv.current.time)
            if events:
                st.markdown("Other treatments and events (from the case card):")
                st.dataframe(events_frame(events, tz), hide_index=True, key=f"{key}_events")
    with labs:
        st.caption(LABS_NOTE)
        if not rv.labs:
            st.caption("No lab results yet.")
        else:
            st.dataframe(latest_labs(rv.labs, tz), hide_index=True, key=f"{key}_labs")
            options = marker_choices(rv)  # the markers with results up to this step only
            chosen = st.multiselect("Markers to chart", list(options),
                                    default=default_markers(options), format_func=options.get,
                                    key=f"{key}_markers_{'-'.join(options)}")
            if chosen:
                st.plotly_chart(labs_figure(rv, chosen), key=f"{key}_labs_chart")
                for line in marker_notes(rv, chosen):
                    st.caption(line)




def show_card(full: bool) -> None:
    """Who the patient is; the title and the trial line too when ``full`` (they tell the
    course - "Grade 4 CRS: ..." - so a quiz shows them only once it is over, decision T7)."""
    if case is None:
        return
    if full:
        st.markdown(f"**{md(case.card.title)}** · {md(patient_line(case.card))}")
        st.caption(trial_line(case.card) + " " + case.card.trial.note)
    else:
        st.markdown(f"**{md(case.card.patient.name)}** · {md(patient_line(case.card))}")


mode = st.radio("Mode", ("Replay", "Quiz"), horizontal=True, key="teach_mode")

# ------------------------------------------------------------------------------ replay
if mode == "Replay":
    show_card(full=True)
    st.caption("Replay shows the record as it stands now, corrections included: a value "
               "corrected later appears in its corrected form, not as first charted.")
    pkey = f"teach_player_{pid}"
    player: Player = st.session_state.setdefault(pkey, Player())
    if player.step > last:  # the case was reloaded with fewer steps
        player = st.session_state[pkey] = player.go(last, last)

    def move(to: str) -> None:
        p: Player = st.session_state[pkey]
        target = {"start": 0, "back": p.step - 1, "next": p.step + 1,
                  "change": next_moment(moments, p.step) or p.step}[to]
        st.session_state[pkey] = p.go(target, last)

    def toggle_play() -> None:
        p: Player = st.session_state[pkey]
        st.session_state[pkey] = p.pause() if p.playing else p.play(session.now(), last)

    c = st.columns([1, 1, 1, 1.3, 1, 2.2])
    c[0].button("◀◀ start", key="teach_start", on_click=move, args=("start",),
                disabled=player.step == 0)
    c[1].button("◀ back", key="teach_back", on_click=move, args=("back",),
                disabled=player.step == 0)
    c[2].button("next ▶", key="teach_next", on_click=move, args=("next",),
                disabled=player.step >= last)
    c[3].button("next change ▶▶", key="teach_next_change", on_click=move, args=("change",),
                disabled=next_moment(moments, player.step) is None,
                help="The next assessment where a grade changes, or that the case card names")
    c[4].button("pause" if player.playing else "▶ play", key="teach_play",
                on_click=toggle_play, disabled=last == 0 and not player.playing,
                type="primary" if player.playing else "secondary")
    speed = c[5].selectbox("Speed", list(PLAY_SPEEDS), index=1, key="teach_speed",
                           label_visibility="collapsed")
    if PLAY_SPEEDS[speed] != player.interval_s:
        player = st.session_state[pkey] = replace(player, interval_s=PLAY_SPEEDS[speed])

    rv = replay(store, pid, player.step)
    r = rv.current
    st.markdown(step_line(player.step, len(results), r.time, r.day_post_infusion, tz,
                          player.step in moments)
                + (" · playing" if player.playing else ""))
    show_grades(rv)
    st.markdown(f"Maximum so far: CRS {grade_words(rv.summary.crs_max_grade)}, ICANS "
                f"{grade_words(rv.summary.icans_max_grade)}")
    st.plotly_chart(timeline_figure(rv), key=f"teach_chart_{pid}_{player.step}")
    show_context(rv, f"teach_{pid}_{player.step}")
    if case is not None:
        with st.expander("Case card: summary and learning points (tells the whole course)"):
            st.markdown(md(case.card.summary))
            st.markdown("\n".join(f"- {md(p)}" for p in case.card.learning_points))

    if player.playing:
        @st.fragment(run_every=player.interval_s)
        def play_on() -> None:
            """Auto-advance (the logic is Player.tick; this only applies it and redraws)."""
            p: Player = st.session_state[pkey]
            moved = p.tick(session.now(), last)
            if moved != p:
                st.session_state[pkey] = moved
                st.session_state["_auto_rerun"] = True  # playing is not user activity
                st.rerun()

        play_on()
    st.stop()

# ------------------------------------------------------------------------------ quiz
qkey, shown_key = f"quiz_{pid}", f"quiz_shown_{pid}"
quiz: Quiz | None = st.session_state.get(qkey)
show_card(full=quiz is not None and quiz.finished)

if quiz is None:
    with st.container(border=True):
        st.markdown("**Grading quiz**: at each question pick the CRS and ICANS grade for the "
                    "record as it stands at that moment; you see at once whether the rules "
                    "agree and which rule decides.")
        learner = st.text_input("Learner", value=user["display_name"][:limits.most("learner")],
                                key=f"quiz_learner_{pid}", max_chars=limits.most("learner"))
        which = st.radio("Questions at", QUIZ_SETS, horizontal=True, key=f"quiz_set_{pid}",
                         help="Key moments: the first assessment, every change of grade and "
                              "the times the case card names, mixed with about one other "
                              "assessment in five chosen for the case without looking at the "
                              "grades - being asked at a time does not mean the grade "
                              "changed there.")
        n = len(quiz_steps(results, named, pid)) if which == QUIZ_SETS[0] else len(results)
        st.caption(f"{n} questions.")
        if st.button("Start the quiz", type="primary", key=f"quiz_start_{pid}",
                     disabled=not learner.strip()):
            st.session_state[qkey] = start_quiz(store, pid, learner.strip(), which,
                                                session.now(), case)
            st.session_state.pop(shown_key, None)
            st.rerun()
    st.stop()

assert quiz.steps is not None


def finish() -> None:
    q: Quiz = st.session_state[qkey]
    q.finish(session.now())
    right, given = q.score
    services.note(store, user["username"], "quiz_completed", "teaching_case", pid, pid,
                  after={"learner": q.learner, "score": f"{right}/{given}",
                         "questions": q.questions, "answered": len(q.answers)})
    st.session_state.pop(shown_key, None)


def restart() -> None:
    st.session_state.pop(qkey, None)
    st.session_state.pop(shown_key, None)


def row_of(i: int, a: dict) -> dict:
    """One question of the result table; a question not reached says so."""
    head = {"Question": i + 1, "Time": local(a["time"], tz) if a["time"] else "",
            "Day": a["day"]}
    if not a["answered"]:
        return head | {"CRS: yours": "not answered", "CRS: rules": "", "CRS ✓": "✗",
                       "ICANS: yours": "not answered", "ICANS: rules": "", "ICANS ✓": "✗"}
    return head | {
        "CRS: yours": grade_words(a["crs_answer"]),
        "CRS: rules": grade_words(a["crs_grade"]) + status_words(a["crs_status"]),
        "CRS ✓": "✓" if a["crs_right"] else "✗",
        "ICANS: yours": grade_words(a["icans_answer"]),
        "ICANS: rules": grade_words(a["icans_grade"]) + status_words(a["icans_status"]),
        "ICANS ✓": "✓" if a["icans_right"] else "✗"}


def status_words(status: str) -> str:
    return " (provisional)" if status == "provisional" else ""


if quiz.finished:
    s = quiz.summary()
    with st.container(border=True):
        st.subheader("Quiz result")
        st.markdown(f"**{md(quiz.learner)}** · {md(quiz.title or pid)} · finished "
                    f"{local(quiz.finished_at, tz, '%d %b %Y %H:%M')}")
        st.markdown(f"**Score: {s['right']} of {s['given']}**"
                    + ("" if s["percent"] is None else f" ({s['percent']} %)")
                    + f" · CRS {s['crs_right']} of {s['questions']} · ICANS "
                      f"{s['icans_right']} of {s['questions']}"
                    + (f" · {s['unanswered']} questions not answered (counted as not right)"
                       if s["unanswered"] else ""))
        table = [row_of(i, a) for i, a in enumerate(quiz.rows())]
        st.dataframe(table, hide_index=True, key=f"quiz_table_{pid}")
        if s["missed_rules"]:
            st.markdown("**Rules that decide the grades you got wrong**  \n" + "  \n".join(
                f"{rule_words(rule) or 'another rule'} — {n} × ({ways}; e.g. {example})"
                for rule, n, example, ways in s["missed_rules"]))
        else:
            st.success("No rule missed" + (" in the questions answered." if s["unanswered"]
                                           else "."))
        c = st.columns([1, 1, 3])
        c[0].download_button("Export the score (CSV)", session.guarded(quiz.csv),
                             file_name=f"quiz-{file_part(pid)}-"
                                       f"{file_part(quiz.learner, empty='learner')}.csv",
                             mime="text/csv", key=f"quiz_csv_{pid}", on_click="ignore")
        c[1].button("New attempt", key=f"quiz_again_{pid}", on_click=restart)
    if case is not None:
        with st.expander("Case card: summary and learning points", expanded=True):
            st.markdown(md(case.card.summary))
            st.markdown("\n".join(f"- {md(p)}" for p in case.card.learning_points))
    st.stop()

shown = st.session_state.get(shown_key)
asked = shown if shown is not None else quiz.next_step
position = quiz.steps.index(asked) if asked is not None else len(quiz.steps)
right, given = quiz.score_so_far
st.markdown(f"Question **{min(position + 1, len(quiz.steps))} of {len(quiz.steps)}** · "
            f"score so far **{right} of {given}** · learner {md(quiz.learner)}")

if asked is None:  # every question answered
    st.success("All questions answered.")
    st.button("See your score", type="primary", key=f"quiz_finish_{pid}", on_click=finish)
    st.stop()

rv = replay(store, pid, asked)
r = rv.current
if shown is None:
    st.markdown(f"**What are the CRS and ICANS grades at {local(r.time, tz)}?** "
                f"(D+{r.day_post_infusion})")
    q = st.columns(2)
    crs = q[0].radio("CRS grade", CHOICES, index=None, horizontal=True,
                     key=f"quiz_crs_{pid}_{asked}")
    icans = q[1].radio("ICANS grade", CHOICES, index=None, horizontal=True,
                       key=f"quiz_icans_{pid}_{asked}")

    def check() -> None:
        q_: Quiz = st.session_state[qkey]
        q_.answer(asked, r, grade_of(st.session_state[f"quiz_crs_{pid}_{asked}"]),
                  grade_of(st.session_state[f"quiz_icans_{pid}_{asked}"]))
        st.session_state[shown_key] = asked

    st.button("Check", type="primary", key=f"quiz_check_{pid}_{asked}",
              disabled=crs is None or icans is None, on_click=check)
    st.plotly_chart(quiz_figure(rv), key=f"teach_chart_{pid}_{asked}_q")
    show_context(rv, f"quiz_{pid}_{asked}")
else:
    a = next(x for x in quiz.answers if x["step"] == asked)
    for name in ("CRS", "ICANS"):
        (st.success if a[f"{name.lower()}_right"] else st.error)(feedback(a, name))

    def next_question() -> None:
        st.session_state.pop(shown_key, None)

    c = st.columns([1, 1, 4])
    if quiz.next_step is None:
        c[0].button("See your score", type="primary", key=f"quiz_finish_{pid}",
                    on_click=finish)
    else:
        c[0].button("Next question", type="primary", key=f"quiz_next_{pid}",
                    on_click=next_question)
    show_grades(rv)
    st.plotly_chart(timeline_figure(rv), key=f"teach_chart_{pid}_{asked}")
    show_context(rv, f"quiz_{pid}_{asked}_a")

st.button("Finish the quiz now", key=f"quiz_end_{pid}", on_click=finish,
          help="Ends the quiz here; unanswered questions are listed as not answered.")
