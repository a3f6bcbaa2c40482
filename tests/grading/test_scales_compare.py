"""The comparison behind the review page's Scales tab: each disagreement with ASTCT explained
by the domain that makes it, in spec §3.7's words (reasons 1-5); agreement explains nothing."""

from __future__ import annotations

from grading.scales.compare import daily_maxima
from grading.scales.rules_text import REASONS
from tests.grading.scale_helpers import DAY_ROWS, INFUSED, adult, compared


def reason(n: int) -> str:
    """How a sentence names the main reason ``n`` the scales differ (Pennisi 2020)."""
    return f"between the scales: {REASONS[n]}; Pennisi 2020"


def why(rows, scale: str) -> str:
    return " ".join(compared(rows)[-1].cells[scale].why)


def test_organ_toxicity_is_reason_1_for_lee_penn_and_cartox_only():
    rows = [adult(0, temp_c=38.6, transaminitis_ctcae_grade=4)]
    last = compared(rows)[-1]
    for name in ("lee2014", "penn", "cartox"):
        assert last.cells[name].direction == "higher"
        assert "Organ toxicity" in why(rows, name) and reason(1) in why(rows, name)
    for name in ("ctcae5", "mskcc"):
        assert not last.cells[name].differs and last.cells[name].why == ()


def test_hypoxia_by_fio2_is_reason_2():
    rows = [adult(0, temp_c=38.6, o2_device="high_flow_nasal_cannula", o2_flow_l_min=40,
                  fio2_pct=35)]
    text = why(rows, "lee2014")
    assert compared(rows)[-1].cells["lee2014"].direction == "lower"
    assert "Hypoxia: ASTCT grades the device and flow" in text and reason(2) in text
    assert "FiO2 recorded 35 %" in text


def test_vasopressors_without_doses_are_reason_3():
    rows = [adult(-1), adult(0, temp_c=38.6, vasopressors="norepinephrine",
                              norepinephrine_ug_min=5, sbp_mmhg=100, dbp_mmhg=60)]
    text = why(rows, "lee2014")
    assert "Vasopressors" in text and reason(3) in text
    assert "hours on vasopressors" not in text
    assert "on vasopressors so far" in why(rows, "mskcc")


def test_no_fever_at_onset_is_reason_4():
    rows = [adult(-1), adult(0, vasopressors="norepinephrine", norepinephrine_ug_min=5,
                             sbp_mmhg=100, dbp_mmhg=60)]
    last = compared(rows)[-1]
    assert last.astct_crs.grade == 0
    assert "needs fever at onset" in why(rows, "ctcae5") and reason(4) in why(rows, "ctcae5")


def test_cres_differences_are_reason_5_domain_by_domain():
    voice = [adult(0, consciousness="awakens_to_voice", cartox_head_of_state=1)]
    assert "CRES has no consciousness domain" in why(voice, "cres")
    seizure = [adult(0, seizure="resolved_rapidly", seizure_type="generalized",
                     cartox_head_of_state=1)]
    assert "generalised seizure in grade 4" in why(seizure, "cres")
    papilloedema = [adult(0, raised_icp_signs="papilledema", papilledema_frisen_stage=1,
                          cartox_head_of_state=1)]
    assert "grades its stage" in why(papilloedema, "cres") and reason(5) in why(papilloedema,
                                                                                 "cres")


def test_penn_counts_iv_therapy_that_astct_does_not_grade():
    assert "IV therapy" in why([adult(0, temp_c=38.6, iv_therapy_given=True)], "penn")


def test_a_not_evaluable_side_is_explained_as_a_status_difference():
    rows = [adult(0, temp_c=None, o2_device="nasal_cannula", o2_flow_l_min=2)]
    cell = compared(rows)[-1].cells["penn"]
    assert cell.direction == "status" and "not evaluable" in " ".join(cell.why)


def test_the_daily_maxima_take_the_highest_grade_of_each_day():
    rows = [adult(0, temp_c=38.6), adult(6, temp_c=38.6, transaminitis_ctcae_grade=4),
            adult(30, temp_c=37.0, transaminitis_ctcae_grade=None)]  # grade 4 stands
    days = daily_maxima(compared(rows))
    assert days == []  # no infusion time: no day after infusion
    with_day = [dict(r, infusion_time="2026-03-01T10:00") for r in rows]
    days = daily_maxima(compared(with_day))
    assert [(d.day, d.maxima["astct_crs"].grade, d.maxima["lee2014"].grade) for d in days] == [
        (1, 1, 3), (2, 0, 3)]


def test_each_days_maximum_keeps_the_status_and_estimate_of_the_rows_that_give_it():
    """The least certain of the rows giving the maximum wins: provisional over final, and
    estimated if any of them is; a day of not-evaluable rows only is not evaluable (X31)."""
    days = {d.day: d.maxima["lee2014"] for d in daily_maxima(compared(DAY_ROWS))}
    assert (days[1].grade, days[1].status, days[1].estimated) == (2, "provisional", True)
    assert (days[2].grade, days[2].status) == (None, "not_evaluable")
    assert (days[3].grade, days[3].status, days[3].estimated) == (2, "final", False)


def test_a_lower_provisional_row_does_not_make_the_days_final_maximum_provisional():
    rows = [adult(0, temp_c=38.6, o2_device="nasal_cannula", **INFUSED),        # 2 prov.
            adult(2, temp_c=38.6, o2_device="venturi_mask", fio2_pct=45, **INFUSED)]  # 3
    (day,) = daily_maxima(compared(rows))
    assert (day.maxima["lee2014"].grade, day.maxima["lee2014"].status) == (3, "final")
