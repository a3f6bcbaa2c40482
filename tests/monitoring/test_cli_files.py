"""``python -m monitoring`` on bad files and bad databases (issue 14, point 8): exit status 2,
the problem named on stderr, nothing on stdout, nothing written, never a traceback or a hang;
only ``init`` (and the app's embedded default) creates a database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring import cli
from monitoring.db import DatabaseUnavailableError
from monitoring.store import WardStore
from tests.fuzz_files import huge_files, malformed_files, run_in_process

REPO = Path(__file__).resolve().parents[2]
GOOD = "patient_id,time,temp_c\nP1,2026-03-01T08:00,37.0\nP1,2026-03-01T12:00,38.4\n"


def monitoring(*argv: str) -> tuple[int, str, str]:
    return run_in_process(cli.main, *argv)


def refused(result: tuple[int, str, str]) -> str:
    code, stdout, stderr = result
    assert (code, stdout) == (2, ""), result
    assert stderr.strip() and "Traceback" not in stderr, stderr
    return stderr


@pytest.fixture
def ward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised ward database with the nurse n1, as DATABASE_URL."""
    path = tmp_path / "ward.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert monitoring("init")[0] == 0
    assert monitoring("user", "add", "n1", "--role", "nurse")[0] == 0
    return path


def assessments(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM assessments").fetchone()[0]


# ------------------------------------------------------------------------------ import
def test_a_row_with_more_cells_than_the_header_and_a_bad_cell_is_refused_naming_the_row(
        ward: Path, tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text("patient_id,time,temp_c\nP1,2026-03-01T08:00,37.0,extra\n"
                 "P1,2026-03-01T09:00,hot\n")
    stderr = refused(monitoring("import", str(f), "--user", "n1"))
    assert "row 1: 4 cells where the header has 3 columns" in stderr
    assert assessments(ward) == 0


def test_an_import_refuses_a_patient_id_over_64_characters_as_grade_does(
        ward: Path, tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text(f"patient_id,time\n{'P' * 65},2026-03-01T08:00\n")
    stderr = refused(monitoring("import", str(f), "--user", "n1"))
    assert "column patient_id" in stderr and "at most 64 characters (this one has 65)" in stderr
    f.write_text(f"patient_id,time\n{'P' * 64},2026-03-01T08:00\n")
    assert monitoring("import", str(f), "--user", "n1")[0] == 0
    assert assessments(ward) == 1


def test_eighty_malformed_files_import_nothing_or_everything_and_never_a_traceback(
        ward: Path, tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    for name, content in [*malformed_files(80, 21), *huge_files()]:
        f.write_bytes(content)
        before = assessments(ward)
        code, stdout, stderr = monitoring("import", str(f), "--user", "n1")
        assert code in (0, 2), (name, code, stderr[-2000:])
        assert "Traceback" not in stderr, (name, stderr[-2000:])
        if code == 2:
            assert stdout == "" and stderr.strip(), name
            assert max(len(line) for line in stderr.splitlines()) <= 2000, name
            assert assessments(ward) == before, (name, "nothing written")


def test_a_handful_of_bad_imports_through_real_processes(ward: Path, tmp_path: Path) -> None:
    env = os.environ | {"DATABASE_URL": f"sqlite:///{ward}"}
    for name, content in malformed_files(2, 22):
        f = tmp_path / "f.csv"
        f.write_bytes(content)
        r = subprocess.run([sys.executable, "-m", "monitoring", "import", str(f), "--user", "n1"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode in (0, 2) and "Traceback" not in r.stderr, (name, r.stderr[-2000:])


# ------------------------------------------------------------------------------ databases
def test_a_mistyped_database_path_is_refused_and_no_empty_ward_is_created(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "wrad.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    for argv in (("export",), ("audit",), ("demo",), ("user", "add", "x", "--role", "nurse")):
        stderr = refused(monitoring(*argv))
        assert f"{missing}: no ward database here (is DATABASE_URL mistyped?)" in stderr
        assert "python -m monitoring init" in stderr
    assert not missing.exists()
    assert monitoring("init")[0] == 0 and missing.exists()
    assert monitoring("export")[0] == 0


def test_the_app_store_creates_only_the_embedded_default(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError, match="no ward database here"):
        WardStore(f"sqlite:///{tmp_path / 'missing.db'}", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_a_folder_given_as_the_database_is_refused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")
    assert "is a folder, not a ward database file" in refused(monitoring("export"))


def test_a_database_opened_read_only_exports_but_an_import_is_refused_naming_why(
        ward: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "f.csv"
    f.write_text(GOOD)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{ward}?mode=ro&uri=true")
    assert monitoring("export")[0] == 0
    stderr = refused(monitoring("import", str(f), "--user", "n1"))
    assert "attempt to write a readonly database (the file, or its folder, cannot be " \
           "written)" in stderr
    assert assessments(ward) == 0


def damaged_copy(ward: Path, tmp_path: Path, where: str) -> Path:
    with contextlib.closing(sqlite3.connect(ward)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute(  # the assessments' root page holds the few imported rows
            "SELECT rootpage FROM sqlite_master WHERE name = 'assessments'").fetchone()[0]
    copy = tmp_path / f"{where}.db"
    shutil.copy(ward, copy)
    with copy.open("r+b") as f:
        if where == "header":
            f.write(b"this is not a SQLite header")
        else:  # the table's data page, where the imported rows went
            f.seek((root - 1) * page_size + 8)
            f.write(b"\xff" * 64)
    return copy


@pytest.mark.parametrize("where", ["header", "page"])
def test_a_damaged_database_file_is_refused_and_nothing_is_exported(
        ward: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    f = tmp_path / "f.csv"
    f.write_text(GOOD)
    assert monitoring("import", str(f), "--user", "n1")[0] == 0
    copy = damaged_copy(ward, tmp_path, where)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")
    for argv in (("export",), ("audit",), ("import", str(f), "--user", "n1")):
        stderr = refused(monitoring(*argv))
        assert "damaged" in stderr and str(copy) in stderr, stderr


def test_a_postgresql_database_that_does_not_exist_is_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL)")
    monkeypatch.setenv("DATABASE_URL", url.rsplit("/", 1)[0] + "/ward_mistyped_name")
    stderr = refused(monitoring("export"))
    assert "ward_mistyped_name" in stderr and "does not exist" in stderr
    assert ":ward@" not in stderr.replace("***", "")  # the password is never shown
