"""The ward overview page (issue 18, items 2, 4 and 6): the acuity columns first and alone,
the most severe open flag shown and sorted by, and right after a save the open flags it shows
are the record's (AppTest on a copy of the demo ward)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitoring import ward

from .conftest import patient_ids

FULL = {"temp_c": 37.0, "hr_bpm": 80, "sbp_mmhg": 120, "dbp_mmhg": 70, "rr_per_min": 16,
        "spo2_pct": 97, "consciousness": "alert", "ice_orientation": 4, "ice_naming": 3,
        "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}
DEMO = ("DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def only(store, *patients: tuple[str, str]) -> None:
    """The ward holds just these (id, bed) patients: the demo ward discharged."""
    for pid in DEMO:
        store.discharge(pid, by="demo.physician")
    for pid, bed in patients:
        store.admit({"patient_id": pid, "bed": bed,
                     "infusion_time": now() - timedelta(days=1)}, by="demo.physician")


def save(store, pid: str, minutes_ago: int, **values) -> None:
    ward.save(store, pid, {"time": now() - timedelta(minutes=minutes_ago), **values},
              by="demo.nurse")


def shown_count(cell: str) -> int:
    """How many open flags a Flags cell says: none, one, or one '(+n more)'."""
    if not cell:
        return 0
    more = re.search(r"\(\+(\d+) more\)$", cell)
    return 1 + (int(more.group(1)) if more else 0)


def rows(at) -> dict[str, dict]:
    frame = at.table[0].value
    return dict(zip(patient_ids(frame), frame.to_dict("records")))


def test_the_acuity_columns_come_first_and_alone_with_the_details_behind(signed_in):
    at = signed_in("nurse")
    assert list(at.table[0].value.columns) == ["Bed", "Patient", "CRS", "ICANS", "NEWS2",
                                               "Flags", "Next obs"]
    details = at.dataframe[0].value
    assert {"Day", "Last obs", "Temp °C", "BP", "O2 / pressors", "Max CRS / ICANS",
            "ID"} <= set(details.columns)
    assert list(details["ID"]) == patient_ids(at.table[0].value)  # the same order


def test_the_flags_cell_shows_the_most_severe_flag_and_patients_sort_by_it(signed_in,
                                                                          store):
    only(store, ("A", "2"), ("B", "1"), ("C", "3"), ("D", "4"))
    for pid in ("A", "B", "C", "D"):
        save(store, pid, 360 if pid in "AB" else 5, **FULL)  # A, B: vital signs 2 h overdue
    save(store, "C", 2, **{**FULL, "temp_c": 38.5})  # C: a new fever, CRS 1
    for pid in ("A", "D"):  # an informational flag, newer than anything else
        store.raise_flag(pid, "retro", "info", "Retrospective: a past change", now())
    at = signed_in("nurse")
    shown = rows(at)
    assert list(shown) == ["C", "B", "A", "D"]  # urgent + CRS 1, urgent (by bed), info
    assert shown["A"]["Flags"].startswith("URGENT: Vital signs overdue since ")
    assert shown["A"]["Flags"].endswith("(+2 more)")  # the overdue info flag, the newer one
    assert shown["D"]["Flags"] == "info: Retrospective"
    assert shown["C"]["Flags"].startswith("URGENT: New fever 38.5 °C")
    for pid, row in shown.items():
        assert shown_count(row["Flags"]) == len(store.open_flags(pid))


def test_right_after_a_save_the_overview_counts_the_open_flags_the_record_holds(signed_in,
                                                                              store):
    """Overdue flags closed while the page is drawn (the observations were recorded) are not
    shown as still open (issue 18, item 6)."""
    only(store, ("P", "1"))
    save(store, "P", 360, **FULL)
    ward.raise_overdue(store, ward.ward_overview(store, now()), now())  # an earlier refresh
    assert len(store.open_flags("P")) == 2  # vital signs overdue, and more than 60 min late
    save(store, "P", 1, **FULL)  # the nurse records them
    at = signed_in("nurse")  # the overview is the landing page
    assert store.open_flags("P") == []  # closed by the system while the page was drawn
    assert rows(at)["P"]["Flags"] == ""


def test_open_emergencies_are_one_box_with_one_line_per_patient_above_the_table(signed_in,
                                                                               store):
    """Three patients, two in shock (CRS 3: emergency flags), one well: one red box, a line
    per patient in shock naming bed and patient, the further emergencies counted, long
    messages cut at a word; the table still lists all three."""
    only(store, ("P-1", "1"), ("P-2", "2"), ("P-3", "3"))
    shock = {**FULL, "temp_c": 38.6, "hr_bpm": 118, "sbp_mmhg": 80, "dbp_mmhg": 45,
             "rr_per_min": 24, "vasopressors": "norepinephrine"}
    save(store, "P-1", 30, **shock)
    save(store, "P-2", 20, **FULL)
    save(store, "P-3", 10, **shock)
    at = signed_in("nurse")
    assert len(at.error) == 1
    box = at.error[0].value
    head, *lines = box.split("\n")
    assert head == "**EMERGENCY** on 2 patients"
    # the overview's order: the same flags and grades, so by bed
    assert [line.split(":")[0] for line in lines if line] == ["- bed 1 · P-1", "- bed 3 · P-3"]
    emergencies = [f for f in store.open_flags("P-1") if f["severity"] == "emergency"]
    assert len(emergencies) >= 2
    p1 = next(line for line in lines if "P-1" in line)
    assert p1.endswith(f"(+{len(emergencies) - 1} more emergency flag"
                       f"{'s' if len(emergencies) > 2 else ''})")
    assert all(len(line) < 220 for line in lines)
    assert len(rows(at)) == 3


def test_a_patient_whose_death_is_recorded_has_no_observations_due_and_no_overdue_flag(
        signed_in, store):
    """Decision S12 on the overview: "Next obs" says the death, not OVERDUE, and the ICU lines
    say the patient died there."""
    only(store, ("P", "1"), ("Q", "2"))
    save(store, "P", 360, **FULL)
    save(store, "Q", 360, **FULL)
    store.record_icu_transfer("P", now() - timedelta(hours=2), by="demo.nurse")
    died = now() - timedelta(minutes=30)
    save(store, "P", 30, died_of="crs")
    at = signed_in("nurse")
    shown = rows(at)
    assert shown["P"]["Next obs"] == f"none: death recorded {died:%d %b %H:%M}"
    assert not [f for f in store.open_flags("P") if f["code"].startswith("overdue")]
    assert "overdue" not in shown["P"]["Flags"].lower()  # the grade 5 flag stays (a rise)
    assert shown["Q"]["Next obs"].startswith("OVERDUE: vital signs")  # alive: still chased
    # listed under "Died in intensive care", no longer "In intensive care" (R10)
    assert not [c.value for c in at.caption if c.value.startswith("In intensive care: ")]
    (line,) = [c.value for c in at.caption if c.value.startswith("Died in intensive care: ")]
    assert f"(transferred {(now() - timedelta(hours=2)):%d/%m/%Y %H:%M}, death recorded at " \
        f"{died:%d/%m/%Y %H:%M})" in line
