"""Spec §8 cases N1-N4 (NEWS2) as named scenarios; the band-by-band tests are in
``test_news2.py``."""

from __future__ import annotations

from grading import news2

NORMAL = {"rr": 16, "spo2": 97, "on_oxygen": False, "sbp": 120, "pulse": 70,
          "consciousness": "alert", "temp_c": 37.0}


def score(**change: object) -> news2.News2:
    return news2.news2(**(NORMAL | change))  # type: ignore[arg-type]


def test_spec_n1_a_febrile_tachycardic_patient_on_oxygen_scores_8_emergency():
    n = score(rr=22, spo2=95, on_oxygen=True, sbp=105, pulse=112, temp_c=38.0)
    assert list(n.parts.values()) == [2, 1, 2, 1, 2, 0, 0]
    assert (n.total, n.risk, n.monitoring) == (8, "high", "continuous")


def test_spec_n2_new_confusion_alone_is_a_single_red_score_and_hourly():
    n = score(new_confusion=True)
    assert (n.total, n.red, n.monitoring) == (3, True, "hourly")


def test_spec_n3_scale_2_spo2_93_scores_0_on_air_and_1_plus_2_on_oxygen():
    air = score(spo2=93, scale2=True)
    o2 = score(spo2=93, on_oxygen=True, scale2=True)
    assert (air.parts["SpO2"], air.parts["air or oxygen"]) == (0, 0)
    assert (o2.parts["SpO2"], o2.parts["air or oxygen"]) == (1, 2)


def test_spec_n4_38_0_scores_0_and_38_1_scores_1():
    assert (score(temp_c=38.0).parts["temperature"], score(temp_c=38.1).parts["temperature"]) \
        == (0, 1)
