"""Teaching: replay a demo case as it unfolded, play it through, and a grading quiz over it.

A replay step grades the record **as it stood then** - only the assessments, medications and
lab results up to that time - so nothing from the future leaks into the grade, the chart or the
episode maximum. Demo patients only (educators never see a real patient).

The page only draws; the logic lives here in plain functions: which steps are key moments, the
rule that decides a grade, the player's tick (auto-advance at a chosen speed), and the quiz
(answers marked against the engine, the end-of-quiz summary and its CSV export).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grading
from grading.result import Grade, Reason

from .library import LibraryCase, find_case
from .review import Review, tocilizumab_doses
from .store import StoreError, WardStore

SUMMARY_RULES = ("CRS-R6", "ICANS-R1")  # "grade from the components" / "highest domain"
PLAY_SPEEDS: dict[str, float] = {"slow (one step every 4 s)": 4.0,
                                 "normal (every 2 s)": 2.0, "fast (every second)": 1.0}
QUIZ_SETS = ("key moments", "every assessment")


def case_patient(store: WardStore, patient_id: str) -> dict[str, Any]:
    p = store.patient(patient_id)
    if p is None or not p["is_demo"]:
        raise StoreError("teaching uses the synthetic demo cases only")
    return p


def replay(store: WardStore, patient_id: str, step: int) -> Review:
    """The case as it stood at assessment ``step`` (0 = the first)."""
    patient = case_patient(store, patient_id)
    rows = store.timeline_rows(patient_id)
    if not rows:
        raise StoreError(f"demo case '{patient_id}' has no assessments")
    step = max(0, min(step, len(rows) - 1))
    upto = rows[:step + 1]
    history = {h.id: h for h in store.history(patient_id)}
    a, ids = store.timelines([patient_id])
    assert a is not None
    ids = ids[:step + 1]
    g = grading.grade(grading.from_rows(upto, tz=store.tz))  # the past only: no future leaks
    results = list(g.results())
    cut = upto[-1]["time"]
    administrations = [m for m in store.administrations(patient_id) if m["given_at"] <= cut]
    return Review(
        patient=patient, rows=upto, ids=ids,
        recorded={i: (history[i].recorded_by, history[i].recorded_at) for i in ids
                  if i in history},
        results=results, unattributed=None, summary=grading.summarize(g)[0],
        administrations=administrations, attributions=[], confirmations=[], notes=[],
        tocilizumab_given=tocilizumab_doses(upto, administrations), tz=store.tz,
        labs=[x for x in store.labs(patient_id) if x["taken_at"] <= cut])


def steps(store: WardStore, patient_id: str) -> list[datetime]:
    case_patient(store, patient_id)
    return [r["time"] for r in store.timeline_rows(patient_id)]


def course(store: WardStore, patient_id: str) -> list[grading.RowResult]:
    """Every assessment of the case graded (for choosing quiz steps; never shown ahead)."""
    case_patient(store, patient_id)
    return list(grading.grade(store.timeline(patient_id)).results())


def key_moments(results: Sequence[grading.RowResult],
                also: Sequence[datetime] = ()) -> list[int]:
    """The steps worth stopping at: the first assessment, every one where a CRS or ICANS grade
    or status changes, and any assessment at one of the times in ``also`` (a card's key
    grades)."""
    wanted = set(also)
    out, last = [], None
    for i, r in enumerate(results):
        now = (r.crs.grade, r.crs.status, r.icans.grade, r.icans.status)
        if i == 0 or now != last or r.time in wanted:
            out.append(i)
        last = now
    return out


def next_moment(moments: Sequence[int], step: int) -> int | None:
    """The first key moment after ``step`` (None when there is none)."""
    return next((m for m in moments if m > step), None)


def deciding(g: Grade) -> list[Reason]:
    """The reasons that set the grade: the component or domain at the grade itself (or the
    fever for CRS grade 1, the waiver when it applies, 'no fever' for CRS grade 0), without
    the summary rules that only combine them. All reasons when none can be singled out."""
    specific = [r for r in g.reasons if r.rule not in SUMMARY_RULES]
    if g.grade is None:
        return specific or list(g.reasons)
    marks = (f"component {g.grade}", f"domain grade {g.grade}")
    hit = [r for r in specific if any(m in r.finding for m in marks)]
    if g.grade == 1 and not hit:
        hit = [r for r in specific if r.rule == "CRS-R1" and "fever (>=" in r.finding]
    waiver = [r for r in specific if r.rule == "CRS-R3"]
    if g.grade == 0 and not hit and waiver:  # the episode is open, nothing qualifies now
        return waiver + [r for r in g.reasons if r.rule == "CRS-R6"]
    if g.grade == 0 and not hit:
        hit = [r for r in specific if r.rule in ("CRS-R2", "CRS-R3b")
               or (r.rule == "CRS-R1" and "no fever" in r.finding)]
    if hit and waiver and waiver[0] not in hit:
        hit = waiver + hit
    return hit or specific or list(g.reasons)


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
    learner: str = ""
    title: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def answer(self, step: int, result: grading.RowResult, crs: int | None,
               icans: int | None) -> dict[str, Any]:
        """Mark one step: ``None`` stands for "not evaluable"."""
        entry = {"step": step, "time": result.time, "day": result.day_post_infusion,
                 "crs_answer": crs, "crs_grade": result.crs.grade,
                 "crs_status": result.crs.status, "icans_answer": icans,
                 "icans_grade": result.icans.grade, "icans_status": result.icans.status,
                 "crs_right": crs == result.crs.grade, "icans_right": icans == result.icans.grade,
                 "crs_rules": [f"{r.rule}: {r.finding}" for r in result.crs.reasons],
                 "icans_rules": [f"{r.rule}: {r.finding}" for r in result.icans.reasons],
                 "crs_deciding": [(r.rule, r.finding) for r in deciding(result.crs)],
                 "icans_deciding": [(r.rule, r.finding) for r in deciding(result.icans)]}
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
    def score(self) -> tuple[int, int]:
        """(right answers, answers given): CRS and ICANS count separately."""
        right = sum(a["crs_right"] + a["icans_right"] for a in self.answers)
        return right, 2 * len(self.answers)

    def missed_rules(self) -> list[tuple[str, int, str]]:
        """The rules that decided the grades the learner got wrong: (rule, times missed, an
        example finding), most missed first."""
        counts: Counter[str] = Counter()
        example: dict[str, str] = {}
        for a in self.answers:
            for syndrome in ("crs", "icans"):
                if a[f"{syndrome}_right"]:
                    continue
                for rule, finding in a[f"{syndrome}_deciding"]:
                    counts[rule] += 1
                    example.setdefault(rule, finding)
        return [(rule, n, example[rule]) for rule, n in
                sorted(counts.items(), key=lambda x: (-x[1], x[0]))]

    def summary(self) -> dict[str, Any]:
        right, given = self.score
        return {"right": right, "given": given,
                "crs_right": sum(a["crs_right"] for a in self.answers),
                "icans_right": sum(a["icans_right"] for a in self.answers),
                "questions": len(self.answers),
                "unanswered": 0 if self.steps is None else len(
                    [s for s in self.steps if s not in self.answered]),
                "percent": round(100 * right / given) if given else None,
                "missed_rules": self.missed_rules()}

    def csv(self, learner: str | None = None) -> str:
        """The answers and the score, naming the learner, the case and when."""
        who = self.learner if learner is None else learner
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["learner", "case", "step", "time", "day_post_infusion", "crs_answer",
                    "crs_grade", "crs_status", "crs_right", "crs_deciding_rule", "icans_answer",
                    "icans_grade", "icans_status", "icans_right", "icans_deciding_rule"])
        for a in self.answers:
            w.writerow([who, self.patient_id, a["step"] + 1, a["time"].isoformat(), a["day"],
                        _ne(a["crs_answer"]), _ne(a["crs_grade"]), a["crs_status"],
                        a["crs_right"], _rules(a["crs_deciding"]), _ne(a["icans_answer"]),
                        _ne(a["icans_grade"]), a["icans_status"], a["icans_right"],
                        _rules(a["icans_deciding"])])
        right, given = self.score
        w.writerow([who, self.patient_id, "score", "", "", "", "", "", f"{right}/{given}", "",
                    "", "", "", "", ""])
        for name, value in (("case title", self.title), ("started", _iso(self.started_at)),
                            ("finished", _iso(self.finished_at)),
                            ("unanswered questions", self.summary()["unanswered"])):
            w.writerow([who, self.patient_id, name, value, *[""] * 11])
        return out.getvalue()


def start_quiz(store: WardStore, patient_id: str, learner: str, which: str, at: datetime,
               case: LibraryCase | None = None) -> Quiz:
    """A new quiz over a demo case: at its key moments (the card's named times included) or at
    every assessment."""
    if which not in QUIZ_SETS:
        raise ValueError(f"which must be one of {', '.join(QUIZ_SETS)}")
    results = course(store, patient_id)
    case = case or find_case(store, patient_id)
    if which == "every assessment":
        chosen = list(range(len(results)))
    else:
        named = [] if case is None else card_times_in_ward(store, patient_id, case)
        chosen = key_moments(results, named)
    return Quiz(patient_id, steps=chosen, learner=learner,
                title="" if case is None else case.card.title, started_at=at)


def shift_in_ward(store: WardStore, patient_id: str, case: LibraryCase) -> timedelta:
    """How far the loaded copy of a case was moved (whole days, W7): its first assessment in
    the ward against the first one on the card's timeline."""
    rows = store.timeline_rows(patient_id)
    first_card = min(datetime.fromisoformat(r["time"]) for r in
                     csv.DictReader(io.StringIO(case.timeline.decode("utf-8-sig"))))
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


def _ne(v: int | None) -> str:
    return "not evaluable" if v is None else str(v)


def _rules(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{rule}: {finding}" for rule, finding in pairs)


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")
