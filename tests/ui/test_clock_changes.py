"""A date and time typed in the ward's zone on the night of a clock change (decision V4: the hour
is never guessed): a clock time the change skips or repeats is refused naming the field, a time
left at the default keeps its instant - also in the repeated hour - and every other time is the
instant the ward's clock showed. ``ui.recording.ward_time`` serves the bedside form, the
correction of an assessment, the medication and lab forms and the admission form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ui import session
from ui.recording import ward_time

from .conftest import go
from .test_bedside_entry import errors_in, keyed_block
from .test_pages import entry_for, fill, key_of, save_button

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
SKIPPED = "does not exist in the ward time zone"
REPEATED = "happens twice in the ward time zone"

CASES = [
    # zone, day, clock, the instant (UTC) or None, the problem's words
    (LONDON, date(2026, 3, 29), time(0, 59), datetime(2026, 3, 29, 0, 59), None),
    (LONDON, date(2026, 3, 29), time(1, 0), None, SKIPPED),   # 01:00 GMT is 02:00 BST
    (LONDON, date(2026, 3, 29), time(1, 59), None, SKIPPED),
    (LONDON, date(2026, 3, 29), time(2, 0), datetime(2026, 3, 29, 1, 0), None),
    (LONDON, date(2026, 10, 25), time(0, 59), datetime(2026, 10, 24, 23, 59), None),
    (LONDON, date(2026, 10, 25), time(1, 0), None, REPEATED),   # 00:00 and 01:00 UTC
    (LONDON, date(2026, 10, 25), time(1, 59), None, REPEATED),
    (LONDON, date(2026, 10, 25), time(2, 0), datetime(2026, 10, 25, 2, 0), None),
    (NEW_YORK, date(2026, 3, 8), time(2, 30), None, SKIPPED),
    (NEW_YORK, date(2026, 3, 8), time(3, 0), datetime(2026, 3, 8, 7, 0), None),
    (NEW_YORK, date(2026, 11, 1), time(1, 30), None, REPEATED),
    (NEW_YORK, date(2026, 11, 1), time(2, 0), datetime(2026, 11, 1, 7, 0), None),
    (ZoneInfo("UTC"), date(2026, 3, 29), time(1, 30), datetime(2026, 3, 29, 1, 30), None),
]


@pytest.mark.parametrize(("zone", "day", "clock", "instant", "words"), CASES,
                         ids=lambda v: str(v))
def test_a_clock_time_the_change_skips_or_repeats_is_refused_and_every_other_is_its_instant(
        zone, day, clock, instant, words):
    at, problem = ward_time(day, clock, zone, "Taken")
    if words is None:
        assert problem is None
        assert at.astimezone(UTC) == instant.replace(tzinfo=UTC)
        assert (at.astimezone(zone).date(), at.astimezone(zone).time()) == (day, clock)
    else:
        assert problem == (
            f"Taken: {clock:%H:%M} on {day:%d/%m/%Y} {words} {zone.key} (the clocks go "
            + ("forward that night); give the time the clock showed" if words == SKIPPED
               else "back that night), so which of the two is meant cannot be told; a time "
               "left at now is exact"))


@pytest.mark.parametrize("default", [datetime(2026, 10, 25, 0, 40, 30, tzinfo=UTC),   # BST
                                     datetime(2026, 10, 25, 1, 40, 30, tzinfo=UTC)])  # GMT
def test_a_time_left_at_its_default_in_the_repeated_hour_keeps_its_instant(default):
    shown = default.astimezone(LONDON)
    assert shown.time().replace(second=0) == time(1, 40)  # either hour shows 01:40
    at, problem = ward_time(shown.date(), time(1, 40), LONDON, "Given", default)
    assert problem is None and at == default.replace(second=0)
    at, problem = ward_time(shown.date(), shown.time(), LONDON, "Given", default)
    assert problem is None and at == default                # a field that keeps the seconds
    _, problem = ward_time(shown.date(), time(1, 41), LONDON, "Given", default)
    assert problem is not None and REPEATED in problem       # changed: which 01:41 is unknown


@pytest.fixture
def london(ward_url, monkeypatch):
    """The demo ward in a ward zone with clock changes, the app's clock pinned at 01:45 GMT on
    25 October 2026 (the hour after the clocks went back; the record's own checks read the
    real clock, later)."""
    monkeypatch.setenv("WARD_TZ", "Europe/London")
    monkeypatch.setattr(session, "now", lambda: datetime(2026, 10, 25, 1, 45, tzinfo=UTC))


def test_the_bedside_form_refuses_a_back_dated_time_in_the_repeated_hour_under_the_time(
        london, signed_in, store):
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    assert (at.date_input(key=f"{k}_date").value, at.time_input(key=f"{k}_time").value) == (
        date(2026, 10, 25), time(1, 45))      # now, on the ward's clock (GMT since 01:00 UTC)
    at.time_input(key=f"{k}_time").set_value(time(1, 30))
    fill(at, "DEMO-001", temp_c=37.3)
    assert errors_in(keyed_block(at, f"{k}_bedside_when")) == [
        "Time: 01:30 on 25/10/2026 happens twice in the ward time zone Europe/London (the "
        "clocks go back that night), so which of the two is meant cannot be told; a time left "
        "at now is exact"]
    assert save_button(at, "DEMO-001").disabled
    assert len(store.history("DEMO-001")) == before


def test_a_date_of_birth_may_be_the_wards_today_when_the_servers_date_is_still_yesterday(
        ward_url, monkeypatch, signed_in):
    """23:30 UTC on 30 June is 11:30 on 1 July in Auckland: a baby born today in an Auckland
    ward has a date of birth of 1 July (the app's clock pinned there)."""
    monkeypatch.setenv("WARD_TZ", "Pacific/Auckland")
    monkeypatch.setattr(session, "now", lambda: datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    at = go(signed_in("physician"), "ui/pages/admission.py")
    dob = next(d for d in at.date_input if d.label == "Date of birth")
    assert dob.max == date(2026, 7, 1)
