"""The bedside form marks the field a problem names (``Problem.field``), in the field's own
words, and never reads a field out of a message's text (design.md: problems travel as
objects)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grading.parse import Problem
from ui.form import problem_lines, problems_by_field

from .test_pages import entry_for, fill, save_button

FORM = Path(__file__).resolve().parents[2] / "ui" / "form.py"
VITALS = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_per_min", "spo2_pct")  # slot order


def vital_sign_errors(at) -> dict[str, str]:
    """The error under each vital sign: the form's six slots, in order, after the inputs."""
    def blocks(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from blocks(child)

    box = next(b for b in blocks(at.main) if getattr(b, "children", None)
               and getattr(b.children.get(0), "value", None) == "**Vital signs**")
    slots = [box.children[k] for k in sorted(box.children)][2:]
    assert len(slots) == len(VITALS)
    return {name: s.value for name, s in zip(VITALS, slots) if s.type == "error"}


@pytest.mark.parametrize(("values", "marked"), [
    ({"temp_c": 50.0, "hr_bpm": 90},
     {"temp_c": "Temperature 50.0: out of range; allowed: a number from 25 to 45 °C"}),
    ({"sbp_mmhg": 100, "dbp_mmhg": 100},
     {"dbp_mmhg": "Diastolic BP: must be below the systolic pressure"}),
    ({"sbp_mmhg": 120, "dbp_mmhg": 70}, {}),
])
def test_a_bad_vital_sign_is_marked_under_its_own_field(signed_in, values, marked):
    at = entry_for(signed_in, "DEMO-001")
    fill(at, "DEMO-001", **values)
    assert vital_sign_errors(at) == marked
    assert save_button(at, "DEMO-001").disabled == bool(marked)


def test_problems_are_grouped_by_their_field_in_the_fields_words():
    problems = [
        Problem("temp_c", "hard_limit", "out of range; allowed: a number from 25 to 45 °C",
                row=1, value="50"),
        Problem("dbp_mmhg", "cross_field", "must be below the systolic pressure (sbp_mmhg on "
                "the same row)", row=1, value="100", words="must be below the systolic "
                "pressure"),
        Problem(None, "file_format", "the file has a header but no assessment rows"),
        Problem("reason", "too_long", "the reason may have at most 500 characters"),
    ]
    assert problems_by_field(problems) == {
        "temp_c": ["Temperature 50: out of range; allowed: a number from 25 to 45 °C"],
        "dbp_mmhg": ["Diastolic BP: must be below the systolic pressure"],
        "": ["the file has a header but no assessment rows",
             "the reason may have at most 500 characters"]}
    assert problem_lines(problems[1:2]) == ["Diastolic BP: must be below the systolic pressure"]


def test_the_field_comes_from_the_object_even_when_the_text_names_another():
    misleading = Problem("hr_bpm", "hard_limit", "column temp_c: out of range", value="400")
    assert list(problems_by_field([misleading])) == ["hr_bpm"]


def test_the_form_module_parses_no_message_text():
    tree = ast.parse(FORM.read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "re" not in imported and "regex" not in imported
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"re", "regex"}
    pattern_calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Attribute)} & {
        "compile", "match", "fullmatch", "search", "finditer", "findall"}
    assert not pattern_calls
