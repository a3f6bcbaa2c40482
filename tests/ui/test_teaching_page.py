"""The teaching page (AppTest): replay steps and a quiz, for educators only."""

from __future__ import annotations

from .conftest import go, texts


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_an_educator_replays_a_case_step_by_step(signed_in):
    at = go(signed_in("educator"), "ui/pages/teaching.py")
    at.selectbox(key="teach_case").select("DEMO-005").run()
    assert "Step **1 of 51**" in texts(at)
    for _ in range(3):
        button(at, "next ▶").click().run()
    assert "Step **4 of 51**" in texts(at)
    button(at, "◀ back").click().run()
    assert "Step **3 of 51**" in texts(at)
    assert not at.exception


def test_a_quiz_step_is_marked_with_the_rule_that_decides_it(signed_in):
    at = go(signed_in("educator"), "ui/pages/teaching.py")
    at.selectbox(key="teach_case").select("DEMO-005").run()
    at.radio(key="teach_mode").set_value("Quiz").run()
    assert button(at, "Check").disabled
    at.radio(key="quiz_crs_DEMO-005_0").set_value("1")
    at.radio(key="quiz_icans_DEMO-005_0").set_value("0").run()
    button(at, "Check").click().run()
    errors = [e.value for e in at.error]
    assert "CRS: you chose 1; the rules give 0." in errors
    assert any(s.value == "ICANS: you chose 0; the rules give 0." for s in at.success)
    assert "**Score: 1 of 2**" in texts(at)
    assert "CRS-R1" in texts(at)


def test_clinical_roles_do_not_get_the_teaching_page(signed_in):
    from ui import session
    assert "teaching" not in session.allowed_pages("nurse")
    assert session.allowed_pages("educator") == ["demo_ward", "teaching"]
