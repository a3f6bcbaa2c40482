"""Teaching: replay a demo case as it unfolded, play it through, and a grading quiz over it.

A replay step grades the record **as it stood then** - only the assessments, medications and
lab results up to that time - so nothing from the future leaks into the grade, the chart or the
episode maximum. Demo patients only (educators never see a real patient).

The page only draws; the logic lives here in plain functions: which steps are key moments and
which steps a quiz asks, the rule that decides a grade (and why a grade is provisional), the
player's tick (auto-advance at a chosen speed), and the quiz (answers marked against the engine,
the feedback, the end-of-quiz summary and its CSV export).
"""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grading
from grading import csvsafe
from grading.result import Flag, Grade, Reason
from grading.words import rule_words

from . import escalation, limits
from .course import course as patient_course
from .library import LibraryCase, csv_rows, find_case, grade_changes, grade_words
from .review import Review, tocilizumab_doses
from .store import StoreError, WardStore

SUMMARY_RULES = ("CRS-R6", "ICANS-R1")  # "grade from the components" / "highest domain"
PLAY_SPEEDS: dict[str, float] = {"slow (one step every 4 s)": 4.0,
                                 "normal (every 2 s)": 2.0, "fast (every second)": 1.0}
QUIZ_SETS = ("key moments", "every assessment")
# Decision T7: besides its key moments a quiz asks at about one assessment in five more, drawn
# for the case (seeded by its id) without looking at any grade, so that being asked at a time
# says nothing about whether the grade changed there.
QUIZ_OTHER_STEPS_SHARE = 0.2
# Review flags that make a grade provisional or take a finding out of it, and the rule behind
# each (spec §1.8, §2.7, §0.4; decisions C8, C13). A flag whose message cites a rule - "(spec
# A9)", "(CRS-R7)" - is named by that rule instead.
STATUS_FLAG_RULES: dict[str, str] = {
    "fever_possibly_masked": "A3",      # CRS 0 provisional, would be N once CRS is confirmed
    "afebrile_open_episode": "C8",      # open episode, afebrile, no waiver drug yet
    "attributed": "§0.4",               # a finding attributed to another cause is excluded
    "hfnc_low_flow": "§1.4",            # HFNC at <= 6 L/min: 3 by device, 2 defensible
    "not_recorded": "C13",              # an input missing: the grade may be higher
    "neuro_not_assessable": "B2",       # sedated: ICANS from seizure, motor, imaging only
    "baseline_deficit": "B4",           # baseline ICE below 10: attribution needed
}
_CITED_RULE = re.compile(r"\((?:spec )?([A-Z]+-R\d+b?|[AB]\d+|§[\d.]+)\)")
_WOULD_BE = re.compile(r"would be CRS grade (\d)")
NOT_ANSWERED = "not answered"


def case_patient(store: WardStore, patient_id: str) -> dict[str, Any]:
    p = store.patient(patient_id)
    if p is None or not p["is_demo"]:
        raise StoreError("teaching uses the synthetic demo cases only")
    return p


def replay(store: WardStore, patient_id: str, step: int) -> Review:
    """The case as it stood at assessment ``step`` (0 = the first): the patient's course
    (``course.course``, the one read of the record) cut at that assessment. The grades are
    the past's only - graded up to the step, so nothing later leaks in - and at the last step
    they are the course's own."""
    case_patient(store, patient_id)
    c = patient_course(store, patient_id)
    if not c.rows or c.summary is None:
        raise StoreError(f"demo case '{patient_id}' has no assessments")
    step = max(0, min(step, len(c.rows) - 1))
    upto = c.rows[:step + 1]
    if step == len(c.rows) - 1:
        results, summary = c.results, c.summary
    else:
        g = grading.grade(grading.from_rows(upto, tz=store.tz))  # the past only: no leaks
        results, summary = list(g.results()), grading.summarize(g)[0]
    ids = c.ids[:step + 1]
    cut = upto[-1]["time"]
    administrations = [m for m in c.administrations if m["given_at"] <= cut]
    return Review(
        patient=c.patient, rows=upto, ids=ids,
        recorded={i: (by, at) for i, (by, at) in zip(ids, c.recorded) if at is not None},
        results=results, unattributed=None, summary=summary,
        administrations=administrations, attributions=[], confirmations=[], notes=[],
        tocilizumab_given=tocilizumab_doses(upto, administrations), tz=store.tz,
        labs=[x for x in c.labs if x["taken_at"] <= cut],
        news=escalation.news_now(upto, c.patient), support=c.support[:step + 1])


