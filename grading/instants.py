"""Elapsed time between instants (spec §0.3; decision D9 in docs/clinical-decisions.md).

Times are shown in the ward's time zone, but every duration, window and order is taken between
instants. Python compares and subtracts two aware datetimes that share one ``tzinfo`` on their
wall clocks: across a daylight-saving change 2.5 real hours would read as 3.5 (spring forward)
or 1.5 (fall back), and in the repeated hour of a fall-back night a later assessment would sort
before an earlier one. Every comparison, difference and shift of ward times therefore goes
through these functions, which work in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def instant(t: datetime) -> datetime:
    """``t`` as the same instant in UTC: the key to compare, sort or subtract ward times by.
    (A naive time is returned unchanged: it has no instant, and mixing it with an aware one
    stays the error it is.)"""
    return t if t.tzinfo is None else t.astimezone(UTC)


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    """The real time from ``earlier`` to ``later`` (negative if ``later`` is the earlier)."""
    return instant(later) - instant(earlier)


def hours_between(later: datetime, earlier: datetime) -> float:
    """``elapsed`` in hours."""
    return elapsed(later, earlier).total_seconds() / 3600


def shifted(t: datetime, by: timedelta) -> datetime:
    """The instant ``by`` of real time after ``t``, shown in ``t``'s time zone."""
    return (instant(t) + by).astimezone(t.tzinfo) if t.tzinfo is not None else t + by


def is_after(a: datetime, b: datetime) -> bool:
    """Whether instant ``a`` comes strictly after instant ``b``."""
    return instant(a) > instant(b)
