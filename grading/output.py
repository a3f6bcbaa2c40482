"""The output formats of ``python -m grading`` (design.md): JSON and CSV, one result per row."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence

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


def grades_json(results: Iterable[RowResult], scales: Sequence[ScaleRow] | None = None) -> str:
    """JSON of ``grade``; ``scales`` (one mapping per row, ``grade_scales``) adds their fields."""
    rows = list(results)
    extra: Sequence[ScaleRow | None] = scales if scales is not None else [None] * len(rows)
    return json.dumps([row_dict(r, x) for r, x in zip(rows, extra)], ensure_ascii=False,
                      indent=1) + "\n"


def grades_csv(results: Iterable[RowResult], scales: Sequence[ScaleRow] | None = None) -> str:
    rows = list(results)
    names = list(scales[0]) if scales else []
    buf = io.StringIO()
    w = csvsafe.writer(buf)  # formula-safe cells (docs/security.md)
    w.writerow((*GRADE_FIELDS, *scale_fields(names)))
    for i, r in enumerate(rows):
        extra: list[object] = []
        for name in names:
            g = scales[i][name]  # type: ignore[index]
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
    return buf.getvalue()


SUMMARY_FIELDS = ("patient_id",
                  "crs_max_grade", "crs_onset", "crs_onset_day", "crs_resolved",
                  "crs_time_to_resolution_hours", "crs_episodes",
                  "icans_max_grade", "icans_onset", "icans_onset_day", "icans_resolved",
                  "icans_time_to_resolution_hours", "icans_episodes", "daily_max",
                  "crs_icd10", "icans_icd10")  # the codes added after the design.md fields


def summary_json(summaries: Iterable[PatientSummary]) -> str:
    return json.dumps([s.as_dict() for s in summaries], ensure_ascii=False, indent=1) + "\n"


def summary_csv(summaries: Iterable[PatientSummary]) -> str:
    buf = io.StringIO()
    w = csvsafe.writer(buf)  # formula-safe cells (docs/security.md)
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
    return buf.getvalue()


def _unresolved(episode: Mapping[str, object]) -> str:
    """An episode with no resolution: still open, or closed with no assessment that shows it
    resolved (decision S9)."""
    return "resolution not documented" if episode["closed"] else "ongoing"


def _blank(v: object) -> object:
    return "" if v is None else v