def steps(store: WardStore, patient_id: str) -> list[datetime]:
    case_patient(store, patient_id)
    return [r["time"] for r in patient_course(store, patient_id).rows]


def graded_steps(store: WardStore, patient_id: str) -> list[grading.RowResult]:
    """Every assessment of the case as graded in its course (for choosing quiz steps; never
    shown ahead): ``course.course(...).results``, the one grading of the record."""
    case_patient(store, patient_id)
    return patient_course(store, patient_id).results


def key_moments(results: Sequence[grading.RowResult],
                also: Sequence[datetime] = ()) -> list[int]:
    """The steps worth stopping at: the first assessment, every one where a CRS or ICANS grade
    or status changes, and any assessment at one of the times in ``also`` (a card's key
    grades)."""
    wanted = set(also)
    changes = set(grade_changes(results))
    return [i for i, r in enumerate(results) if i in changes or r.time in wanted]


def quiz_steps(results: Sequence[grading.RowResult], also: Sequence[datetime],
               case_id: str) -> list[int]:
    """The steps a "key moments" quiz asks (decision T7): the key moments, and about one
    assessment in five more drawn for the case - seeded by its id, from the step numbers
    alone, never from a grade - so that a question's presence does not tell whether the
    grade changed there."""
    n = len(results)
    others = random.Random(f"teaching quiz {case_id}").sample(
        range(n), round(n * QUIZ_OTHER_STEPS_SHARE))
    return sorted(set(key_moments(results, also)) | set(others))


def next_moment(moments: Sequence[int], step: int) -> int | None:
    """The first key moment after ``step`` (None when there is none)."""
    return next((m for m in moments if m > step), None)


def deciding(g: Grade) -> list[Reason]:
    """The rules that decide the grade and its status (decision T9): the component or domain
    at the grade itself (the fever for CRS grade 1; for CRS grade 0 the temperature - no
    fever, or a fever attributed to another cause - and "no open episode"), the fever waiver
    when it applies, every finding excluded by attribution, then the rule behind each review
    flag that makes the grade provisional or excludes a finding (``STATUS_FLAG_RULES``: A3
    "fever possibly masked" with the grade it would be, A9, ...) and, for a grade that is not
    final, the missing assessments that make it so. The summary rules that only combine
    components are left out. All reasons when none can be singled out."""
    specific = [r for r in g.reasons if r.rule not in SUMMARY_RULES]
    status = status_reasons(g)
    if g.grade is None:
        return (specific or list(g.reasons)) + [r for r in status if r not in specific]
    marks = (f"component {g.grade}", f"domain grade {g.grade}")
    hit = [r for r in specific if any(m in r.finding for m in marks)]
    if g.grade == 1 and not hit:
        hit = [r for r in specific if r.rule == "CRS-R1" and "fever (>=" in r.finding]
    waiver = [r for r in specific if r.rule == "CRS-R3"]
    if g.grade == 0 and not hit and waiver:  # the episode is open, nothing qualifies now
        hit = waiver + [r for r in g.reasons if r.rule == "CRS-R6"]
    elif g.grade == 0 and not hit:  # no fever (or an attributed one), no open episode
        hit = [r for r in specific if r.rule in ("CRS-R1", "CRS-R2", "CRS-R3b")]
    if hit and waiver and waiver[0] not in hit:
        hit = waiver + hit
    hit = hit or specific or list(g.reasons)
    excluded = [r for r in specific if _excluded(r) and r not in hit]
    return hit + excluded + [r for r in status if r not in hit]


def _excluded(r: Reason) -> bool:
    """A finding the grade leaves out because a physician attributed it elsewhere (CRS-R7,
    ICANS-R5, CRS-R1 for an attributed fever)."""
    return "attributed to another cause" in r.finding


def _missing(r: Reason) -> bool:
    """A reason saying an assessment is missing (a grade is then provisional or not
    evaluable)."""
    return (r.finding.startswith("no ICE or CAPD") or "not recorded" in r.finding
            or "not evaluable" in r.finding)


