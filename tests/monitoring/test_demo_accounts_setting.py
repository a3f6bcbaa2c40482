"""The demo accounts (public password) sign in only on the embedded demo database: never on
a ward database chosen with DATABASE_URL, whatever WARD_DEMO says (docs/security.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring import settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("env", "allowed"), [
    ({}, True),                                                    # embedded demo file
    ({"WARD_DEMO": "1"}, True),
    ({"WARD_DEMO": "0"}, False),
    ({"DATABASE_URL": "postgresql://ward_app:x@dbhost/ward"}, False),  # WARD_DEMO unset
    ({"DATABASE_URL": "postgresql://ward_app:x@dbhost/ward", "WARD_DEMO": "1"}, False),
    ({"DATABASE_URL": "sqlite:////srv/ward/ward.db"}, False),      # a chosen SQLite file too
])
def test_demo_accounts_sign_in_only_on_the_embedded_demo_database(env, allowed):
    s = settings.load(env)
    assert s.demo_accounts is allowed
    assert s.demo_ward is allowed


def test_the_embedded_database_may_live_in_a_folder_of_its_own(tmp_path):
    """WARD_DATA_DIR moves the embedded file (the browser tests use it): still embedded."""
    out = subprocess.run(
        [sys.executable, "-c", "from monitoring import db, settings; "
         "print(db.DEFAULT_URL); print(settings.load({}).demo_accounts)"],
        cwd=ROOT, env={**os.environ, "WARD_DATA_DIR": str(tmp_path)}, capture_output=True,
        text=True, check=True, timeout=60).stdout.split()
    assert out == [f"sqlite:///{tmp_path / 'ward.db'}", "True"]
