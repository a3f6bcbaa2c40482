"""The database stays inside the record (issue 17, part 2; docs/record.md "How the code is
split"): only monitoring/record/, monitoring/db.py, monitoring/tables.py and the migrations
import SQLAlchemy; every record module stays short enough to read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT_SQLALCHEMY = ("monitoring/record/", "monitoring/db.py", "monitoring/tables.py",
                         "monitoring/migrations/")
MOST_LINES = 400


def imports_sqlalchemy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names):
            return True
    return False


def app_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "monitoring").rglob("*.py")),
            *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "grading").rglob("*.py"))]


def test_only_the_record_and_the_schema_import_sqlalchemy():
    offenders = [p.relative_to(ROOT).as_posix() for p in app_files()
                 if not p.relative_to(ROOT).as_posix().startswith(MAY_IMPORT_SQLALCHEMY)
                 and imports_sqlalchemy(p)]
    assert offenders == []


def test_the_check_finds_an_import_of_sqlalchemy(tmp_path):
    for text in ("import sqlalchemy as sa\n", "from sqlalchemy.dialects import sqlite\n"):
        (tmp_path / "m.py").write_text(text)
        assert imports_sqlalchemy(tmp_path / "m.py")
    (tmp_path / "m.py").write_text("from .sqlalchemy_free import x\nimport sqlalchemyish\n")
    assert not imports_sqlalchemy(tmp_path / "m.py")


def test_the_in_memory_record_imports_no_sqlalchemy_of_its_own():
    for name in ("memory.py", "memory_record.py", "memory_care.py", "model.py"):
        assert not imports_sqlalchemy(ROOT / "monitoring" / "record" / name), name


def test_no_record_module_is_longer_than_one_sitting():
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines())
               for p in (ROOT / "monitoring" / "record").glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > MOST_LINES} == {}
    assert len((ROOT / "monitoring" / "store.py").read_text().splitlines()) < 50  # a facade
