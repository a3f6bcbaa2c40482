"""The bedside entry form (issue 18.5, 18.9, 18.10), AppTest on the demo ward:

* a number box holds and shows what was typed, and its error names that same value;
* the save confirmation groups the new flags by severity, emergency first, one line a flag,
  with NEWS2 and its points by parameter;
* left at "now", the time follows the clock, so two entries in one minute are both saved; a
  real clash with a recorded assessment says what to do, under the time field.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grading.news2 import PARAMETERS
from monitoring import ward
from ui.common import flags_by_group, news_lines
from ui.form import AS_TYPED

from .conftest import texts
from .test_pages import entry_for, fill, key_of, save_button

VALID = {"temp_c": 37.2, "hr_bpm": 88, "sbp_mmhg": 124, "dbp_mmhg": 76, "rr_per_min": 16}
CSS = Path(__file__).resolve().parents[2] / "ui" / "bedside.css"


def descendants(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from descendants(child)


def keyed_block(at, key: str):
    """The st.container(key=key) block (its id ends with the key)."""
    return next(b for b in descendants(at.main)
                if getattr(getattr(b, "proto", None), "id", "").endswith(key))


def errors_in(block) -> list[str]:
    return [e.value for e in descendants(block) if getattr(e, "type", None) == "error"]


# ------------------------------------------------------------------------------ 18.9
def test_spo2_97_5_is_refused_and_its_box_still_holds_97_5(signed_in, store):
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", **VALID, spo2_pct=97.5)
    box = at.number_input(key=f"{key_of(at, 'DEMO-001')}_spo2_pct")
    assert box.value == 97.5
    assert box.proto.format == "%g"  # the browser shows 97.5, never a rounded "98"
    errors = [e.value for e in at.error]
    assert "SpO2 97.5: not a whole number; allowed: a whole number from 0 to 100 %" in errors
    assert "Correct the values marked above; nothing has been saved." in errors
    assert save_button(at, "DEMO-001").disabled
    assert len(store.history("DEMO-001")) == before


def test_every_number_box_of_the_form_shows_its_value_unrounded(signed_in):
    at = entry_for(signed_in, "DEMO-001")
    at.selectbox(key=f"{key_of(at, 'DEMO-001')}_o2_device").select("nasal_cannula").run()
    formats = {b.label: b.proto.format for b in at.number_input}
    assert "O2 flow (L/min)" in formats and "Temperature (°C)" in formats
    assert set(formats.values()) == {AS_TYPED}


# ------------------------------------------------------------------------------ 18.5
def test_the_confirmation_groups_new_flags_by_severity_with_the_emergency_first(signed_in,
                                                                                store):
    at = entry_for(signed_in, "DEMO-001")  # alert, on room air (the demo ward as it starts)
    fill(at, "DEMO-001", temp_c=39.6, hr_bpm=132, sbp_mmhg=82, dbp_mmhg=48, rr_per_min=28,
         spo2_pct=89)
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    saved = keyed_block(at, "entry_saved_box")
    boxes = [e for e in descendants(saved) if getattr(e, "type", None) in ("error", "warning")]
    # one box per severity: the emergency (red) first, then the urgent ones (amber)
    assert [b.type for b in boxes] == ["error", "warning"]
    emergency, urgent = (b.value for b in boxes)
    assert emergency.startswith("**EMERGENCY: act now** — new flag")
    assert "NEWS2 14\\: respiration rate 3, SpO2 3, air or oxygen 0, systolic BP 3, pulse 3, " \
        "consciousness 0 (alert), temperature 2" in emergency  # by hand, RCP Chart 1
    assert urgent.startswith("**Urgent** — 6 new flags")
    lines = [x for x in urgent.split("\n") if x.startswith("- ")]
    assert len(lines) == 6  # one line a flag
    assert any(x.startswith("- New fever 39.6 °C") for x in lines)
    assert {f["severity"] for f in store.open_flags("DEMO-001")} >= {"emergency", "urgent"}
    news = [m.value.replace("\\:", ":") for m in descendants(saved)  # md() escapes ":"
            if getattr(m, "type", None) == "markdown" and m.value.startswith("**NEWS2 ")]
    # DEMO-001's consciousness (alert) is recorded within 12 h on the demo ward as it starts
    # (W16): a full score, by hand from RCP Chart 1
    assert news == ["**NEWS2 14 — high risk, monitoring continuous (Royal College of "
                    "Physicians 2017)**  \nrespiration rate 3 · SpO2 3 · air or oxygen 0 · "
                    "systolic BP 3 · pulse 3 · consciousness 0 (alert) · temperature 2"]


def test_flags_are_grouped_emergency_first_and_an_unknown_severity_is_kept_last():
    flags = [{"severity": s, "message": m} for s, m in (
        ("info", "a"), ("urgent", "b"), ("odd", "c"), ("emergency", "d"), ("urgent", "e"),
        ("review", "f"))]
    assert [(s, [f["message"] for f in fs]) for s, fs in flags_by_group(flags)] == [
        ("emergency", ["d"]), ("urgent", ["b", "e"]), ("review", ["f"]), ("info", ["a"]),
        ("odd", ["c"])]
    assert flags_by_group([]) == []


class FakeNews:
    total, risk, monitoring, consciousness_why, sedated = 5, "medium", "every hour", "", False
    parts = dict.fromkeys(PARAMETERS, 1) | {"consciousness": 0}
    missing: tuple[str, ...] = ()


def test_news2_is_shown_with_its_points_for_each_parameter():
    head, parts = news_lines(FakeNews())
    assert head == ("NEWS2 5 — medium risk, monitoring every hour (Royal College of "
                    "Physicians 2017)")
    assert parts.split(" · ") == [f"{p} {0 if p == 'consciousness' else 1}"
                                  for p in PARAMETERS]
    child = FakeNews()
    child.total = None
    assert news_lines(child) == ("NEWS2 not scored: it is not for under-16s (RCP 2017).", "")


# ------------------------------------------------------------------------------ 18.10
@pytest.fixture
def clock_at_start_of_a_minute(monkeypatch):
    """The app's clock runs from 10 s into the previous minute: two saves a few seconds apart
    fall in one minute (the record's own future check reads the real clock, still later)."""
    from ui import session
    real_start = datetime.now(UTC)
    base = real_start.replace(second=10, microsecond=0) - timedelta(minutes=1)
    monkeypatch.setattr(session, "now", lambda: base + (datetime.now(UTC) - real_start))
    return base


def test_two_entries_in_one_minute_are_both_saved_and_the_form_takes_the_time_again(
        signed_in, store, clock_at_start_of_a_minute):
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", **VALID, spo2_pct=97)
    save_button(at, "DEMO-001").click().run()
    assert "Saved for" in "".join(s.value for s in at.success)
    k = key_of(at, "DEMO-001")
    minute = clock_at_start_of_a_minute.replace(second=0)
    assert at.time_input(key=f"{k}_time").value == minute.time()  # the fresh form: now again
    time.sleep(1.1)  # the assessment is timed to the second: the next entry a second on
    fill(at, "DEMO-001", temp_c=37.4)
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    assert "Saved for" in "".join(s.value for s in at.success)
    assert not at.error
    times = [h.assessed_at for h in store.history("DEMO-001")[before:]]
    assert len(times) == 2 and times[0] < times[1]
    assert {t.replace(second=0, microsecond=0) for t in times} == {minute}
    assert [r["temp_c"] for r in store.timeline_rows("DEMO-001")[-2:]] == [37.2, 37.4]


CLASH = ("This patient already has an assessment at {when}. To change its values, amend that "
         "assessment on the patient page; to record a new one, change the time.")


def test_a_time_already_charted_is_marked_under_the_time_with_what_to_do(signed_in, store):
    taken = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    ward.save(store, "DEMO-001", {"time": taken, "temp_c": 37.0}, by="demo.nurse")
    before = len(store.history("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    at.date_input(key=f"{k}_date").set_value(taken.date())
    at.time_input(key=f"{k}_time").set_value(taken.time())
    fill(at, "DEMO-001", temp_c=37.3)
    clash = CLASH.format(when=taken.strftime("%d %b %H:%M"))
    assert errors_in(keyed_block(at, f"{k}_bedside_when")) == [clash]
    errors = [e.value for e in at.error]
    assert errors.count(clash) == 1
    assert "Correct the values marked above; nothing has been saved." in errors
    assert not any("duplicate" in e or "row " in e or "DEMO-001" in e for e in errors)
    assert save_button(at, "DEMO-001").disabled
    # changing the time clears it
    at.time_input(key=f"{k}_time").set_value((taken + timedelta(minutes=1)).time())
    at.run()
    assert not at.error and not save_button(at, "DEMO-001").disabled
    assert len(store.history("DEMO-001")) == before


def test_a_clash_arising_between_preview_and_save_is_marked_under_the_time_too(signed_in,
                                                                              store):
    at = entry_for(signed_in, "DEMO-001")
    k = key_of(at, "DEMO-001")
    # a minute of its own: after the demo ward's latest assessment (the demo ward ends now)
    latest = store.timeline_rows("DEMO-001")[-1]["time"]
    when = (datetime.now(UTC) - (datetime.now(UTC) - latest) / 2).replace(second=0,
                                                                          microsecond=0)
    assert when > latest
    at.date_input(key=f"{k}_date").set_value(when.date())
    at.time_input(key=f"{k}_time").set_value(when.time())
    fill(at, "DEMO-001", temp_c=37.3)
    assert not save_button(at, "DEMO-001").disabled
    ward.save(store, "DEMO-001", {"time": when, "temp_c": 37.0}, by="demo.physician")
    before = len(store.history("DEMO-001"))
    save_button(at, "DEMO-001").click().run()
    assert not at.exception
    clash = CLASH.format(when=when.strftime("%d %b %H:%M"))
    assert clash in errors_in(keyed_block(at, f"{k}_bedside_when"))
    assert "Saved for" not in "".join(s.value for s in at.success)
    assert len(store.history("DEMO-001")) == before


# ------------------------------------------------------------------------------ 18.1
def test_the_tablet_style_is_static_css_that_streamlit_keeps_whole():
    css = CSS.read_text(encoding="utf-8")
    # st.html keeps a style-only body out of the page flow; a "<" in it (e.g. "<key>" in a
    # comment) makes it HTML, and the style is then dropped by the sanitiser without a word
    assert "<" not in css
    assert "_bedside_vitals" in css and "@container" in css


# ------------------------------------------------------------------------------ issue 20.1
def test_a_nurse_saves_a_point_of_care_lab_result_from_the_bedside_page(signed_in, store):
    before = len(store.labs("DEMO-001"))
    at = entry_for(signed_in, "DEMO-001")
    at.selectbox(key="entry_lab_test_DEMO-001").select("fibrinogen").run()
    at.selectbox(key="entry_lab_unit_DEMO-001_fibrinogen").select("g/L").run()
    at.text_input(key="entry_lab_value_DEMO-001_0").input("25").run()   # beyond 20 g/L
    assert "fibrinogen 25 g/L is not possible: allowed 0 to 20 g/L" in texts(at)
    assert at.button(key="entry_lab_save_DEMO-001").disabled
    at.text_input(key="entry_lab_value_DEMO-001_0").input("1.2").run()
    assert "Stored as 120 mg/dL (the value as entered is kept too)." in texts(at)
    at.button(key="entry_lab_save_DEMO-001").click().run()
    assert not at.exception
    labs = store.labs("DEMO-001")
    assert len(labs) == before + 1
    new = max(labs, key=lambda x: x["id"])
    assert (new["test"], new["value"], new["entered_unit"], new["recorded_by"]) == (
        "fibrinogen", 120.0, "g/L", "demo.nurse")
    assert "fibrinogen 1.2 g/L taken" in texts(at)
    assert at.text_input(key="entry_lab_value_DEMO-001_1").value == ""   # a fresh form
    assert any(f["code"] == "fibrinogen_low" for f in store.open_flags("DEMO-001"))
