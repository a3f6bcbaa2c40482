"""A synthetic cohort in the canonical CSV format, for benchmarks (never real patients).

Each patient: a pre-infusion baseline row, then hourly assessments for ``days`` days; about
two thirds develop CRS (fever, some with hypotension, oxygen, vasopressors, tocilizumab) and a
third ICANS (falling ICE, drowsiness, the odd seizure); children under 12 are assessed with CAPD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cohort(patients: int, days: int = 14, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = days * 24
    per = hours + 1                                   # + the pre-infusion baseline row
    n = patients * per
    p = np.repeat(np.arange(patients), per)
    k = np.tile(np.arange(per), patients)             # 0 = baseline, then hour 1..hours
    infusion = pd.Timestamp("2026-05-04T10:00") + pd.to_timedelta(
        rng.integers(0, 60, patients), unit="D")
    inf = np.asarray(infusion)[p]
    jitter = rng.integers(0, 10, n)                   # minutes: times are not all on the hour
    t = inf + pd.to_timedelta(np.where(k == 0, -120, (k - 1) * 60 + 30 + jitter), unit="m")
    age = np.where(rng.random(patients) < 0.08, rng.integers(3, 18, patients),
                   rng.integers(19, 80, patients)).astype(float)[p]
    child = age < 12

    # CRS: onset hour, duration and peak severity per patient
    has_crs = rng.random(patients) < 0.7
    onset = rng.integers(12, 120, patients)
    length = rng.integers(12, 72, patients)
    severity = rng.choice([1, 2, 3, 4], patients, p=[0.55, 0.3, 0.12, 0.03])
    h = k - 1
    in_crs = (has_crs[p] & (h >= onset[p]) & (h < onset[p] + length[p]) & (k > 0))
    temp = np.round(rng.normal(36.9, 0.25, n), 1)
    temp = np.where(in_crs, np.round(rng.uniform(38.0, 39.8, n), 1), temp)
    sev = np.where(in_crs, severity[p], 0)
    sbp = rng.integers(105, 140, n)
    sbp = np.where(sev >= 2, rng.integers(78, 100, n), sbp)
    dbp = sbp - rng.integers(30, 50, n)
    spo2 = np.where(sev >= 2, rng.integers(90, 96, n), rng.integers(95, 100, n))

    # ongoing support: recorded at the baseline row and where it changes
    device = np.select([sev == 2, sev == 3, sev == 4],
                       ["nasal_cannula", "high_flow_nasal_cannula", "bipap"], "room_air")
    flow = np.select([sev == 2, sev == 3], ["2", "30"], "")
    vaso = np.select([sev == 3, sev == 4], ["norepinephrine", "norepinephrine;vasopressin"],
                     "none")
    first = k == 0
    dev_change = first | (device != np.roll(device, 1))
    vaso_change = first | (vaso != np.roll(vaso, 1))
    flow_col = np.where(dev_change, flow, "")

    crs_start = in_crs & ~np.roll(in_crs, 1)
    toci = crs_start & (severity[p] >= 2)
    bolus = crs_start & (severity[p] >= 2)
    antipyretic = in_crs & (h % 6 == 0)

    # ICANS after CRS in some patients: ICE dips every 8 h, drowsiness, the odd seizure
    has_icans = has_crs & (rng.random(patients) < 0.45)
    i_on = onset + length // 2 + rng.integers(24, 96, patients)
    i_len = rng.integers(24, 120, patients)
    in_icans = has_icans[p] & (h >= i_on[p]) & (h < i_on[p] + i_len[p]) & (k > 0)
    neuro = first | (h % 8 == 0)
    ice_total = np.where(in_icans, rng.integers(1, 10, n), 10)
    items = _ice_items(ice_total)
    loc = np.where(in_icans & (ice_total < 5), "awakens_to_voice", "alert")
    seizure = np.where(in_icans & (rng.random(n) < 0.01), "resolved_rapidly", "")
    capd = np.where(in_icans, rng.integers(3, 14, n), rng.integers(0, 4, n))

    ids = np.array([f"BENCH-{i:05d}" for i in range(patients)])
    iso = pd.DatetimeIndex(t).strftime("%Y-%m-%dT%H:%M")
    df = pd.DataFrame({
        "patient_id": ids[p], "time": np.asarray(iso),
        "age_years": age.astype(int),
        "infusion_time": np.asarray(pd.DatetimeIndex(inf).strftime("%Y-%m-%dT%H:%M")),
        "temp_c": temp, "hr_bpm": rng.integers(60, 125, n), "sbp_mmhg": sbp, "dbp_mmhg": dbp,
        "rr_per_min": rng.integers(12, 26, n), "spo2_pct": spo2,
        "o2_device": np.where(dev_change, device, ""), "o2_flow_l_min": flow_col,
        "vasopressors": np.where(vaso_change, vaso, ""),
        "antipyretic_given": np.where(antipyretic, "true", ""),
        "tocilizumab_given": np.where(toci, "true", ""),
        "fluid_bolus_given": np.where(bolus, "true", ""),
    })
    adult_neuro = neuro & ~child
    for name, v in items.items():
        df[name] = np.where(adult_neuro, v.astype(str), "")
    df["capd_total"] = np.where(neuro & child, capd.astype(str), "")
    df["consciousness"] = np.where(neuro, loc, "")
    df["seizure"] = np.where(neuro & (seizure != ""), seizure, np.where(first, "none", ""))
    return df


def _ice_items(total: np.ndarray) -> dict[str, np.ndarray]:
    left = total.copy()
    out = {}
    for name, top in (("ice_orientation", 4), ("ice_naming", 3), ("ice_commands", 1),
                      ("ice_writing", 1), ("ice_attention", 1)):
        out[name] = np.minimum(top, left)
        left = left - out[name]
    return out
