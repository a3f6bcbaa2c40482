"""The output formats of ``python -m grading`` (design.md): JSON and CSV, one result per row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from .summary import PatientSummary
from .timeline import RowResult

GRADE_FIELDS = ("patient_id", "time", "day_post_infusion",
                "crs_grade", "crs_status", "crs_reasons", "crs_episode_max",
                "icans_grade", "icans_status", "icans_reasons", "icans_episode_max", "flags")
LIST_SEPARATOR = "; "


def row_dict(r: RowResult) -> dict[str, object]:
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


def grades_json(results: Iterable[RowResult]) -> str:
    return json.dumps([row_dict(r) for r in results], ensure_ascii=False, indent=1) + "\n"


def grades_csv(results: Iterable[RowResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(GRADE_FIELDS)
    for r in results:
        w.writerow([
            r.patient_id, r.time.isoformat(), _blank(r.day_post_infusion),
            _blank(r.crs.grade), r.crs.status,
            LIST_SEPARATOR.join(x.as_text() for x in r.crs.reasons), _blank(r.crs_episode_max),
            _blank(r.icans.grade), r.icans.status,
            LIST_SEPARATOR.join(x.as_text() for x in r.icans.reasons),
            _blank(r.icans_episode_max), LIST_SEPARATOR.join(f.as_text() for f in r.flags),
        ])
    return buf.getvalue()


SUMMARY_FIELDS = ("patient_id",
                  "crs_max_grade", "crs_onset", "crs_onset_day", "crs_resolved",
                  "crs_time_to_resolution_hours", "crs_episodes",
                  "icans_max_grade", "icans_onset", "icans_onset_day", "icans_resolved",
                  "icans_time_to_resolution_hours", "icans_episodes", "daily_max")


def summary_json(summaries: Iterable[PatientSummary]) -> str:
    return json.dumps([s.as_dict() for s in summaries], ensure_ascii=False, indent=1) + "\n"


def summary_csv(summaries: Iterable[PatientSummary]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUMMARY_FIELDS)
    for s in summaries:
        d = s.as_dict()
        row = []
        for f in SUMMARY_FIELDS:
            v = d[f]
            if f.endswith("_episodes"):
                v = LIST_SEPARATOR.join(
                    f"grade {e['max_grade']} from {e['onset']} (day {_blank(e['onset_day'])})"
                    f" to {e['resolved'] or 'ongoing'}" for e in v)  # type: ignore[union-attr]
            elif f == "daily_max":
                v = LIST_SEPARATOR.join(
                    f"day {x['day']}: CRS {_blank(x['crs_max_grade'])} ICANS "
                    f"{_blank(x['icans_max_grade'])}" for x in v)  # type: ignore[union-attr]
            row.append(_blank(v))
        w.writerow(row)
    return buf.getvalue()


def _blank(v: object) -> object:
    return "" if v is None else v
