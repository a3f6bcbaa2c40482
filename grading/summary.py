"""Course summary per patient: CRS and ICANS episodes, maxima, onset, resolution, daily maxima.

An episode (CRS-R3b for CRS; the same 48 h rule for ICANS, docs/clinical-decisions.md) closes
once more than 48 h have passed without an active finding, and resolves at the first assessment
after its last active row that shows it resolved: the first whose grade is evaluable, if that
grade is 0 (decision S9; a not-evaluable row shows nothing). An episode still open at the
patient's last assessment, or closed with no such assessment, has no resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .guidance import icd10
from .instants import hours_between
from .timeline import GradedTimeline, _dt


@dataclass(frozen=True)
class Episode:
    syndrome: str                 # "crs" or "icans"
    onset: datetime
    onset_day: int | None         # day after infusion of the onset
    max_grade: int
    max_grade_time: datetime      # when the maximum was first reached
    max_grade_day: int | None
    resolved: datetime | None     # None while open, or closed with no resolution shown (S9)
    duration_hours: float | None
    closed: bool = False          # more than 48 h without an active finding (CRS-R3b, S1)

    def as_dict(self) -> dict[str, object]:
        return {"onset": self.onset.isoformat(), "onset_day": self.onset_day,
                "max_grade": self.max_grade, "max_grade_time": self.max_grade_time.isoformat(),
                "max_grade_day": self.max_grade_day,
                "resolved": None if self.resolved is None else self.resolved.isoformat(),
                "duration_hours": self.duration_hours, "closed": self.closed,
                "icd10": icd10(self.syndrome, self.max_grade, present=True)}


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    crs_max_grade: int | None
    icans_max_grade: int | None
    crs_episodes: tuple[Episode, ...]
    icans_episodes: tuple[Episode, ...]
    daily_max: tuple[tuple[int, int | None, int | None], ...]  # (day, CRS max, ICANS max)

    def first(self, syndrome: str) -> Episode | None:
        eps = self.crs_episodes if syndrome == "crs" else self.icans_episodes
        return eps[0] if eps else None

    def time_to_resolution_hours(self, syndrome: str) -> float | None:
        """From the first episode's onset to the last episode's resolution (None if open)."""
        eps = self.crs_episodes if syndrome == "crs" else self.icans_episodes
        if not eps or eps[-1].resolved is None:
            return None
        return _hours(eps[-1].resolved, eps[0].onset)

    def icd10(self, syndrome: str) -> str | None:
        """The ICD-10-CM code of the maximum grade (spec §6.2, decision S10): by grade 1-5; the
        unspecified code when an episode is recorded but its grade is not known; None for 0."""
        eps = self.crs_episodes if syndrome == "crs" else self.icans_episodes
        return icd10(syndrome, getattr(self, f"{syndrome}_max_grade"), present=bool(eps))

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"patient_id": self.patient_id}
        for s in ("crs", "icans"):
            first = self.first(s)
            eps = self.crs_episodes if s == "crs" else self.icans_episodes
            out |= {
                f"{s}_max_grade": getattr(self, f"{s}_max_grade"),
                f"{s}_onset": None if first is None else first.onset.isoformat(),
                f"{s}_onset_day": None if first is None else first.onset_day,
                f"{s}_resolved": None if not eps or eps[-1].resolved is None
                else eps[-1].resolved.isoformat(),
                f"{s}_time_to_resolution_hours": self.time_to_resolution_hours(s),
                f"{s}_episodes": [e.as_dict() for e in eps],
            }
        for s in ("crs", "icans"):  # ICD-10-CM of each maximum grade (spec §6.2, S10)
            out[f"{s}_icd10"] = self.icd10(s)
        out["daily_max"] = [{"day": d, "crs_max_grade": c, "icans_max_grade": i}
                            for d, c, i in self.daily_max]
        return out


def _hours(a: datetime, b: datetime) -> float:
    """Real hours from ``b`` to ``a``, never the wall clock across a DST change (D9)."""
    return round(hours_between(a, b), 2)


def summarize(g: GradedTimeline) -> list[PatientSummary]:
    """One summary per patient, in order of first appearance in the input."""
    po, c, tz = g.order, g.col, g.assessments.tz
    t = po.time_ns
    day = c["day_post_infusion"]
    out = []
    codes = g.assessments.columns["patient_id"]
    _, first_at = np.unique(codes, return_index=True)
    appearance = {g.assessments.patients[int(codes[i])]: rank
                  for rank, i in enumerate(sorted(first_at))}
    bounds = np.flatnonzero(np.r_[True, po.patient[1:] != po.patient[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        pid = g.assessments.patient_of(int(po.order[lo]))
        sl = slice(int(lo), int(hi))
        crs, icans = c["crs_grade"][sl], c["icans_grade"][sl]
        eps = {s: _episodes(s, c[f"{s}_episode"][sl], c[f"{s}_grade"][sl], c[f"{s}_active"][sl],
                            t[sl], day[sl], tz)
               for s in ("crs", "icans")}
        daily = []
        days = day[sl]
        for d in np.unique(days[~np.isnan(days)]):
            on = days == d
            daily.append((int(d), _max(crs[on]), _max(icans[on])))
        out.append(PatientSummary(pid, _max(crs), _max(icans), eps["crs"], eps["icans"],
                                  tuple(daily)))
    out.sort(key=lambda s: appearance[s.patient_id])
    return out


def _max(grades: np.ndarray) -> int | None:
    known = grades[grades >= 0]
    return int(known.max()) if len(known) else None


def _episodes(syndrome: str, episode: np.ndarray, grade: np.ndarray, active: np.ndarray,
              t: np.ndarray, day: np.ndarray, tz: object) -> tuple[Episode, ...]:
    eps = []
    for e in np.unique(episode[episode >= 0]):
        rows = np.flatnonzero(episode == e)
        g = grade[rows]
        top = int(g.max())
        at = rows[int(np.argmax(g == top))]
        onset = rows[0]
        last_active = int(rows[active[rows]][-1])
        # closed once a later assessment comes more than 48 h after the last active row
        closed = bool(rows[-1] + 1 < len(t))
        at_rest = _resolution(grade, last_active) if closed else None
        resolved = None if at_rest is None else _dt(t[at_rest], tz)
        eps.append(Episode(
            syndrome, _dt(t[onset], tz), _day(day[onset]), top, _dt(t[at], tz), _day(day[at]),
            resolved, None if resolved is None else _hours(resolved, _dt(t[onset], tz)),
            closed))
    return tuple(eps)


def _resolution(grade: np.ndarray, last_active: int) -> int | None:
    """Decision S9: the first row after the last active one whose grade is evaluable, if that
    grade is 0; a not-evaluable row (only a respiratory rate, say) shows nothing."""
    for j in range(last_active + 1, len(grade)):
        if grade[j] >= 0:
            return j if grade[j] == 0 else None
    return None


def _day(d: float) -> int | None:
    return None if np.isnan(d) else int(d)
