"""What the forms that record a dose or a lab result share (the Medications and labs page, the
bedside "Lab result" expander): a typed number read or refused naming the field, a value at
clinical precision, a date and time in the ward's zone, the refusal of a time to come, and one
save that shows the record's refusal or reruns with what was saved."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
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


def when_input(key: str, default: datetime, label: str, tz: Any) -> datetime:
    """Date and time in the ward's zone, two fields side by side (they wrap at 820 px)."""
    c = st.columns(2)
    at = default.astimezone(tz)
    day = c[0].date_input(f"{label} (date)", value=at.date(), key=f"{key}_date",
                          format="DD/MM/YYYY")
    clock = c[1].time_input(f"{label} (time)", value=at.time().replace(second=0, microsecond=0),
                            step=60, key=f"{key}_time")
    return datetime.combine(day, clock).replace(tzinfo=tz)


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
