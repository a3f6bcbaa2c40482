"""What a clinician reads names its source in plain words (issue 18.8): no column name of the
canonical schema, no internal section or decision id and no ISO timestamp on any page, in any
flag, guideline prompt or scale text."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from google.protobuf import text_format

from grading.fields import FIELDS

from .conftest import go

# what must never reach a clinician
_SCHEMA = sorted((f.name for f in FIELDS if "_" in f.name), key=len, reverse=True)
INTERNAL = re.compile(
    r"§|\bspec [A-Z]?\d|\bdecision [A-Z]+\d|\[R\]|\d{4}-\d\d-\d\dT\d"
    r"|\b(?:CRS|ICANS)-R\d"
    r"|\b(?:" + "|".join(map(re.escape, _SCHEMA)) + r")\b")


def internal(text: str) -> list[str]:
    """Each line of ``text`` showing an internal id, a column name or an ISO time."""
    return [line.strip() for line in text.splitlines() if INTERNAL.search(line)]


def page_text(at) -> str:
    """Every string the page sends to the browser: texts, labels, help, options, captions,
    table cells and column names (not the hidden widget ids)."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind in ("arrow_data_frame", "table", "dataframe"):
            frame = node.value
            out.append(" ".join(map(str, frame.columns)))
            out.extend(str(v) for v in frame.astype(str).to_numpy().ravel())
        elif kind == "plotly_chart":  # the labels, titles and hover texts; not the data
            out.append(json.dumps(_words_of(json.loads(node.proto.spec)), ensure_ascii=False))
        elif proto is not None:
            copy = type(proto)()
            copy.CopyFrom(proto)
            for name in ("id", "form_id", "key"):
                if hasattr(copy, name) and isinstance(getattr(copy, name), str):
                    with contextlib.suppress(ValueError):
                        copy.ClearField(name)
            out.append(text_format.MessageToString(copy, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


# plotted positions, not words (ax, ay: where an annotation's arrow starts, a time like x)
PLOTTED = ("x", "y", "z", "x0", "x1", "y0", "y1", "ax", "ay", "range", "template")


def _words_of(spec: Any) -> Any:
    """A plotly figure without its plotted values (x, y) and theme: what a reader sees."""
    if isinstance(spec, dict):
        return {k: _words_of(v) for k, v in spec.items() if k not in PLOTTED}
    if isinstance(spec, list):
        return [_words_of(v) for v in spec]
    return spec


PAGES = [(role, page) for role, pages in {
    "nurse": ("overview", "observations_due", "entry"),
    "physician": ("admission",),
    "educator": ("demo_ward", "teaching", "case_library", "case_builder"),
    "admin": ("users", "fhir_import"),
}.items() for page in pages]
DEMO = ("DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005")


@pytest.mark.parametrize(("role", "page"), PAGES)
def test_no_page_shows_a_column_name_an_internal_id_or_an_iso_time(signed_in, role, page):
    at = signed_in(role)
    at.session_state["patient_id"] = "DEMO-003"
    at = go(at, f"ui/pages/{page}.py")
    assert internal(page_text(at)) == []


@pytest.mark.parametrize("pid", DEMO)
@pytest.mark.parametrize("page", ("review", "patient"))
def test_no_patient_page_shows_a_column_name_an_internal_id_or_an_iso_time(
        signed_in, page, pid):
    at = signed_in("physician")
    at.session_state["patient_id"] = pid
    at = go(at, f"ui/pages/{page}.py")
    shown = page_text(at)
    assert "ASTCT 2019" in shown  # the reasons name their source
    assert internal(shown) == []


def test_the_scanner_finds_each_kind_of_internal_text():
    for text in ("Body temperature (spec §0.1)", "Interpolation off (decision L9)",
                 "cut-offs recalled [R]", "given 2026-03-02T08:00:00+00:00", "CRS-R4 — x",
                 "hr_bpm 120", "see sbp_mmhg"):
        assert internal(text), text
    for text in ("ASTCT 2019: fever is 38.0 °C or more", "given 02 Mar 08:00",
                 "hypotension (ASTCT 2019)", "NEWS2 (RCP 2017)"):
        assert not internal(text), text
