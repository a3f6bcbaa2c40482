"""What the forms that record a dose or a lab result share (the Medications and labs page, the
bedside "Lab result" expander): a typed number read or refused naming the field, a value at
clinical precision, a date and time in the ward's zone, the refusal of a time to come, and one
save that shows the record's refusal or reruns with what was saved."""

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


def when_input(key: str, default: datetime, label: str, tz: Any, what: str
               ) -> tuple[datetime, str | None]:
    """Date and time in the ward's zone, two fields side by side (they wrap at 820 px): the
    instant, and why it cannot be recorded when a clock change skips or repeats that clock
    time (``ward_time``)."""
    c = st.columns(2)
    at = default.astimezone(tz)
    day = c[0].date_input(f"{label} (date)", value=at.date(), key=f"{key}_date",
                          format="DD/MM/YYYY")
    clock = c[1].time_input(f"{label} (time)", value=at.time().replace(second=0, microsecond=0),
                            step=60, key=f"{key}_time")
    return ward_time(day, clock, tz, what, default)


def ward_time(day: date, clock: time, tz: Any, what: str, default: datetime | None = None
              ) -> tuple[datetime, str | None]:
    """The instant (in UTC) the ward's clock shows ``clock`` on ``day``, and why it cannot be
    recorded (naming the field) when that night's clock change skips the clock time or
    repeats it: the hour is never guessed (decision V4). Fields still showing ``default``
    give its instant (to the minute shown), so a time left at now in the repeated hour is
    the one it was. In UTC because Python never finds a time of the repeated hour equal to
    the same instant in another zone (PEP 495): a correction would always look changed."""
    if default is not None:
        d = default.astimezone(tz)
        for kept in (d, d.replace(second=0, microsecond=0)):
            if (kept.date(), kept.time()) == (day, clock):
                return kept.astimezone(UTC), None
    at = datetime.combine(day, clock).replace(tzinfo=tz)
    shown = f"{clock:%H:%M} on {day:%d/%m/%Y}"
    zone = getattr(tz, "key", str(tz))
    if at.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != at.replace(tzinfo=None):
        return at, (f"{what}: {shown} does not exist in the ward time zone {zone} (the clocks "
                    "go forward that night); give the time the clock showed")
    if at.replace(fold=1).utcoffset() != at.utcoffset():
        return at, (f"{what}: {shown} happens twice in the ward time zone {zone} (the clocks go "
                    "back that night), so which of the two is meant cannot be told; a time left "
                    "at now is exact")
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
