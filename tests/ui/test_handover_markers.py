"""The marker course in the SBAR handover (issue 20 point 3): baseline, peak or lowest after
infusion with its day, change from baseline and latest, in ward words; the note on IL-6 after
tocilizumab; corrections respected."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from monitoring.review import patient_review
from monitoring.store import WardStore
from ui.handover import day_words, handover_html

INFUSION = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
LYMPHODEPLETION = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def day(n: int, hour: int = 6) -> datetime:
    return datetime(2026, 3, 6, hour, 0, tzinfo=UTC) + timedelta(days=n)


def ward(lymphodepletion: datetime | None = LYMPHODEPLETION) -> WardStore:
    s = WardStore.in_memory("UTC")
    s.add_user("nina", "nurse")
    s.add_user("drx", "physician")
    s.admit({"patient_id": "P1", "infusion_time": INFUSION,
             "lymphodepletion_at": lymphodepletion}, by="drx")
    s.record_assessment("P1", {"time": day(2, 15), "temp_c": 39.1, "hr_bpm": 118,
                               "sbp_mmhg": 96, "dbp_mmhg": 58}, by="nina")
    return s


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"(\s*<[^>]+>\s*)+", " | ", page))


def markers_part(page: str) -> str:
    return text_of(page.split("<p>Markers")[1].split("</table>")[0])


def sbar(s: WardStore) -> str:
    rv = patient_review(s, "P1")
    return handover_html(rv, day(3), "drx", [], with_chart=False)


def test_the_handover_shows_each_markers_baseline_peak_day_fold_and_latest():
    s = ward()
    s.record_labs("P1", [("il6", 6.2, "pg/mL", LYMPHODEPLETION - timedelta(hours=2)),
                         ("il6", 1850, "pg/mL", day(2, 14)),
                         ("il6", 410, "pg/mL", day(2, 20)),
                         ("crp", 8, "mg/L", LYMPHODEPLETION - timedelta(days=1)),
                         ("crp", 217, "mg/L", day(2, 14)),
                         ("fibrinogen", 3.8, "g/L", LYMPHODEPLETION - timedelta(hours=3)),
                         ("fibrinogen", 0.95, "g/L", day(2, 14))], by="drx")
    part = markers_part(sbar(s))
    assert "IL-6 | 6.2 pg/mL (01/03/2026 07:00, before lymphodepletion)" in part
    assert "peak 1850 pg/mL (08/03/2026 14:00, Day +2) | 298× baseline" in part
    assert "410 pg/mL (08/03/2026 20:00, Day +2)" in part
    # CRP entered in mg/L, shown in its canonical mg/dL (spec §6.3)
    assert "CRP | 0.8 mg/dL (28/02/2026 09:00, before lymphodepletion)" in part
    assert "peak 21.7 mg/dL (08/03/2026 14:00, Day +2) | 27.1× baseline" in part
    # fibrinogen: its danger is a fall, so the extreme shown is the lowest
    assert "Fibrinogen | 380 mg/dL" in part
    assert "lowest 95 mg/dL (08/03/2026 14:00, Day +2) | 0.25× baseline" in part
    assert part.index("IL-6") < part.index("CRP") < part.index("Fibrinogen")  # table order


def test_without_a_lymphodepletion_start_the_baseline_says_before_infusion():
    s = ward(lymphodepletion=None)
    s.record_labs("P1", [("ferritin", 500, "ng/mL", day(-1)),
                         ("ferritin", 4200, "ng/mL", day(2))], by="drx")
    part = markers_part(sbar(s))
    assert "Ferritin | 500 ng/mL (05/03/2026 06:00, before infusion)" in part
    assert "peak 4200 ng/mL (08/03/2026 06:00, Day +2) | 8.4× baseline" in part


def test_a_marker_without_a_baseline_says_so_instead_of_a_fold_change():
    s = ward()
    s.record_lab("P1", "ldh", 640, "U/L", day(1), by="drx")
    part = markers_part(sbar(s))
    assert "LDH | none before lymphodepletion or infusion | peak 640 U/L" in part
    assert "| no baseline |" in part


def test_an_entered_in_error_result_is_not_the_peak_and_an_amended_one_shows_amended():
    s = ward()
    s.record_lab("P1", "il6", 5, "pg/mL", LYMPHODEPLETION - timedelta(hours=1), by="drx")
    wrong = s.record_lab("P1", "il6", 90000, "pg/mL", day(2), by="drx")
    typo = s.record_lab("P1", "il6", 20, "pg/mL", day(2, 12), by="drx")
    s.mark_lab_in_error("P1", wrong, "another patient's sample", by="drx")
    s.amend_lab("P1", typo, 200, "pg/mL", day(2, 12), "typed 20 for 200", by="drx")
    part = markers_part(sbar(s))
    assert "90000" not in part and "peak 200 pg/mL (08/03/2026 12:00, Day +2)" in part
    assert "40× baseline" in part


def test_il6_after_a_tocilizumab_dose_carries_the_receptor_blockade_note():
    s = ward()
    s.record_lab("P1", "il6", 300, "pg/mL", day(2, 12), by="drx")
    assert "tocilizumab blocks the IL-6" not in sbar(s)
    s.record_administration("P1", "tocilizumab", day(2, 13), by="drx", dose=560)
    assert "IL-6 measured after" not in sbar(s)  # the IL-6 came before the dose
    s.record_lab("P1", "il6", 2400, "pg/mL", day(2, 20), by="drx")
    page = text_of(sbar(s))
    assert "tocilizumab blocks the IL-6 receptor" in page and "Nishimoto" in page


def test_no_labs_says_so_in_one_line():
    assert "Markers: no laboratory results recorded." in sbar(ward())


def test_the_day_after_infusion_reads_day_plus_n():
    assert [day_words(d) for d in (-5, 0, 3, None)] == ["Day -5", "Day 0", "Day +3", ""]
