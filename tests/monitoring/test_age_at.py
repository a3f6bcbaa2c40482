"""A patient's age from the date of birth never rounds up across a birthday: the paediatric
tools (CAPD under 12) and the child reference ranges (under 18) change on that day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from monitoring.ward import age_years_at


@pytest.mark.parametrize(("born", "at", "age"), [
    (date(2008, 4, 8), datetime(2026, 4, 7, 23, 59, tzinfo=UTC), 17.99),  # the day before: a child
    (date(2008, 4, 8), datetime(2026, 4, 8, 0, 0, tzinfo=UTC), 18.0),     # the birthday: 18
    (date(2014, 12, 7), datetime(2026, 12, 6, 12, tzinfo=UTC), 11.99),    # still under 12: CAPD
    (date(2014, 12, 7), datetime(2026, 12, 7, 12, tzinfo=UTC), 12.0),
    (date(2008, 2, 29), datetime(2026, 2, 27, tzinfo=UTC), 17.99),        # born on 29 February
    (date(2008, 2, 29), datetime(2026, 2, 28, tzinfo=UTC), 18.0),
    (date(2025, 6, 6), datetime(2026, 12, 6, tzinfo=UTC), 1.5),           # an infant: a fraction
])
def test_the_age_is_whole_years_from_each_birthday_and_never_rounds_up(born, at, age):
    assert age_years_at(born, at, UTC) == age


def test_the_age_counts_the_birthday_in_the_wards_time_zone():
    late_evening_utc = datetime(2026, 4, 7, 23, 30, tzinfo=UTC)      # 8 April in Berlin
    assert age_years_at(date(2008, 4, 8), late_evening_utc, ZoneInfo("Europe/Berlin")) == 18.0
    assert age_years_at(date(2008, 4, 8), late_evening_utc, UTC) == 17.99


def test_no_date_of_birth_gives_no_age():
    assert age_years_at(None, datetime(2026, 1, 1, tzinfo=UTC), UTC) is None
