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


def stays_table(app):
    """The stays list (st.table: it wraps at 820 px), as the browser shows its cells."""
    from ui.text import shown as unescaped
    (table,) = [t.value for t in app.table if "Transferred to ICU" in t.value.columns]
    return table.map(lambda cell: unescaped(str(cell)))


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
    frame = stays_table(app)
    assert list(frame["Transferred to ICU"]) == [shown(at_day(0, 14, 30))] * 2
    # the earlier version had no return; it is not still open, so not "not yet"
    assert list(frame["Returned to the ward"]) == [shown(at_day(1, 20, 30)), "none recorded"]
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
    frame = stays_table(app)
    assert list(frame["Status"]) == ["current", "replaced by a later version"]
    assert list(frame["Reason"]) == ["transfer charted an hour early", ""]
    assert frame["Recorded"].iloc[0].endswith(" by demo.physician")
    assert f"ICU stay #{stay} corrected" in texts(app)


def test_a_stay_marked_entered_in_error_stays_listed_and_no_longer_counts(page, store):
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    app = page("nurse")
    app.radio(key=f"icu_action_{stay}").set_value("Mark entered in error").run()
    assert app.button(key=f"icu_eie_{stay}").disabled
    app.text_input(key=f"icu_reason_{stay}").input("wrong patient").run()
    assert app.button(key=f"icu_eie_{stay}").disabled  # a reason alone: the tick is asked too
    assert store.icu_stays(PID) != []
    app.checkbox(key=f"icu_eie_sure_{stay}").check().run()
    app.button(key=f"icu_eie_{stay}").click().run()
    assert not app.exception
    assert store.icu_stays(PID) == []
    frame = stays_table(app)
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
    # the stay's row says so too, never "not yet" returned
    assert list(stays_table(app)["Returned to the ward"]) == ["died in intensive care"]


def test_a_death_in_an_open_stay_is_died_in_intensive_care_on_the_overview_and_review(
        signed_in, store):
    """The overview and the review header agree with the Patient record panel: a patient
    whose death is recorded during the open stay is not "in intensive care since"."""
    store.admit({"patient_id": PID, "infusion_time": at_day(-2, 10)}, by="demo.physician")
    store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    store.record_assessment(PID, {"time": at_day(1, 3, 40), "died_of": "crs"},
                            by="demo.physician")
    died = (f"{PID} ({PID}) (transferred {shown(at_day(0, 9))}, death recorded at "
            f"{shown(at_day(1, 3, 40))})")
    app = go(signed_in("nurse"), "ui/pages/overview.py")
    assert not app.exception
    assert f"{PID} ({PID})" not in icu_caption(texts(app))
    assert died in next(line for line in texts(app).splitlines()
                        if line.startswith("Died in intensive care: "))
    app.session_state["patient_id"] = PID
    app = go(app, "ui/pages/review.py")
    assert not app.exception
    assert (f"died in intensive care: death recorded {shown(at_day(1, 3, 40))} (cause: CRS)"
            in texts(app))
    assert "in intensive care since" not in texts(app)


def test_overview_lines_list_the_living_in_intensive_care_and_the_dead_apart():
    """A transfer charted after the recorded death (C) is listed with the death, to check."""
    from ui.icu import overview_lines
    in_at, died = at_day(0, 9), at_day(1, 3, 40)
    assert overview_lines([], UTC) == []
    assert overview_lines([("A", in_at, None), ("B", in_at, died),
                           ("C", in_at, in_at - timedelta(hours=1))], UTC) == [
        f"In intensive care: A since {shown(in_at)}; C since {shown(in_at)} (but the death "
        f"is recorded at {shown(in_at - timedelta(hours=1))}, before this transfer: check "
        "the record).",
        f"Died in intensive care: B (transferred {shown(in_at)}, death recorded at "
        f"{shown(died)})."]


def test_a_stay_charted_after_a_later_charted_death_is_named_for_correction(page, store):
    """R10: the death is never refused for a stay; the stay that now follows it is shown as
    the entry to correct."""
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    store.record_icu_return(PID, stay, at_day(1, 9), by="demo.nurse")
    store.record_assessment(PID, {"time": at_day(0, 22), "died_of": "crs"},
                            by="demo.physician")
    app = page("physician")
    assert not app.exception
    # markdown escapes; the correction form below says what is wrong with the stay's return
    (error,) = [e.value.replace("\\", "") for e in app.error if "ICU stay #" in e.value]
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


def test_a_short_stay_reads_in_minutes_never_zero_hours():
    from ui.icu import length
    stay = {"transferred_at": at_day(0, 9), "returned_at": None}
    assert length(stay) == ""
    for back, words in ((at_day(0, 9, 1), "1 min"), (at_day(0, 9, 40), "40 min"),
                        (at_day(0, 10), "1 h"), (at_day(0, 10, 29), "1 h"),
                        (at_day(1, 15), "1 d 6 h")):
        assert length(stay | {"returned_at": back}) == words


