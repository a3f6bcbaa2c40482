"""``python -m grading grade --format parquet``: the same fields as JSON, as typed columns.

For research users who load results into pandas, polars or DuckDB: one Parquet file, a row
group per block of rows, in input order. Times are instants (microseconds, with the ward zone
as the column's zone); grades are small integers, null when not evaluable; reasons and flags
are lists of structs with the JSON's keys.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .explain import ROW_TIME, Explainer
from .kernel import NE_GRADE
from .result import STATUSES
from .timeline import GradedTimeline


def schema(tz: str) -> pa.Schema:
    when = pa.timestamp("us", tz=tz)
    reason = pa.struct([("rule", pa.string()), ("finding", pa.string()), ("time", when)])
    flag = pa.struct([("code", pa.string()), ("severity", pa.string()),
                      ("message", pa.string())])
    status = pa.dictionary(pa.int8(), pa.string())
    return pa.schema([
        ("patient_id", pa.string()), ("time", when), ("day_post_infusion", pa.int32()),
        ("crs_grade", pa.int8()), ("crs_status", status), ("crs_reasons", pa.list_(reason)),
        ("crs_episode_max", pa.int8()),
        ("icans_grade", pa.int8()), ("icans_status", status),
        ("icans_reasons", pa.list_(reason)), ("icans_episode_max", pa.int8()),
        ("flags", pa.list_(flag)),
    ])


def write_parquet(out: BinaryIO, g: GradedTimeline, block: int) -> None:
    tz = str(g.assessments.tz)
    sch = schema(tz)
    ex = Explainer(g)
    n = len(g.order)
    with pq.ParquetWriter(out, sch, compression="zstd") as w:
        if n == 0:
            w.write_table(sch.empty_table())
        for lo in range(0, n, block):
            w.write_table(_table(g, ex, np.arange(lo, min(n, lo + block)), sch))


def _table(g: GradedTimeline, ex: Explainer, rows: np.ndarray, sch: pa.Schema) -> pa.Table:
    c, s = g.col, g.sorted_of(rows)
    e = ex.explain(s)
    a = g.assessments
    us = g.order.time_ns // 1000

    def small(values: np.ndarray, blank: np.ndarray, kind: pa.DataType) -> pa.Array:
        return pa.array(np.where(blank, 0, values), kind, mask=blank)

    def status(codes: np.ndarray) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)),
                                              pa.array(list(STATUSES)))

    def reasons(ids: np.ndarray, times: np.ndarray) -> pa.Array:
        row, slot = np.nonzero(ids >= 0)  # row-major: each row's reasons in slot order
        entry = ids[row, slot]
        t = times[row, slot].astype(np.int64)
        t = np.where(t == ROW_TIME, s[row], t)
        rules = pa.array([r for r, _ in ex.reasons] + [""], pa.string())
        findings = pa.array([f for _, f in ex.reasons] + [""], pa.string())
        items = pa.StructArray.from_arrays(
            [rules.take(pa.array(entry)), findings.take(pa.array(entry)),
             pa.array(us[t], pa.timestamp("us", tz=str(a.tz)))],
            fields=list(sch.field("crs_reasons").type.value_type))
        return pa.ListArray.from_arrays(_offsets(row, len(s)), items)

    day = c["day_post_infusion"][s]
    cols = [
        pa.array([a.patients[p] for p in a.columns["patient_id"][rows]], pa.string()),
        pa.array(us[s], pa.timestamp("us", tz=str(a.tz))),
        small(np.nan_to_num(day).astype(np.int32), np.isnan(day), pa.int32()),
        small(c["crs_grade"][s], c["crs_grade"][s] == NE_GRADE, pa.int8()),
        status(c["crs_status"][s]), reasons(e.crs, e.crs_time),
        small(c["episode_max"][s], c["episode_max"][s] < 0, pa.int8()),
        small(c["icans_grade"][s], c["icans_grade"][s] == NE_GRADE, pa.int8()),
        status(c["icans_status"][s]), reasons(e.icans, e.icans_time),
        small(c["icans_episode_max"][s], c["icans_episode_max"][s] < 0, pa.int8()),
        _flags(ex, e.flags, rows, a.soft_flags, sch),
    ]
    return pa.Table.from_arrays(cols, schema=sch)


def _offsets(row: np.ndarray, n: int) -> pa.Array:
    counts = np.bincount(row, minlength=n)
    return pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))


def _flags(ex: Explainer, ids: np.ndarray, rows: np.ndarray,
           soft: dict[int, list[str]], sch: pa.Schema) -> pa.Array:
    row, slot = np.nonzero(ids >= 0)
    flags = [ex.flags[i] for i in ids[row, slot]]
    items = [(int(r), int(k), f.code, f.severity, f.message) for r, k, f in zip(row, slot, flags)]
    lo = int(rows[0]) if len(rows) else 0
    for r in rows:
        for j, m in enumerate(soft.get(int(r), ())):
            items.append((int(r) - lo, ids.shape[1] + j, "soft_limit", "review",
                          m.split(": ", 1)[1]))
    items.sort(key=lambda x: (x[0], x[1]))
    fields = list(sch.field("flags").type.value_type)
    struct = pa.StructArray.from_arrays(
        [pa.array([x[2] for x in items], pa.string()), pa.array([x[3] for x in items],
                                                                 pa.string()),
         pa.array([x[4] for x in items], pa.string())], fields=fields)
    return pa.ListArray.from_arrays(
        _offsets(np.array([x[0] for x in items], np.int64), len(rows)), struct)
