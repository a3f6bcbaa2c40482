"""Lab values in canonical units and the picking rules the scores share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..instants import instant, is_after
from .units import canonical_unit


@dataclass(frozen=True)
class LabValue:
    test: str          # a key of units.LAB_UNITS
    value: float       # in the canonical unit
    time: datetime     # when the sample was taken (timezone-aware)

    def text(self) -> str:
        return f"{self.test} {self.value:.4g} {canonical_unit(self.test)}"


def day_of(at: datetime, infusion: datetime, tz: Any) -> int:
    """Calendar day after infusion in the ward time zone (infusion day = 0, decision S4)."""
    return (at.astimezone(tz).date() - infusion.astimezone(tz).date()).days


def start_of_day(day: int, infusion: datetime, tz: Any) -> datetime:
    d: date = infusion.astimezone(tz).date() + timedelta(days=day)
    return datetime.combine(d, time(0), tzinfo=tz)


def latest(labs: Sequence[LabValue], test: str, until: datetime,
           since: datetime | None = None) -> LabValue | None:
    """The latest value of ``test`` taken at or before ``until`` (and at or after ``since``)."""
    found = [x for x in labs if x.test == test and not is_after(x.time, until)
             and (since is None or not is_after(since, x.time))]
    return max(found, key=lambda x: instant(x.time)) if found else None