def test_after_a_recorded_death_the_transfer_time_starts_there_and_a_later_one_is_refused(
        page, store):
    """R10: nothing follows a death; the page says so under the time, naming the field,
    instead of offering a button the record would refuse. A transfer before the death (one
    charted late) can still be recorded."""
    store.record_assessment(PID, {"time": at_day(1, 3, 40), "died_of": "other"},
                            by="demo.physician")
    app = page("nurse")  # the time offered is the death's, to be set: no alarm, no button
    assert not app.error
    assert (f"Death recorded at {shown(at_day(1, 3, 40))}: a transfer to intensive care "
            "charted now must be before it.") in texts(app)
    assert app.button(key=f"icu_in_save_{PID}").disabled
    app = set_when(app, f"icu_in_{PID}_0", at_day(1, 5))
    (error,) = app.error
    assert error.value.replace("\\", "") == (
        f"Transferred to ICU: the patient's death is recorded at {shown(at_day(1, 3, 40))}; "
        "nothing can follow it")
    assert app.button(key=f"icu_in_save_{PID}").disabled
    app = set_when(app, f"icu_in_{PID}_0", at_day(1, 1))
    assert not app.error and not app.button(key=f"icu_in_save_{PID}").disabled
    app.button(key=f"icu_in_save_{PID}").click().run()
    assert not app.exception
    assert "Died in intensive care" in texts(app)
    (stay,) = store.icu_stays(PID)
    assert stay["transferred_at"] == at_day(1, 1)


def test_correcting_a_return_charted_after_the_death_says_to_untick_the_return(page, store):
    """The stay named in red (a return after a death charted later) is corrected on the page:
    a return still after the death is refused before saving with what to do; unticking the
    return saves a stay with none, and the patient then died in intensive care."""
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse",
                                     returned_at=at_day(1, 9))
    store.record_assessment(PID, {"time": at_day(0, 22), "died_of": "crs"},
                            by="demo.physician")
    app = page("physician")
    app.text_input(key=f"icu_reason_{stay}").input("died in ICU, return charted in error").run()
    (error,) = [e.value.replace("\\", "") for e in app.error if "untick" in e.value]
    assert error.startswith(f"Returned to the ward: the patient's death is recorded at "
                            f"{shown(at_day(0, 22))}; nothing can follow it.")
    assert app.button(key=f"icu_fix_save_{stay}").disabled
    app.checkbox(key=f"icu_fix_has_{stay}").uncheck().run()
    assert not app.button(key=f"icu_fix_save_{stay}").disabled
    app.button(key=f"icu_fix_save_{stay}").click().run()
    assert not app.exception
    (now,) = store.icu_stays(PID)
    assert (now["transferred_at"], now["returned_at"]) == (at_day(0, 9), None)
    assert "Died in intensive care" in texts(app) and not [
        e for e in app.error if "ICU stay #" in e.value]


def test_the_educators_demo_ward_lists_the_cases_in_intensive_care_like_the_overview(
        signed_in, store):
    """The demo ward is the educators' overview: the ICANS 3 and CRS 3 cases carry ICU stays
    from their cards, and a death recorded in one reads "died in intensive care" there too."""
    app = go(signed_in("educator"), "ui/pages/demo_ward.py")
    assert not app.exception
    caption = icu_caption(texts(app))
    assert "(DEMO-003)" in caption and "(DEMO-005)" in caption and "(DEMO-001)" not in caption
    since = store.in_icu(["DEMO-005"])["DEMO-005"]
    last = max(h.assessed_at for h in store.history("DEMO-005"))
    died = max(last, since) + timedelta(minutes=1)
    store.record_assessment("DEMO-005", {"time": died, "died_of": "crs"}, by="demo.physician")
    app = go(app, "ui/pages/demo_ward.py")
    assert "(DEMO-005)" not in icu_caption(texts(app))
    assert (f"(DEMO-005) · synthetic demo (transferred {shown(since)}, death recorded at "
            f"{shown(died)})") in texts(app)


def test_the_stays_list_shows_a_typed_reason_literally_and_whole(page, store):
    """The list is a static table (wrapping at 820 px, nothing hidden in a scrolling grid),
    which renders Markdown: a reason shows as typed, never as a link or emphasis."""
    stay = store.record_icu_transfer(PID, at_day(0, 9), by="demo.nurse")
    typed = "**bed 4** [see](http://example.org) # not a heading"
    store.mark_icu_stay_in_error(PID, stay, typed, by="demo.nurse")
    app = page("nurse")
    (raw,) = [t.value for t in app.table if "Reason" in t.value.columns]
    from ui.text import md
    assert raw["Reason"][0] == md(typed)  # every Markdown character escaped
    assert stays_table(app)["Reason"][0] == typed  # as the browser shows it


def test_an_open_stay_charted_after_a_later_charted_death_offers_a_correction_not_a_return(
        page, store):
    """A return after the transfer would follow the death too: none is offered (it could
    only be refused); the page says to correct the stay."""
    store.record_icu_transfer(PID, at_day(1, 9), by="demo.nurse")
    store.record_assessment(PID, {"time": at_day(1, 8), "died_of": "other"},
                            by="demo.physician")
    app = page("nurse")
    assert not app.exception
    assert f"icu_out_save_{PID}" not in {b.key for b in app.button}
    assert "No return to the ward can follow the recorded death: correct this stay" in texts(app)
    assert [e for e in app.error if "ICU stay #" in e.value]  # named in red (R10)


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
