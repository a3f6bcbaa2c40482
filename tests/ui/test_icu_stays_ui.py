"""Intensive care stays on the Patient record page (decision R10, AppTest): a nurse records a
transfer to intensive care and the return to the ward, a physician corrects a stay with a
reason or marks it entered in error; a return before the transfer or a time to come is refused
on the page naming the field; times read DD/MM/YYYY HH:MM, never ISO."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from .conftest import go, texts

PAGE = "ui/pages/patient.py"
PID = "ICU-1"
DAY = (datetime.now(UTC) - timedelta(days=3)).date()  # the ward's zone is UTC in these tests


def at_day(days: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY + timedelta(days=days), time(hour, minute), tzinfo=UTC)


def shown(at: datetime) -> str:
    return at.strftime("%d/%m/%Y %H:%M")


@pytest.fixture
def page(signed_in, store):
    store.admit({"patient_id": PID, "infusion_time": at_day(-2, 10)}, by="demo.physician")

    def open_as(role: str):
        app = signed_in(role)
        app.session_state["patient_id"] = PID
        return go(app, PAGE)
    return open_as


def set_when(app, key: str, when: datetime):
    app.date_input(key=f"{key}_date").set_value(when.date())
    app.time_input(key=f"{key}_time").set_value(when.time())
    return app.run()


def test_a_nurse_records_a_transfer_and_the_return_and_sees_the_stay_listed(page, store):
    app = page("nurse")
    assert "No stay in intensive care recorded." in texts(app)
    set_when(app, f"icu_in_{PID}_0", at_day(0, 14, 30))
    app.button(key=f"icu_in_save_{PID}").click().run()
    assert not app.exception and not app.error
    (stay,) = store.icu_stays(PID)
    assert (stay["transferred_at"], stay["returned_at"], stay["recorded_by"]) == (
        at_day(0, 14, 30), None, "demo.nurse")
    assert f"In intensive care since {shown(at_day(0, 14, 30))}" in texts(app)
    set_when(app, f"icu_out_{PID}_1", at_day(1, 20, 30))
    app.button(key=f"icu_out_save_{PID}").click().run()
    assert not app.exception and not app.error
    (stay,) = store.icu_stays(PID)
    assert stay["returned_at"] == at_day(1, 20, 30)
    assert "In intensive care since" not in texts(app)
    frame = app.dataframe[0].value
    assert list(frame["Transferred to ICU"]) == [shown(at_day(0, 14, 30))] * 2
    assert list(frame["Returned to the ward"]) == [shown(at_day(1, 20, 30)), "not yet"]
    assert list(frame["Length"]) == ["1 d 6 h", ""]
    assert list(frame["Status"]) == ["current", "replaced by a later version"]
    assert not re.search(r"\d{4}-\d\d-\d\d", " ".join(frame.astype(str).to_numpy().ravel()))


def test_a_return_before_the_transfer_and_a_time_to_come_are_refused_naming_the_field(
        page, store):
    store.record_icu_transfer(PID, at_day(1, 9), by="demo.nurse")
    app = page("nurse")
    set_when(app, f"icu_out_{PID}_0", at_day(1, 8))
    assert (f"Returned to the ward: must be after the transfer to intensive care at "
            f"{shown(at_day(1, 9))}") in texts(app)
    assert app.button(key=f"icu_out_save_{PID}").disabled
    set_when(app, f"icu_out_{PID}_0", at_day(1, 9))  # the same minute: not yet a return
    assert not app.error and "Set the time of the return" in texts(app)
    assert app.button(key=f"icu_out_save_{PID}").disabled
    set_when(app, f"icu_out_{PID}_0", datetime.now(UTC) + timedelta(days=1))
    assert "Returned to the ward: the time is in the future" in texts(app)
    assert app.button(key=f"icu_out_save_{PID}").disabled
    assert store.icu_stays(PID)[0]["returned_at"] is None


def test_a_physician_corrects_a_stay_with_a_reason_and_the_original_stays_listed(page, store):
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse",
                                     returned_at=at_day(0, 21))
    app = page("physician")
    set_when(app, f"icu_fix_in_{stay}", at_day(0, 10))
    assert app.button(key=f"icu_fix_save_{stay}").disabled  # no reason yet
    app.text_input(key=f"icu_reason_{stay}").input("transfer charted an hour early").run()
    app.button(key=f"icu_fix_save_{stay}").click().run()
    assert not app.exception and not app.error
    (now,) = store.icu_stays(PID)
    assert (now["transferred_at"], now["returned_at"], now["replaces_id"]) == (
        at_day(0, 10), at_day(0, 21), stay)
    frame = app.dataframe[0].value
    assert list(frame["Status"]) == ["current", "replaced by a later version"]
    assert list(frame["Reason"]) == ["transfer charted an hour early", ""]
    assert f"ICU stay #{stay} corrected" in texts(app)


def test_a_stay_marked_entered_in_error_stays_listed_and_no_longer_counts(page, store):
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    app = page("nurse")
    app.radio(key=f"icu_action_{stay}").set_value("Mark entered in error").run()
    assert app.button(key=f"icu_eie_{stay}").disabled
    app.text_input(key=f"icu_reason_{stay}").input("wrong patient").run()
    app.button(key=f"icu_eie_{stay}").click().run()
    assert not app.exception
    assert store.icu_stays(PID) == []
    frame = app.dataframe[0].value
    assert list(frame["Status"]) == ["marking: entered in error", "entered in error"]
    # the patient is no longer in intensive care: a transfer can be recorded again
    assert app.button(key=f"icu_in_save_{PID}")


def test_the_ward_overview_says_who_is_in_intensive_care_since_when(page, signed_in, store):
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    app = go(signed_in("nurse"), "ui/pages/overview.py")
    caption = icu_caption(texts(app))  # the demo ward's own ICU patients are listed too
    assert f"{PID} ({PID}) since {shown(at_day(0, 9))}" in caption
    store.record_icu_return(PID, stay, at_day(1, 9), by="demo.nurse")
    app = go(app, "ui/pages/overview.py")
    assert f"{PID} ({PID})" not in icu_caption(texts(app))


def icu_caption(text: str) -> str:
    """The overview's "In intensive care: ..." line ("" when no one is in intensive care)."""
    return next((line for line in text.splitlines() if line.startswith("In intensive care: ")),
                "")


