"""The observations-due page (issue 18.15, AppTest): the demo ward's next observations in the
order to work them, clinical clock times, and each item opens the patient's bedside entry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitoring import ward

from .conftest import go, texts

PAGE = "ui/pages/observations_due.py"


def items(at) -> list[str]:
    """The status and patient line of each worklist item, in page order."""
    return [m.value for m in at.markdown if "\n" in m.value and " — " in m.value]


def test_a_nurse_sees_every_patients_next_observations_soonest_first(signed_in):
    at = go(signed_in("nurse"), PAGE)
    assert at.title[0].value == "Observations due"
    shown = items(at)
    assert len(shown) == 10  # five demo patients: vital signs and a neuro assessment each
    # CRS 3 with NEWS2 10: vital signs every 15 minutes, the first due (W16)
    assert "Demo Patient E" in shown[0] and "vital signs · every 15 min (NEWS2 10)" in shown[0]
    assert "neuro assessment · every 8 h" in shown[-1] and "Due at" in shown[-1]
    page = texts(at)
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", page)  # never an ISO time
    assert re.search(r"last \d{2}:\d{2}|last yesterday \d{2}:\d{2}", page)
    assert len([b for b in at.button if b.label == "Chart"]) == 10


def test_an_overdue_patient_goes_to_the_top_saying_how_long_overdue(signed_in, store):
    old = datetime.now(UTC) - timedelta(hours=9, minutes=5)
    store.admit({"patient_id": "DEMO-LATE", "name": "Demo Late (synthetic)", "bed": "9",
                 "is_demo": True, "admitted_at": old}, by="demo.physician")
    ward.save(store, "DEMO-LATE", {"time": old, "temp_c": 36.9, "hr_bpm": 80, "sbp_mmhg": 120,
                                   "dbp_mmhg": 70, "rr_per_min": 16, "spo2_pct": 98,
                                   "o2_device": "room_air", "consciousness": "alert",
                                   "ice_orientation": 4, "ice_naming": 3, "ice_commands": 1,
                                   "ice_writing": 1, "ice_attention": 1}, by="demo.nurse")
    at = go(signed_in("nurse"), PAGE)
    first, second = items(at)[:2]
    assert "Demo Late" in first and "**Overdue 5 h 5 min**" in first  # vitals every 4 h
    assert "Demo Late" in second and "**Overdue 1 h 5 min**" in second  # neuro every 8 h


def test_chart_opens_the_bedside_entry_for_that_patient(signed_in):
    at = go(signed_in("nurse"), PAGE)
    next(b for b in at.button if b.label == "Chart").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Bedside entry"
    assert at.session_state["patient_id"] == "DEMO-005"
    assert at.selectbox(key="entry_patient").value == "DEMO-005"


def test_the_page_is_for_clinical_roles(ward_url):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from .conftest import APP
    for role, name in (("educator", "demo.educator"), ("admin", "demo.admin")):
        at = AppTest.from_file(str(Path(APP).parent / PAGE), default_timeout=60)
        at.session_state["user"] = {"username": name, "display_name": name, "role": role,
                                    "sso": False}
        at.run()
        assert [e.value for e in at.error] == [f"The {role} role cannot open this page."]
        assert not at.button