def status_reasons(g: Grade) -> list[Reason]:
    """Why a grade is provisional or not evaluable, or leaves a finding out: each review flag
    of ``STATUS_FLAG_RULES`` as a reason named by its rule, and (when the grade is not final)
    the reasons naming a missing assessment."""
    when = max((r.time for r in g.reasons), default=None)
    out = [Reason(flag_rule(f), f.message, when) for f in g.flags  # type: ignore[arg-type]
           if f.code in STATUS_FLAG_RULES]
    if g.status != "final":
        out += [r for r in g.reasons if r.rule not in SUMMARY_RULES and _missing(r)]
    return out


def flag_rule(f: Flag) -> str:
    """The rule behind a review flag: the one its message cites, else ``STATUS_FLAG_RULES``."""
    cited = _CITED_RULE.search(f.message)
    if cited:
        return cited.group(1)
    if f.code == "attributed":  # the messages name ASTCT 2019, not the rule (issue 18.8)
        return ("A9" if f.message.startswith("fever") else
                "CRS-R7" if f.message.startswith(("hypotension", "oxygen need")) else "§0.4")
    return STATUS_FLAG_RULES.get(f.code, f.code)


def would_be(g: Grade) -> int | None:
    """The grade a provisional CRS 0 would be once a clinician confirms CRS (spec A3)."""
    for f in g.flags:
        hit = _WOULD_BE.search(f.message) if f.code == "fever_possibly_masked" else None
        if hit:
            return int(hit.group(1))
    return None


# ------------------------------------------------------------------------------ the player
@dataclass(frozen=True)
class Player:
    """Replay position and auto-advance: ``playing`` moves one step every ``interval_s``."""

    step: int = 0
    playing: bool = False
    interval_s: float = 2.0
    last_tick: datetime | None = None

    def play(self, now: datetime, last_step: int) -> Player:
        start = 0 if self.step >= last_step else self.step  # at the end: from the start again
        return replace(self, step=start, playing=True, last_tick=now)

    def pause(self) -> Player:
        return replace(self, playing=False, last_tick=None)

    def go(self, step: int, last_step: int) -> Player:
        """Jump to a step (and stop playing): a manual step always wins."""
        return replace(self, step=max(0, min(step, last_step)), playing=False, last_tick=None)

    def tick(self, now: datetime, last_step: int) -> Player:
        """Advance one step when ``interval_s`` has passed since the last step; stop at the
        last step. Unchanged when not playing or not yet due."""
        if not self.playing:
            return self
        if self.last_tick is not None and now - self.last_tick < timedelta(
                seconds=self.interval_s):
            return self
        step = min(self.step + 1, last_step)
        return replace(self, step=step, playing=step < last_step, last_tick=now)


