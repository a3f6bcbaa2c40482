"""The output formats of ``python -m grading`` (design.md): JSON and CSV, one result per row.

The ``write_*`` functions write to a text stream as the results come, so a large file is never
held whole in memory; the others return the same text as a string.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from typing import TextIO

from . import csvsafe
from .scales.common import ScaleGrade
from .summary import PatientSummary
from .timeline import RowResult

ScaleRow = Mapping[str, ScaleGrade]

GRADE_FIELDS = ("patient_id", "time", "day_post_infusion",
                "crs_grade", "crs_status", "crs_reasons", "crs_episode_max",
                "icans_grade", "icans_status", "icans_reasons", "icans_episode_max", "flags")
LIST_SEPARATOR = "; "
SCALE_SUFFIXES = ("grade", "status", "estimated", "reasons")


def scale_fields(names: Sequence[str]) -> tuple[str, ...]:
    """The extra fields of ``--scales`` (design.md: named after the scale), in the order given."""
    return tuple(f"{n}_{suffix}" for n in names for suffix in SCALE_SUFFIXES)


def _scale_dict(g: ScaleGrade) -> dict[str, object]:
    return {f"{g.scale}_grade": g.grade, f"{g.scale}_status": g.status,
            f"{g.scale}_estimated": g.estimated,
            f"{g.scale}_reasons": [x.as_dict() for x in g.reasons]}


def row_dict(r: RowResult, scales: ScaleRow | None = None) -> dict[str, object]:
    return _base_dict(r) | {k: v for g in (scales or {}).values()
                            for k, v in _scale_dict(g).items()}


def _base_dict(r: RowResult) -> dict[str, object]:
    return {
        "patient_id": r.patient_id, "time": r.time.isoformat(),
        "day_post_infusion": r.day_post_infusion,
        "crs_grade": r.crs.grade, "crs_status": r.crs.status,
        "crs_reasons": [x.as_dict() for x in r.crs.reasons],
        "crs_episode_max": r.crs_episode_max,
        "icans_grade": r.icans.grade, "icans_status": r.icans.status,
        "icans_reasons": [x.as_dict() for x in r.icans.reasons],
        "icans_episode_max": r.icans_episode_max,
        "flags": [f.as_dict() for f in r.flags],
    }


def grades_json(results: Iterable[RowResult], scales: Iterable[ScaleRow] | None = None) -> str:
    """JSON of ``grade``; ``scales`` (one mapping per row, ``grade_scales``) adds their fields."""
    buf = io.StringIO()
    write_grades_json(buf, results, scales)
    return buf.getvalue()


def write_grades_json(out: TextIO, results: Iterable[RowResult],
                      scales: Iterable[ScaleRow] | None = None) -> None:
    """``grades_json`` written row by row: the same text as one ``json.dumps`` of the list."""
    extra: Iterable[ScaleRow | None] = scales if scales is not None else repeat(None)
    _write_json_array(out, (row_dict(r, x) for r, x in zip(results, extra)))


def _write_json_array(out: TextIO, items: Iterable[object]) -> None:
    """``json.dumps(list(items), ensure_ascii=False, indent=1)`` and a line break, one item at
    a time (JSON strings never hold a raw line break, so each item's lines are indented by one)."""
    first = True
    for item in items:
        text = json.dumps(item, ensure_ascii=False, indent=1).replace("\n", "\n ")
        out.write(("[\n " if first else ",\n ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")


def grades_csv(results: Iterable[RowResult], scales: Iterable[ScaleRow] | None = None) -> str:
    buf = io.StringIO()
    write_grades_csv(buf, results, scales)
    return buf.getvalue()


def write_grades_csv(out: TextIO, results: Iterable[RowResult],
                     scales: Iterable[ScaleRow] | None = None) -> None:
    """``grades_csv`` written row by row."""
    scale_rows: Iterator[ScaleRow] = iter(scales if scales is not None else ())
    first_scales = next(scale_rows, None)
    names = list(first_scales) if first_scales else []
    if first_scales is not None:
        scale_rows = chain([first_scales], scale_rows)
    w = csvsafe.writer(out)  # formula-safe cells (docs/security.md)
    w.writerow((*GRADE_FIELDS, *scale_fields(names)))
    for r, row_scales in zip(results, scale_rows if names else repeat({})):
        extra: list[object] = []
        for name in names:
            g = row_scales[name]
            extra += [_blank(g.grade), g.status, "true" if g.estimated else "false",
                      LIST_SEPARATOR.join(x.as_text() for x in g.reasons)]
        w.writerow([
            r.patient_id, r.time.isoformat(), _blank(r.day_post_infusion),
            _blank(r.crs.grade), r.crs.status,
            LIST_SEPARATOR.join(x.as_text() for x in r.crs.reasons), _blank(r.crs_episode_max),
            _blank(r.icans.grade), r.icans.status,
            LIST_SEPARATOR.join(x.as_text() for x in r.icans.reasons),
            _blank(r.icans_episode_max), LIST_SEPARATOR.join(f.as_text() for f in r.flags),
            *extra,
        ])


SUMMARY_FIELDS = ("patient_id",
                  "crs_max_grade", "crs_onset", "crs_onset_day", "crs_resolved",
                  "crs_time_to_resolution_hours", "crs_episodes",
                  "icans_max_grade", "icans_onset", "icans_onset_day", "icans_resolved",
                  "icans_time_to_resolution_hours", "icans_episodes", "daily_max",
                  "crs_icd10", "icans_icd10")  # the codes added after the design.md fields


def summary_json(summaries: Iterable[PatientSummary]) -> str:
    buf = io.StringIO()
    write_summary_json(buf, summaries)
    return buf.getvalue()


def write_summary_json(out: TextIO, summaries: Iterable[PatientSummary]) -> None:
    _write_json_array(out, (s.as_dict() for s in summaries))


def summary_csv(summaries: Iterable[PatientSummary]) -> str:
    buf = io.StringIO()
    write_summary_csv(buf, summaries)
    return buf.getvalue()


def write_summary_csv(out: TextIO, summaries: Iterable[PatientSummary]) -> None:
    w = csvsafe.writer(out)  # formula-safe cells (docs/security.md)
    w.writerow(SUMMARY_FIELDS)
    for s in summaries:
        d = s.as_dict()
        row = []
        for f in SUMMARY_FIELDS:
            v = d[f]
            if f.endswith("_episodes"):
                v = LIST_SEPARATOR.join(
                    f"grade {e['max_grade']} from {e['onset']} (day {_blank(e['onset_day'])})"
                    f" to {e['resolved'] or _unresolved(e)}"
                    + (f" ({e['icd10']})" if e["icd10"] else "")
                    for e in v)  # type: ignore[union-attr]
            elif f == "daily_max":
                v = LIST_SEPARATOR.join(
                    f"day {x['day']}: CRS {_blank(x['crs_max_grade'])} ICANS "
                    f"{_blank(x['icans_max_grade'])}" for x in v)  # type: ignore[union-attr]
            row.append(_blank(v))
        w.writerow(row)


def _unresolved(episode: Mapping[str, object]) -> str:
    """An episode with no resolution: still open, or closed with no assessment that shows it
    resolved (decision S9)."""
    return "resolution not documented" if episode["closed"] else "ongoing"


def _blank(v: object) -> object:
    return "" if v is None else v
