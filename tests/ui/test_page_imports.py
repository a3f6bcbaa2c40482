"""Pages ask the service layer and show what it gives (design.md "Packages and their rooms"):
no page, UI module or app.py imports the record, the tables, the database module or
SQLAlchemy, and none writes to the record except through ``monitoring.services``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("ui/pages/*.py"), ROOT / "app.py"])
FORBIDDEN = ("monitoring.store", "monitoring.tables", "monitoring.record", "monitoring.db",
             "sqlalchemy")
# WardStore methods that change the record: a page calls the service of the same use case.
WRITES = {"record_assessment", "amend_assessment", "mark_entered_in_error",
          "mark_many_entered_in_error", "attribute", "confirm_grade", "add_note", "admit",
          "update_patient", "discharge", "clear_demo_patient", "record_administration",
          "record_administrations", "record_lab", "record_labs",
          "mark_medications_and_labs_entered_in_error", "raise_flag", "acknowledge_flag",
          "acknowledge_flags", "withdraw_flag", "add_user", "set_password", "set_active",
          "sign_in", "sso_sign_in",
          "save_teaching_case", "note", "claim_once", "import_csv", "amend_administration",
          "amend_lab", "mark_administration_in_error", "mark_lab_in_error", "attribute_period",
          "end_attribution_period", "record_icu_transfer", "record_icu_return",
          "amend_icu_stay", "mark_icu_stay_in_error"}


# WardStore reads of what the course model holds (rows, grades, medications, labs, open
# flags): a page draws them from ``monitoring.course.course`` (issue 17.1), never reads them
# itself, so every screen shows the same state of the record.
COURSE_READS = {"timeline_rows", "timeline", "timelines", "administrations", "labs",
                "open_flags"}


def imported_modules(tree: ast.AST) -> list[str]:
    """Every module a file imports, by full name (``from monitoring import store`` counts as
    ``monitoring.store``)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def forbidden_imports(source: str) -> list[str]:
    return [m for m in imported_modules(ast.parse(source))
            if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def direct_writes(source: str) -> list[str]:
    """Calls of a record-writing method on anything but the ``services`` module."""
    return [f"line {n.lineno}: .{n.func.attr}()" for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in WRITES
            and not (isinstance(n.func.value, ast.Name) and n.func.value.id == "services")]


def course_reads(source: str) -> list[str]:
    """Calls of a record read the course model answers, on anything but a course."""
    return [f"line {n.lineno}: .{n.func.attr}()" for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in COURSE_READS]


def test_the_course_check_finds_a_page_reading_the_rows_itself():
    assert course_reads("rows = store.timeline_rows(pid)") == ["line 1: .timeline_rows()"]
    assert course_reads("f = session.store().open_flags(pid)") == ["line 1: .open_flags()"]
    assert course_reads("rows = course(store, pid).rows") == []


def test_the_check_covers_the_pages_the_ui_modules_and_the_app():
    names = {p.relative_to(ROOT).as_posix() for p in UI_FILES}
    assert {"app.py", "ui/session.py", "ui/flags.py", "ui/pages/patient.py",
            "ui/pages/treatments.py",
            "ui/pages/review.py", "ui/pages/admission.py", "ui/pages/case_builder.py"} <= names


@pytest.mark.parametrize("source", [
    "from monitoring.store import StoreError",
    "import monitoring.tables",
    "from monitoring import store",
    "from monitoring import db, services",
    "from monitoring.record.model import PatientIn",
    "import sqlalchemy as sa",
    "from sqlalchemy.orm import Session",
    "def f():\n    from monitoring.db import DatabaseError",
])
def test_the_check_finds_a_forbidden_import_however_it_is_written(source):
    assert forbidden_imports(source)


@pytest.mark.parametrize("source", [
    "from monitoring import services, vocabulary",
    "from monitoring.services import StoreError",
    "from monitoring.ward import ward_overview",
    "import monitoring.storage_helpers",  # a name that only starts like a forbidden one
])
def test_the_check_lets_the_service_layer_and_vocabulary_through(source):
    assert forbidden_imports(source) == []


def test_the_write_check_tells_a_store_write_from_a_service_call():
    assert direct_writes("store.attribute(1, 'fever', 'r', by='drx')") == \
        ["line 1: .attribute()"]
    assert direct_writes("session.store().note('u', 'a', 'e', 1)") == ["line 1: .note()"]
    assert direct_writes("services.attribute(store, 'P1', 1, 'fever', 'r', by='drx')") == []
    assert direct_writes("store.attributions('P1')") == []


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_ui_file_imports_the_store_the_tables_or_sqlalchemy(path):
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_ui_file_writes_to_the_record_except_through_the_services(path):
    assert direct_writes(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_ui_file_reads_rows_treatments_or_open_flags_but_from_the_course(path):
    assert course_reads(path.read_text(encoding="utf-8")) == []