# ------------------------------------------------------------------------------ the quiz
@dataclass
class Quiz:
    """A learner's answers over one case: at each quiz step the CRS and ICANS grade they chose,
    marked against the engine's grade for the record as it stood then."""

    patient_id: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    steps: list[int] | None = None           # the steps asked (None: every step answered)
    when: dict[int, tuple[datetime, int | None]] = field(default_factory=dict)  # step ->
    # (time, day after infusion) of each question, for listing the ones not answered
    learner: str = ""
    title: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def answer(self, step: int, result: grading.RowResult, crs: int | None,
               icans: int | None) -> dict[str, Any]:
        """Mark one step against the engine's grade (decision T13: a provisional grade is
        marked as the engine gives it; the feedback says why it is provisional and what it
        would be). ``None`` stands for "not evaluable"."""
        entry: dict[str, Any] = {"step": step, "time": result.time,
                                 "day": result.day_post_infusion}
        for name, g, answer in (("crs", result.crs, crs), ("icans", result.icans, icans)):
            entry |= {f"{name}_answer": answer, f"{name}_grade": g.grade,
                      f"{name}_status": g.status, f"{name}_right": answer == g.grade,
                      f"{name}_rules": [f"{r.rule}: {r.finding}" for r in g.reasons],
                      f"{name}_deciding": [(r.rule, r.finding) for r in deciding(g)],
                      f"{name}_status_why": [(r.rule, r.finding) for r in status_reasons(g)],
                      f"{name}_would_be": would_be(g)}
        self.answers = [a for a in self.answers if a["step"] != step] + [entry]
        self.answers.sort(key=lambda a: a["step"])
        return entry

    @property
    def answered(self) -> set[int]:
        return {a["step"] for a in self.answers}

    @property
    def next_step(self) -> int | None:
        """The first quiz step not answered yet (None when every one is)."""
        if self.steps is None:
            return None
        return next((s for s in self.steps if s not in self.answered), None)

    @property
    def complete(self) -> bool:
        return self.steps is not None and self.next_step is None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def finish(self, at: datetime) -> None:
        if self.finished_at is None:
            self.finished_at = at

    @property
    def questions(self) -> int:
        return len(self.answers) if self.steps is None else len(self.steps)

    @property
    def score(self) -> tuple[int, int]:
        """(right answers, out of): CRS and ICANS count separately, over every question of
        the quiz - a question not answered counts as not right."""
        right = sum(a["crs_right"] + a["icans_right"] for a in self.answers)
        return right, 2 * self.questions

    @property
    def score_so_far(self) -> tuple[int, int]:
        """(right answers, out of the answers given so far)."""
        return self.score[0], 2 * len(self.answers)

    @property
    def unanswered(self) -> list[int]:
        return [] if self.steps is None else [s for s in self.steps if s not in self.answered]

    def missed_rules(self) -> list[tuple[str, int, str, str]]:
        """The rules that decided the grades the learner got wrong: (rule, times, an example
        finding, which way: "graded too high 2 ×, too low 1 ×"), most often first. Over-
        grading is not "missing" a finding: the direction says which it was."""
        counts: Counter[str] = Counter()
        ways: dict[str, Counter[str]] = {}
        example: dict[str, str] = {}
        for a in self.answers:
            for syndrome in ("crs", "icans"):
                if a[f"{syndrome}_right"]:
                    continue
                way = _direction(a[f"{syndrome}_answer"], a[f"{syndrome}_grade"])
                for rule, finding in a[f"{syndrome}_deciding"]:
                    counts[rule] += 1
                    ways.setdefault(rule, Counter())[way] += 1
                    example.setdefault(rule, finding)
        return [(rule, n, example[rule], ", ".join(f"{w} {k} ×" for w, k in sorted(
                    ways[rule].items()))) for rule, n in
                sorted(counts.items(), key=lambda x: (-x[1], x[0]))]

    def summary(self) -> dict[str, Any]:
        right, given = self.score
        return {"right": right, "given": given,
                "crs_right": sum(a["crs_right"] for a in self.answers),
                "icans_right": sum(a["icans_right"] for a in self.answers),
                "questions": self.questions, "answered": len(self.answers),
                "unanswered": len(self.unanswered),
                "percent": round(100 * right / given) if given else None,
                "missed_rules": self.missed_rules()}

    def rows(self) -> list[dict[str, Any]]:
        """Every question in order: the answer given, or ``answered`` False for a question
        the learner did not reach (finished early)."""
        done = {a["step"]: a for a in self.answers}
        steps = self.steps if self.steps is not None else sorted(done)
        out = []
        for step in steps:
            if step in done:
                out.append({**done[step], "answered": True})
            else:
                time, day = self.when.get(step, (None, None))
                out.append({"step": step, "time": time, "day": day, "answered": False})
        return out

    def csv(self, learner: str | None = None) -> str:
        """One row per question (answered or not), each naming the learner, the case, when the
        quiz ran and its score, so the file sorts and filters as a plain table."""
        who = self.learner if learner is None else learner
        right, given = self.score
        quiz = [who, self.patient_id, self.title, _iso(self.started_at), _iso(self.finished_at),
                f"{right}/{given}", self.summary()["unanswered"]]
        out = io.StringIO()
        w = csvsafe.writer(out)  # formula-safe cells (docs/security.md)
        w.writerow(["learner", "case", "case_title", "started", "finished", "score",
                    "unanswered_questions", "step", "time", "day_post_infusion", "crs_answer",
                    "crs_grade", "crs_status", "crs_right", "crs_deciding_rule", "icans_answer",
                    "icans_grade", "icans_status", "icans_right", "icans_deciding_rule"])
        for a in self.rows():
            head = [*quiz, a["step"] + 1, _iso(a["time"]), "" if a["day"] is None else a["day"]]
            if not a["answered"]:
                w.writerow(head + [NOT_ANSWERED, "", "", NOT_ANSWERED, "",
                                   NOT_ANSWERED, "", "", NOT_ANSWERED, ""])
                continue
            w.writerow(head + [grade_words(a["crs_answer"]), grade_words(a["crs_grade"]),
                               a["crs_status"], a["crs_right"], _rules(a["crs_deciding"]),
                               grade_words(a["icans_answer"]), grade_words(a["icans_grade"]),
                               a["icans_status"], a["icans_right"],
                               _rules(a["icans_deciding"])])
        return out.getvalue()


