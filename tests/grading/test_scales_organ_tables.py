"""Each scale's organ-toxicity row, cell by cell: organ x CTCAE grade 0-4 -> the scale's grade,
written out from the spec's tables rather than from the code's maps, so a wrong cell fails.

Spec §3.1 (Lee 2014) and §3.5 (CARTOX): grade 1 organ toxicity 1 (decision X8), grade 2 -> 2,
grade 3 -> 3, "grade 4 transaminitis" -> 3, "grade 4 organ toxicity (transaminitis excluded)"
-> 4. Spec §3.3 (Penn): "grade 2 creatinine or grade 3 LFTs" -> 2, "grade 4 LFTs or grade 3
creatinine" -> 3; other organs and a grade 4 other than LFTs as decision X18. CTCAE v5.0 and
MSKCC have no organ criterion. Each row is afebrile, otherwise normal, with the other two
organs recorded as none, so the organ alone sets a final grade.
"""

from __future__ import annotations

import pytest

from tests.grading.scale_helpers import adult, last

ORGANS = ("transaminitis", "creatinine", "other_organ")
#                     CTCAE grade: 0  1  2  3  4
EXPECTED: dict[str, dict[str, tuple[int, ...]]] = {
    "lee2014": {"transaminitis": (0, 1, 2, 3, 3),
                "creatinine": (0, 1, 2, 3, 4),
                "other_organ": (0, 1, 2, 3, 4)},
    "cartox": {"transaminitis": (0, 1, 2, 3, 3),
               "creatinine": (0, 1, 2, 3, 4),
               "other_organ": (0, 1, 2, 3, 4)},
    "penn": {"transaminitis": (0, 0, 0, 2, 3),
             "creatinine": (0, 0, 2, 3, 4),
             "other_organ": (0, 0, 2, 3, 4)},
    "ctcae5": dict.fromkeys(ORGANS, (0, 0, 0, 0, 0)),
    "mskcc": dict.fromkeys(ORGANS, (0, 0, 0, 0, 0)),
}
CELLS = [(scale, organ, ctcae, grades[ctcae])
         for scale, by_organ in EXPECTED.items()
         for organ, grades in by_organ.items()
         for ctcae in range(5)]


def organ_row(organ: str, ctcae: int) -> dict[str, object]:
    organs = {f"{o}_ctcae_grade": 0 for o in ORGANS} | {f"{organ}_ctcae_grade": ctcae}
    return adult(0, temp_c=37.0, **organs)


@pytest.mark.parametrize(("scale", "organ", "ctcae", "expected"), CELLS,
                         ids=[f"{s}-{o}-ctcae{c}" for s, o, c, _ in CELLS])
def test_each_organ_and_ctcae_grade_gives_the_grade_in_the_scales_table(
        scale, organ, ctcae, expected):
    _, s = last([organ_row(organ, ctcae)], (scale,))
    g = s[scale]
    assert (g.grade, g.status) == (expected, "final")


@pytest.mark.parametrize("scale", ["lee2014", "cartox"])
def test_grade_4_transaminitis_is_3_and_grade_4_of_another_organ_is_4(scale):
    """Both in one record: the non-hepatic grade 4 decides (Lee 2014, CARTOX)."""
    _, s = last([adult(0, temp_c=37.0, transaminitis_ctcae_grade=4, creatinine_ctcae_grade=4,
                       other_organ_ctcae_grade=0)], (scale,))
    assert s[scale].grade == 4
    rules = [r.rule for r in s[scale].reasons]
    assert any(r.endswith("-3-ORGAN") for r in rules) and any(r.endswith("-4-ORGAN")
                                                              for r in rules)
