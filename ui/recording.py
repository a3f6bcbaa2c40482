"""What the forms that record a dose or a lab result share (the Medications and labs page, the
bedside "Lab result" expander): a typed number read or refused naming the field, a value at
clinical precision, a date and time in the ward's zone (a clock time the night's clock change
repeats asked, never guessed), the refusal of a time to come, and one save that shows the
record's refusal or reruns with what was saved."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import streamlit as st

from monitoring.services import StoreError
from ui.common import local
from ui.text import md

NUMBER_CHARS = 16


def number(text: str, field: str) -> tuple[float | None, str | None]:
    """The number typed, else why not (naming the field); blank is None without a problem."""
    text = text.strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"{field}: '{text}' is not a number (write it with a point, e.g. 0.5)"
    if not math.isfinite(value):
        return None, f"{field}: '{text}' is not a number"
    return value, None


def clinical(v: float) -> str:
    """A converted value at clinical precision (three significant digits, no exponent)."""
    return f"{float(f'{v:.3g}'):f}".rstrip("0").rstrip(".")


def when_input(key: str, default: datetime, label: str, tz: Any, what: str,
               widths: tuple[float, ...] = (1, 1), step: int = 60
               ) -> tuple[datetime, str | None]:
    """Date and time in the ward's zone, two fields side by side (they wrap at 820 px; more
    ``widths`` leave room beside them): the instant, and why it cannot be recorded
    (``asked_time``: a clock time the night's clock change skips is refused, one it repeats
    is asked, right under the fields)."""
    c = st.columns(list(widths))
    at = default.astimezone(tz)
    day = c[0].date_input(f"{label} (date)", value=at.date(), key=f"{key}_date",
                          format="DD/MM/YYYY")
    clock = c[1].time_input(f"{label} (time)", value=at.time().replace(second=0, microsecond=0),
                            step=step, key=f"{key}_time")
    return asked_time(key, day, clock, tz, what, default)


def twice(day: date, clock: time, tz: Any) -> bool:
    """Whether the ward's clock shows ``clock`` twice on ``day`` (the clocks go back); a
    clock time the clocks going forward skip has two offsets too, but no instant shows it."""
    at = datetime.combine(day, clock).replace(tzinfo=tz, fold=0)
    return at.replace(fold=1).utcoffset() != at.utcoffset() and (
        at.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == at.replace(tzinfo=None))


def _offset(at: datetime) -> str:
    """The zone's abbreviation and UTC offset at ``at``, from the zone itself: "BST, UTC+01:00"."""
    minutes = int(at.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if minutes >= 0 else "-"
    offset = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    name = at.tzname()
    return offset if not name or name[0] in "+-" else f"{name}, {offset}"


def which_of_two(day: date, clock: time, tz: Any) -> dict[int, str]:
    """The two readings of a repeated clock time, by ``fold`` (PEP 495), in words."""
    at = datetime.combine(day, clock).replace(tzinfo=tz, fold=0)
    return {0: f"the first, before the clocks went back ({_offset(at.replace(fold=0))})",
            1: f"the second, after the clocks went back ({_offset(at.replace(fold=1))})"}


def asked_time(key: str, day: date, clock: time, tz: Any, what: str,
               default: datetime | None = None) -> tuple[datetime, str | None]:
    """``ward_time`` of the typed date and time, asking which of the two is meant when the
    night's clock change repeats that clock time: a choice with nothing pre-chosen, drawn
    where this is called (right under the time fields), its key ``key`` with the date and
    time typed (a choice made for one time never answers for another). Until a choice is
    made, the problem names the field; fields still showing ``default`` keep its instant
    and ask nothing (decision V4)."""
    at, problem = ward_time(day, clock, tz, what, default)
    if problem is None or not twice(day, clock, tz):
        return at, problem
    words = which_of_two(day, clock, tz)
    field = what[:1].upper() + what[1:]
    fold = st.radio(f"{field}: {clock:%H:%M} on {day:%d/%m/%Y} happens twice (the clocks go "
                    "back that night). Which one is meant?", list(words), index=None,
                    format_func=words.get, key=f"{key}_which_{day:%Y%m%d}_{clock:%H%M}")
    return ward_time(day, clock, tz, what, default, fold)


def ward_time(day: date, clock: time, tz: Any, what: str, default: datetime | None = None,
              fold: int | None = None) -> tuple[datetime, str | None]:
    """The instant (in UTC) the ward's clock shows ``clock`` on ``day``, and why it cannot be
    recorded (naming the field): a clock time the night's clock change skips does not exist;
    one it repeats needs ``fold`` (0 the first, before the clocks went back, 1 the second),
    never guessed (decision V4). Fields still showing ``default`` give its instant (to the
    minute shown), so a time left at now in the repeated hour is the one it was. In UTC
    because Python never finds a time of the repeated hour equal to the same instant in
    another zone (PEP 495): a correction would always look changed."""
    if default is not None:
        d = default.astimezone(tz)
        for kept in (d, d.replace(second=0, microsecond=0)):
            if (kept.date(), kept.time()) == (day, clock):
                return kept.astimezone(UTC), None
    at = datetime.combine(day, clock).replace(tzinfo=tz, fold=0)
    shown = f"{clock:%H:%M} on {day:%d/%m/%Y}"
    zone = getattr(tz, "key", str(tz))
    if at.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != at.replace(tzinfo=None):
        return at, (f"{what}: {shown} does not exist in the ward time zone {zone} (the clocks "
                    "go forward that night); give the time the clock showed")
    if twice(day, clock, tz):
        if fold not in (0, 1):
            return at, (f"{what}: {shown} happens twice in the ward time zone {zone} (the "
                        "clocks go back that night); choose which of the two is meant, under "
                        "the time")
        return at.replace(fold=fold).astimezone(UTC), None
    return at.astimezone(UTC), None


def future(at: datetime, what: str, now: datetime, tz: Any) -> str | None:
    """Why a time to come cannot be recorded (naming the field), else None."""
    if at <= now:
        return None
    return (f"{what}: the time is in the future; it is recorded when it happened (any time up "
            f"to now, {local(now, tz, '%d %b %Y %H:%M')})")


def save(write: Callable[[], Any], saved: Callable[[Any], str], done_key: str) -> None:
    """One write through the services: the record's refusal is shown, named (never a trace);
    else what was saved (``saved`` of what ``write`` returned) goes to
    ``st.session_state[done_key]`` and the page reruns with fresh fields."""
    try:
        got = write()
    except StoreError as e:
        st.error(f"Not saved: {md(e)}")
        return
    st.session_state[done_key] = saved(got)
    st.rerun()
