from tests.grading.helpers import at, flag_codes, grade_both, grade_one, normal_adult


def test_source_example_fever_one_vasopressor_low_flow_is_grade_3():
    r = grade_one(temp_c=39.5, vasopressors="norepinephrine", o2_device="nasal_cannula",
                  o2_flow_l_min=2)
    assert (r.crs.grade, r.crs.status) == (3, "final")
    assert "CRS-R4" in [x.rule for x in r.crs.reasons]


def test_waiver_after_tocilizumab_keeps_grading_without_fever():
    rows = [normal_adult(temp_c=38.6, time=at(0)),
            normal_adult(temp_c=38.9, sbp_mmhg=84, dbp_mmhg=50, tocilizumab_given=True,
                         time=at(2)),
            normal_adult(temp_c=37.1, vasopressors="norepinephrine", time=at(6))]
    r = grade_both(rows)
    assert [x.crs.grade for x in r] == [1, 2, 3]
    assert not flag_codes(r[-1])
