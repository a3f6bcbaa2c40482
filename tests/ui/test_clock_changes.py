"""A date and time typed in the ward's zone on the night of a clock change (decision V4: the hour
is never guessed): a clock time the change skips is refused naming the field, one it repeats is
asked (which of the two: before or after the clocks went back) and cannot be recorded until it
is answered, a time left at the default keeps its instant - also in the repeated hour - and
every other time is the instant the ward's clock showed. ``ui.recording.asked_time`` serves the
bedside form, the correction of an assessment, the medication and lab forms, the intensive care
panel, admission and the case builder."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import ward
from ui import session
from ui.recording import twice, ward_time, which_of_two

from .conftest import go, texts
from .test_bedside_entry import errors_in, keyed_block
from .test_pages import button, entry_for, fill, key_of, save_button

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
SYDNEY, LORD_HOWE = ZoneInfo("Australia/Sydney"), ZoneInfo("Australia/Lord_Howe")
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


def refusal(what: str, zone: ZoneInfo, day: date, clock: time, words: str) -> str:
    return f"{what}: {clock:%H:%M} on {day:%d/%m/%Y} {words} {zone.key} (the clocks go " + (
        "forward that night); give the time the clock showed" if words == SKIPPED else
        "back that night); choose which of the two is meant, under the time")


@pytest.mark.parametrize(("zone", "day", "clock", "instant", "words"), CASES,
                         ids=lambda v: str(v))
def test_a_skipped_clock_time_is_refused_a_repeated_one_needs_a_choice_and_others_are_instants(
        zone, day, clock, instant, words):
    at, problem = ward_time(day, clock, zone, "Taken")
    assert twice(day, clock, zone) == (words == REPEATED)     # asked only when repeated
    if words is None:
        assert problem is None
        assert at.astimezone(UTC) == instant.replace(tzinfo=UTC)
        assert (at.astimezone(zone).date(), at.astimezone(zone).time()) == (day, clock)
    else:
        assert problem == refusal("Taken", zone, day, clock, words)


REPEATED_CASES = [
    # zone, day, clock, the first (before the clocks went back) and the second, in UTC
    (LONDON, date(2026, 10, 25), time(1, 0), datetime(2026, 10, 25, 0, 0),
     datetime(2026, 10, 25, 1, 0)),
    (LONDON, date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30),
     datetime(2026, 10, 25, 1, 30)),
    (LONDON, date(2026, 10, 25), time(1, 59), datetime(2026, 10, 25, 0, 59),
     datetime(2026, 10, 25, 1, 59)),
    (NEW_YORK, date(2026, 11, 1), time(1, 0), datetime(2026, 11, 1, 5, 0),
     datetime(2026, 11, 1, 6, 0)),
    (NEW_YORK, date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30),
     datetime(2026, 11, 1, 6, 30)),
    (SYDNEY, date(2026, 4, 5), time(2, 30), datetime(2026, 4, 4, 15, 30),
     datetime(2026, 4, 4, 16, 30)),
    # Lord Howe Island puts its clocks back by half an hour
    (LORD_HOWE, date(2026, 4, 5), time(1, 45), datetime(2026, 4, 4, 14, 45),
     datetime(2026, 4, 4, 15, 15)),
]


@pytest.mark.parametrize(("zone", "day", "clock", "first", "second"), REPEATED_CASES,
                         ids=lambda v: str(v))
def test_either_choice_of_a_repeated_clock_time_is_the_instant_the_clock_showed_then(
        zone, day, clock, first, second):
    for fold, instant in ((0, first), (1, second)):
        at, problem = ward_time(day, clock, zone, "Given", fold=fold)
        assert problem is None and at == instant.replace(tzinfo=UTC)
        shown = at.astimezone(zone)
        assert (shown.date(), shown.time(), shown.fold) == (day, clock, fold)
    _, problem = ward_time(day, clock, zone, "Given")              # no choice: not recordable
    assert problem == refusal("Given", zone, day, clock, REPEATED)


def test_one_hour_apart_in_london_and_new_york_and_half_an_hour_on_lord_howe_island():
    apart = {zone.key: ward_time(day, clock, zone, "Time", fold=1)[0]
             - ward_time(day, clock, zone, "Time", fold=0)[0]
             for zone, day, clock, _, _ in REPEATED_CASES}
    assert apart == {"Europe/London": timedelta(hours=1), "America/New_York": timedelta(hours=1),
                     "Australia/Sydney": timedelta(hours=1),
                     "Australia/Lord_Howe": timedelta(minutes=30)}


@pytest.mark.parametrize(("zone", "day", "clock", "first", "second"), [
    (LONDON, date(2026, 10, 25), time(1, 30), "BST, UTC+01:00", "GMT, UTC+00:00"),
    (NEW_YORK, date(2026, 11, 1), time(1, 30), "EDT, UTC-04:00", "EST, UTC-05:00"),
    (SYDNEY, date(2026, 4, 5), time(2, 30), "AEDT, UTC+11:00", "AEST, UTC+10:00"),
    (LORD_HOWE, date(2026, 4, 5), time(1, 45), "UTC+11:00", "UTC+10:30"),  # no abbreviation
], ids=lambda v: str(v))
def test_the_two_choices_name_the_zones_own_abbreviation_and_offset_before_and_after(
        zone, day, clock, first, second):
    assert which_of_two(day, clock, zone) == {
        0: f"the first, before the clocks went back ({first})",
        1: f"the second, after the clocks went back ({second})"}


@pytest.mark.parametrize("fold", [0, 1])
def test_a_choice_changes_nothing_outside_the_repeated_hour(fold):
    assert ward_time(date(2026, 3, 29), time(1, 30), LONDON, "Time", fold=fold)[1] == refusal(
        "Time", LONDON, date(2026, 3, 29), time(1, 30), SKIPPED)     # still does not exist
    for zone, day, clock, instant, words in CASES:
        if words is None:
            at, problem = ward_time(day, clock, zone, "Time", fold=fold)
            assert problem is None and at == instant.replace(tzinfo=UTC)


NIGHTS = [(LONDON, date(2026, 3, 29)), (LONDON, date(2026, 10, 25)),
          (NEW_YORK, date(2026, 3, 8)), (NEW_YORK, date(2026, 11, 1)),
          (SYDNEY, date(2026, 4, 5)), (SYDNEY, date(2026, 10, 4)),
          (LORD_HOWE, date(2026, 4, 5)), (LORD_HOWE, date(2026, 10, 4)),
          (ZoneInfo("UTC"), date(2026, 10, 25))]


@settings(max_examples=80, deadline=None)
@given(night=st.sampled_from(NIGHTS), clock=st.times().map(lambda t: t.replace(
    second=0, microsecond=0)), fold=st.sampled_from([None, 0, 1]))
def test_every_minute_of_a_clock_change_night_is_its_instant_asked_or_refused_never_guessed(
        night, clock, fold):
    zone, day = night
    at, problem = ward_time(day, clock, zone, "Time", fold=fold)
    # (a time carrying fold=1 is read like any other: only ``fold`` chooses)
    readings = {f: datetime.combine(day, clock).replace(tzinfo=zone, fold=f).astimezone(UTC)
                for f in (0, 1)}
    shows = {f: (a.astimezone(zone).date(), a.astimezone(zone).time()) == (day, clock)
             for f, a in readings.items()}
    if twice(day, clock, zone):                       # both instants show the time typed
        assert all(shows.values()) and readings[0] < readings[1]
        assert (at, problem) == ((readings[fold], None) if fold is not None else
                                 (at, refusal("Time", zone, day, clock, REPEATED)))
    elif not any(shows.values()):                    # no instant shows it: refused
        assert problem == refusal("Time", zone, day, clock, SKIPPED)
    else:                                            # one instant: that one, choice or none
        assert problem is None and at == readings[0] == readings[1]


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
    assert problem is not None and REPEATED in problem       # changed: which 01:41 is asked


@pytest.fixture
def london(ward_url, monkeypatch):
    """The demo ward in a ward zone with clock changes, the app's clock pinned at 01:45 GMT on
    25 October 2026 (the hour after the clocks went back; the record's own checks read the
    real clock, later)."""
    monkeypatch.setenv("WARD_TZ", "Europe/London")
    monkeypatch.setattr(session, "now", lambda: datetime(2026, 10, 25, 1, 45, tzinfo=UTC))


def which(at, key: str, clock: str = "0130"):
    """The choice of which of the two 01:30s (25 October 2026) a form with ``key`` asks."""
    return at.radio(key=f"{key}_which_20261025_{clock}")


def test_the_bedside_form_asks_which_of_the_repeated_hour_is_meant_and_saves_the_chosen_one(
        london, signed_in, store):
    before = {h.id for h in store.history("DEMO-001")}
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    assert (at.date_input(key=f"{k}_date").value, at.time_input(key=f"{k}_time").value) == (
        date(2026, 10, 25), time(1, 45))      # now, on the ward's clock (GMT since 01:00 UTC)
    assert not any("_which_" in (r.key or "") for r in at.radio)   # now: nothing to ask
    at.time_input(key=f"{k}_time").set_value(time(1, 30))
    fill(at, "DEMO-001", temp_c=37.3)
    choice = which(at, k)
    assert choice.label == ("Time: 01:30 on 25/10/2026 happens twice (the clocks go back that "
                            "night). Which one is meant?")
    assert choice.options == [                                       # as shown
        "the first, before the clocks went back (BST, UTC+01:00)",
        "the second, after the clocks went back (GMT, UTC+00:00)"]
    assert choice.value is None                                      # nothing guessed
    assert errors_in(keyed_block(at, f"{k}_bedside_when")) == [
        "Time: 01:30 on 25/10/2026 happens twice in the ward time zone Europe/London (the "
        "clocks go back that night); choose which of the two is meant, under the time"]
    assert save_button(at, "DEMO-001").disabled
    choice.set_value(0).run()
    assert errors_in(keyed_block(at, f"{k}_bedside_when")) == []
    at.time_input(key=f"{k}_time").set_value(time(1, 40)).run()      # another time: asked anew
    assert which(at, k, "0140").value is None and save_button(at, "DEMO-001").disabled
    at.time_input(key=f"{k}_time").set_value(time(1, 30)).run()
    which(at, k).set_value(0).run()
    assert not save_button(at, "DEMO-001").disabled
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    (new,) = [h for h in store.history("DEMO-001") if h.id not in before]
    assert new.values["temp_c"] == 37.3
    assert new.assessed_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)   # 01:30 BST


def test_the_medication_form_asks_which_of_the_repeated_hour_and_records_the_second(
        london, signed_in, store):
    store.admit({"patient_id": "MAR-1", "infusion_time": datetime(2026, 10, 23, 10, tzinfo=UTC),
                 "weight_kg": 70}, by="demo.physician")
    at = signed_in("nurse")
    at.session_state["patient_id"] = "MAR-1"
    go(at, "ui/pages/treatments.py")
    at.text_input(key="mar_dose_MAR-1_0").input("560")
    at.selectbox(key="mar_for_MAR-1_tocilizumab_0").select("crs")
    at.time_input(key="mar_at_MAR-1_0_time").set_value(time(1, 30)).run()
    assert ("given: 01:30 on 25/10/2026 happens twice in the ward time zone Europe/London (the "
            "clocks go back that night); choose which of the two is meant, under the time"
            ) in texts(at)
    assert at.button(key="mar_save_MAR-1").disabled
    which(at, "mar_at_MAR-1_0").set_value(1).run()
    assert not at.error and not at.button(key="mar_save_MAR-1").disabled
    at.button(key="mar_save_MAR-1").click().run()
    assert not at.exception
    (m,) = store.administrations("MAR-1")
    assert m["given_at"] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)      # 01:30 GMT


def test_admission_asks_which_infusion_time_of_the_repeated_hour_once_the_form_is_sent(
        london, signed_in, store):
    at = go(signed_in("physician"), "ui/pages/admission.py")
    at.text_input[0].input("P-200")
    at.date_input[1].set_value(date(2026, 10, 25))
    at.time_input[0].set_value(time(1, 30))
    button(at, "Admit").click().run()
    assert store.patient("P-200") is None
    assert ("Not admitted: Infusion time: 01:30 on 25/10/2026 happens twice in the ward time "
            "zone Europe/London (the clocks go back that night); choose which of the two is "
            "meant, under the time") in texts(at)
    which(at, "admit_infusion").set_value(0)
    button(at, "Admit").click().run()
    assert not at.exception
    p = store.patient("P-200")
    assert p is not None and p["infusion_time"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_date_of_birth_may_be_the_wards_today_when_the_servers_date_is_still_yesterday(
        ward_url, monkeypatch, signed_in):
    """23:30 UTC on 30 June is 11:30 on 1 July in Auckland: a baby born today in an Auckland
    ward has a date of birth of 1 July (the app's clock pinned there)."""
    monkeypatch.setenv("WARD_TZ", "Pacific/Auckland")
    monkeypatch.setattr(session, "now", lambda: datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    at = go(signed_in("physician"), "ui/pages/admission.py")
    dob = next(d for d in at.date_input if d.label == "Date of birth")
    assert dob.max == date(2026, 7, 1)


def test_the_case_builder_asks_which_infusion_time_of_the_repeated_hour_instead_of_guessing(
        london, signed_in, store):
    at = go(signed_in("educator"), "ui/pages/case_builder.py")
    next(d for d in at.date_input if d.label == "Infusion date").set_value(date(2026, 10, 25))
    next(t for t in at.time_input if t.label == "Infusion time").set_value(time(1, 30))
    button(at, "Create the synthetic patient").click().run()
    assert store.patient("EDU-001") is None
    assert ("Infusion time: 01:30 on 25/10/2026 happens twice in the ward time zone "
            "Europe/London (the clocks go back that night); choose which of the two is meant, "
            "under the time") in texts(at)
    which(at, "builder_infusion").set_value(1)
    button(at, "Create the synthetic patient").click().run()
    assert not at.exception
    assert store.patient("EDU-001")["infusion_time"] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_correction_keeps_a_repeated_hour_time_left_alone_and_asks_for_a_new_one(
        london, signed_in, store):
    store.admit({"patient_id": "DST-1", "infusion_time": datetime(2026, 10, 24, 10, tzinfo=UTC)},
                by="demo.physician")
    first = ward.save(store, "DST-1", {"time": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                                       "temp_c": 37.0}, by="demo.nurse").assessment_id  # BST
    at = signed_in("nurse")
    at.session_state["patient_id"] = "DST-1"
    go(at, "ui/pages/patient.py")
    k = f"amend_{first}"
    assert at.time_input(key=f"{k}_time").value == time(1, 30)
    assert not any("_which_" in (r.key or "") for r in at.radio)   # left alone: its instant
    at.text_input(key=f"correct_reason_{first}").input("time charted wrongly")
    at.time_input(key=f"{k}_time").set_value(time(1, 40)).run()
    assert which(at, k, "0140").value is None and at.button(key=f"{k}_save").disabled
    assert ("Time: 01:40 on 25/10/2026 happens twice in the ward time zone Europe/London (the "
            "clocks go back that night); choose which of the two is meant, under the time"
            ) in texts(at)                                     # under the time, named
    which(at, k, "0140").set_value(1).run()
    assert not at.button(key=f"{k}_save").disabled
    at.button(key=f"{k}_save").click().run()
    assert not at.exception
    (now_current,) = [h for h in store.history("DST-1") if h.status == "final"]
    assert now_current.assessed_at == datetime(2026, 10, 25, 1, 40, tzinfo=UTC)   # 01:40 GMT