def start_quiz(store: WardStore, patient_id: str, learner: str, which: str, at: datetime,
               case: LibraryCase | None = None) -> Quiz:
    """A new quiz over a demo case: at its key moments (the card's named times included) or at
    every assessment."""
    if which not in QUIZ_SETS:
        raise ValueError(f"which must be one of {', '.join(QUIZ_SETS)}")
    too_long = limits.problem("learner", learner)
    if too_long:
        raise StoreError(too_long.message, [too_long])
    results = graded_steps(store, patient_id)
    case = case or find_case(store, patient_id)
    if which == "every assessment":
        chosen = list(range(len(results)))
    else:
        named = [] if case is None else card_times_in_ward(store, patient_id, case)
        chosen = quiz_steps(results, named, patient_id)
    return Quiz(patient_id, steps=chosen, learner=learner,
                when={i: (results[i].time, results[i].day_post_infusion) for i in chosen},
                title="" if case is None else case.card.title, started_at=at)


def _direction(answer: int | None, grade: int | None) -> str:
    """How a wrong answer was wrong (None: "not evaluable")."""
    if answer is None or grade is None:
        return "not evaluable chosen" if answer is None else "graded where not evaluable"
    return "graded too high" if answer > grade else "graded too low"


def feedback(entry: dict[str, Any], syndrome: str) -> str:
    """What the learner reads after "Check" for one syndrome: their answer, the rules'
    grade and status, why a grade is provisional or not evaluable (and what it would be),
    and the deciding rules (decisions T9, T13)."""
    key = syndrome.lower()
    grade, status = entry[f"{key}_grade"], entry[f"{key}_status"]
    answer = entry[f"{key}_answer"]
    text = (f"{syndrome}: you chose {grade_words(answer)}; the rules give {grade_words(grade)}"
            + ("" if status in ("final", "not_evaluable") else f" ({status})") + ".")
    why = [tuple(x) for x in entry[f"{key}_status_why"]] if status != "final" else []
    if why:
        text += (" Provisional" if status == "provisional" else " Not evaluable") + \
            " because: " + _rules(why, " — ") + "."
    alternative = entry[f"{key}_would_be"]
    if alternative is not None and answer == alternative and answer != grade:
        text += (f" {grade_words(answer)} is the grade it would be once a clinician confirms "
                 f"CRS; until then the ASTCT grade is {grade_words(grade)}.")
    rest = [tuple(x) for x in entry[f"{key}_deciding"] if tuple(x) not in why]
    return text + (f" Deciding: {_rules(rest, ' — ')}" if rest else "")


def shift_in_ward(store: WardStore, patient_id: str, case: LibraryCase) -> timedelta:
    """How far the loaded copy of a case was moved (whole days, W7): its first assessment in
    the ward against the first one on the card's timeline."""
    rows = store.timeline_rows(patient_id)
    first_card = min(datetime.fromisoformat(r["time"]) for r in csv_rows(case.timeline))
    first_ward = rows[0]["time"].astimezone(store.tz).replace(tzinfo=None)
    return first_ward - first_card


def card_times_in_ward(store: WardStore, patient_id: str, case: LibraryCase) -> list[datetime]:
    """The times the card names a grade at, as times of the loaded copy (timezone-aware)."""
    shift = shift_in_ward(store, patient_id, case)
    return [(e.time + shift).replace(tzinfo=store.tz) for e in case.card.expected.grades]


def events_until(store: WardStore, patient_id: str, case: LibraryCase, cut: datetime
                 ) -> list[dict[str, Any]]:
    """The card's events (imaging, other treatments) up to ``cut``, at the loaded copy's
    times - nothing from the future."""
    shift = shift_in_ward(store, patient_id, case)
    out = []
    for e in case.card.events:
        when = (e.time + shift).replace(tzinfo=store.tz)
        if when <= cut:
            out.append({**e.model_dump(exclude_none=True), "time": when})
    return out


def _rules(pairs: Sequence[tuple[str, str]], sep: str = ": ") -> str:
    """Rules and findings in a learner's words: what each rule is about and its source, never
    its id (issue 18.8)."""
    return "; ".join(f"{rule_words(rule) or 'rule'}{sep}{finding}" for rule, finding in pairs)


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")
