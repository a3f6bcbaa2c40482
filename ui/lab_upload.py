"""The lab CSV upload on the Medications and labs page (issue 20 point 1; docs/markers.md
"Lab CSV format"): the file is imported whole through ``services.import_labs`` or not at all,
and the page shows "n results imported" or every problem in a table (row, file line, column,
the value as written, what is allowed). Values are shown as text in a table, never as
Markdown or HTML."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from grading.parse import InputError
from monitoring import services
from monitoring.lab_csv import COLUMNS, MAX_BYTES
from ui.text import md

SHOWN = 80  # characters of a value shown in the problems table


def problems_frame(e: InputError) -> pd.DataFrame:
    """Every problem of a refused file, one row each, as a person reads it."""
    def shown(v: str | None) -> str:
        if v is None:
            return ""
        v = v if v.isprintable() else repr(v)[1:-1]
        return v if len(v) <= SHOWN else v[:SHOWN] + "…"
    return pd.DataFrame([{
        "Row": "" if p.row is None else str(p.row),
        "File line": "" if p.row is None else str(p.row + 1),
        "Column": p.field or "", "Value": shown(p.value), "Problem": p.message}
        for p in e.problems])


def import_file(store: services.Ward, data: bytes, by: str, name: str | None = None
                ) -> tuple[str | None, pd.DataFrame | None, str | None]:
    """(what was imported, the problems table, a refusal in words): one of them is set.
    ``name``: the uploaded file's name, kept in the audit trail."""
    try:
        n = services.import_labs(store, data, by=by, file_name=name)
    except InputError as e:
        return None, problems_frame(e), None
    except services.StoreError as e:
        return None, None, str(e)
    return f"{n} lab result{'s' if n != 1 else ''} imported.", None, None


def draw(store: services.Ward, user: dict[str, Any], key: str) -> None:
    """The upload, in an expander: a CSV file of at most 1 MB, imported on a button press."""
    with st.expander("Import lab results from a CSV file"):
        st.caption(f"Columns {', '.join(COLUMNS)}: one result per row; the time with its "
                   "offset from UTC (e.g. 2026-03-01T08:30+01:00); the test by its key or "
                   "LOINC code. The whole file is imported, or nothing when any row has a "
                   f"problem. At most {MAX_BYTES // 1_000_000} MB.")
        n = st.session_state.setdefault(f"{key}_n", 0)
        up = st.file_uploader("Lab CSV file", type=["csv"], key=f"{key}_{n}")
        if st.button("Import the file", key=f"{key}_go", disabled=up is None):
            assert up is not None
            done, problems, refused = import_file(store, up.getvalue(), user["username"],
                                                  up.name)
            if done:
                st.session_state[f"{key}_n"] = n + 1  # an empty upload after an import
                st.session_state["treatments_done"] = done
                st.rerun()
            elif problems is not None:
                st.error(f"Nothing imported: {len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''} in the file. Correct them and "
                         "import the whole file again.", icon=":material/error:")
                st.table(problems, hide_index=True)  # whole messages, wrapped at 820 px
            else:
                st.error(f"Nothing imported: {md(refused)}", icon=":material/error:")