def test_the_patient_review_header_says_in_intensive_care_since_when(signed_in, store):
    assert "DEMO-001" not in store.in_icu(["DEMO-001"])  # DEMO-003 and 005 are, from their cards
    store.record_icu_transfer("DEMO-001", at_day(1, 7, 15), by="demo.nurse")
    app = signed_in("physician")
    app.session_state["patient_id"] = "DEMO-001"
    app = go(app, "ui/pages/review.py")
    assert f"in intensive care since {shown(at_day(1, 7, 15))}" in texts(app)


def test_a_death_in_an_open_stay_reads_died_in_intensive_care_and_offers_no_return(page, store):
    store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    store.record_assessment(PID, {"time": at_day(1, 3, 40), "died_of": "crs"},
                            by="demo.physician")
    app = page("nurse")
    assert not app.exception and not app.error
    assert (f"Died in intensive care: transferred {shown(at_day(0, 9))}, death recorded at "
            f"{shown(at_day(1, 3, 40))}.") in texts(app)
    assert "In intensive care since" not in texts(app)
    keys = {b.key for b in app.button}
    assert f"icu_out_save_{PID}" not in keys and f"icu_in_save_{PID}" not in keys


def test_a_stay_charted_after_a_later_charted_death_is_named_for_correction(page, store):
    """R10: the death is never refused for a stay; the stay that now follows it is shown as
    the entry to correct."""
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    store.record_icu_return(PID, stay, at_day(1, 9), by="demo.nurse")
    store.record_assessment(PID, {"time": at_day(0, 22), "died_of": "crs"},
                            by="demo.physician")
    app = page("physician")
    assert not app.exception
    (error,) = [e.value.replace("\\", "") for e in app.error]  # markdown escapes
    current = store.icu_stays(PID)[0]["id"]
    assert error == (f"ICU stay #{current}: returned to the ward at {shown(at_day(1, 9))}, "
                     f"after the death recorded at {shown(at_day(0, 22))}. Check both records "
                     "and correct the stay (or the assessment) with a reason.")


def test_after_death_names_each_time_after_the_death_and_nothing_before_it():
    from ui.icu import after_death
    died = at_day(1, 0)
    stays = [{"id": 1, "transferred_at": at_day(0, 1), "returned_at": at_day(0, 5)},
             {"id": 2, "transferred_at": at_day(0, 23), "returned_at": None},
             {"id": 3, "transferred_at": at_day(1, 1), "returned_at": at_day(1, 2)}]
    assert after_death(stays, None, UTC) == []
    (words,) = after_death(stays, died, UTC)
    assert words.startswith(f"ICU stay #3: transferred to ICU at {shown(at_day(1, 1))} and "
                            f"returned to the ward at {shown(at_day(1, 2))}, after the death")
    assert after_death(stays, at_day(1, 2), UTC) == [] and after_death(stays[:2], died, UTC) == []


def test_the_review_header_reads_died_in_intensive_care_not_in_intensive_care_since(
        signed_in, store):
    store.admit({"patient_id": "ICU-2", "infusion_time": at_day(-2, 10)}, by="demo.physician")
    store.record_assessment("ICU-2", {"time": at_day(1, 6), "temp_c": 39.1},
                            by="demo.nurse")
    store.record_icu_transfer("ICU-2", at_day(1, 7, 15), by="demo.nurse")
    died_at = at_day(1, 8, 40)
    store.record_assessment("ICU-2", {"time": died_at, "died_of": "icans"},
                            by="demo.physician")
    app = signed_in("physician")
    app.session_state["patient_id"] = "ICU-2"
    app = go(app, "ui/pages/review.py")
    assert not app.exception
    assert (f"died in intensive care: death recorded {shown(died_at)} (cause: ICANS)"
            in texts(app))
    assert "in intensive care since" not in texts(app)


def test_header_state_words():
    from ui.icu import header_state
    t = at_day(1, 6)
    assert header_state({"died_of": None}, t, None, UTC) == ""
    assert header_state({}, t, at_day(1, 2), UTC) == \
        f" · **in intensive care since {shown(at_day(1, 2))}**"
    assert header_state({"died_of": "other"}, t, None, UTC) == \
        f" · **death recorded {shown(t)} (cause: another cause)**"
    assert header_state({"died_of": "crs"}, t, at_day(1, 2), UTC) == \
        f" · **died in intensive care: death recorded {shown(t)} (cause: CRS)**"
