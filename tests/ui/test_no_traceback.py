"""A user never sees a traceback (docs/security.md): a database outage or a failing query
shows a plain message, the details go to the server log."""

from __future__ import annotations

import tomllib

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from monitoring.store import WardStore

from .conftest import APP, ROOT, go, texts

PLAIN = "The ward record cannot be reached at the moment"


def test_streamlit_is_configured_to_show_no_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_tables_on_screen_offer_no_csv_download_that_would_not_be_formula_safe():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


def test_the_sign_in_page_during_a_database_outage_shows_a_plain_message(monkeypatch, caplog):
    # nothing listens on port 1: the connection is refused, as when the server is down
    monkeypatch.setenv("DATABASE_URL", "postgresql://ward:secret@127.0.0.1:1/ward")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert PLAIN in texts(at)
    assert "127.0.0.1" not in texts(at) and "psycopg" not in texts(at)
    assert "Connection refused" in caplog.text  # the details are logged on the server


@pytest.mark.parametrize("page", ["ui/pages/overview.py", "ui/pages/review.py"])
def test_a_query_failing_on_a_page_shows_a_plain_message(signed_in, monkeypatch, page):
    at = signed_in("physician")

    def down(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT secret FROM patients", {}, OSError("gone"))

    monkeypatch.setattr(WardStore, "patients", down)
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert PLAIN in texts(at)
    assert "SELECT" not in texts(at)


def test_pages_still_work_when_the_database_answers(signed_in):
    assert PLAIN not in texts(go(signed_in("physician"), "ui/pages/overview.py"))
