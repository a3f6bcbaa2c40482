"""Row-wise reference of the timeline: one plain loop per patient, easy to read against the spec.

It builds the ``Snapshot`` of every row (carry-forward, look-back windows, CRS episode state)
exactly as design.md and spec §0.3 / CRS-R3b describe. The fast path (``timeline`` with
``kernel``) must produce the same snapshots and grades; tests hold the two against each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import rules
from .fields import FIELD_BY_NAME, ICE_ITEMS
from .instants import elapsed, instant, is_after
from .parse import Assessments
from .result import Grade
from .snapshot import (
    ANTICYTOKINE,
    ANTIPYRETIC,
    CORTICOSTEROID,
    TOCILIZUMAB,
    Snapshot,
    hypotension_component,
    hypoxia_component,
    round_temp,
)


def _choice(name: str, code: int) -> str | None:
    return None if code < 0 else FIELD_BY_NAME[name].values[code]


def _choices(name: str, mask: int) -> frozenset[str] | None:
    if mask < 0:
        return None
    return frozenset(v for i, v in enumerate(FIELD_BY_NAME[name].values) if mask >> i & 1)


def _row(df: pd.DataFrame, i: int, tz: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in df.columns:
        f = FIELD_BY_NAME[name]
        v = df[name].iat[i]
        if f.kind == "time":
            out[name] = None if pd.isna(v) else v.tz_convert(tz).to_pydatetime()
        elif f.kind in ("number", "integer"):
            out[name] = None if np.isnan(v) else float(v)
        elif f.kind == "boolean":
            out[name] = None if v < 0 else bool(v)
        elif f.kind == "choice":
            out[name] = _choice(name, int(v))
        elif f.kind == "choices":
            out[name] = _choices(name, int(v))
        else:
            out[name] = str(v)
    return out


def snapshots(a: Assessments) -> list[Snapshot]:
    """The snapshot of every row, in input order."""
    df = a.frame
    rows = [_row(df, i, a.tz) for i in range(len(df))]
    by_patient: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_patient.setdefault(str(r["patient_id"]), []).append(i)
    out: list[Snapshot | None] = [None] * len(rows)
    for idx in by_patient.values():
        idx.sort(key=lambda i: instant(rows[i]["time"]))  # type: ignore[arg-type]
        for i, snap in zip(idx, _patient_snapshots([rows[i] for i in idx])):
            out[i] = snap
    return out  # type: ignore[return-value]


class Course(NamedTuple):
    """What a row adds to the course: its day after infusion and the maximum grade of the
    episode it belongs to so far (None outside an episode)."""

    day_post_infusion: int | None
    crs_episode_max: int | None
    icans_episode_max: int | None


def course(a: Assessments, snaps: Sequence[Snapshot], crs: Sequence[Grade],
           icans: Sequence[Grade]) -> list[Course]:
    """Per row, in input order, from the reference snapshots and their grades: the day after
    infusion (decision S4) and the running episode maxima (CRS-R3b; ICANS decision S1)."""
    df = a.frame
    by_patient: dict[str, list[int]] = {}
    for i, pid in enumerate(df["patient_id"]):
        by_patient.setdefault(str(pid), []).append(i)
    out: list[Course | None] = [None] * len(snaps)
    for idx in by_patient.values():
        idx.sort(key=lambda i: instant(snaps[i].time))
        infusions = [t for t in df["infusion_time"].iloc[idx] if not pd.isna(t)]
        infusion_day = infusions[0].tz_convert(a.tz).date() if infusions else None
        crs_onset: datetime | None = None
        crs_max = icans_max = -1
        icans_last: datetime | None = None
        for i in idx:
            snap, t = snaps[i], snaps[i].time
            day = None if infusion_day is None else (t.date() - infusion_day).days
            crs_grade = -1 if crs[i].grade is None else crs[i].grade
            if snap.episode_open and snap.episode_onset != crs_onset:
                crs_onset, crs_max = snap.episode_onset, -1  # a new CRS episode
            if snap.episode_open:
                crs_max = max(crs_max, crs_grade)
            icans_grade = -1 if icans[i].grade is None else icans[i].grade
            if icans_grade >= 1:
                if icans_last is None or elapsed(t, icans_last) > rules.EPISODE_CLOSES_AFTER:
                    icans_max = -1  # a new ICANS episode
                icans_last = t
            icans_open = (icans_last is not None
                          and elapsed(t, icans_last) <= rules.EPISODE_CLOSES_AFTER)
            if icans_open:
                icans_max = max(icans_max, icans_grade)
            out[i] = Course(day, crs_max if snap.episode_open and crs_max >= 0 else None,
                            icans_max if icans_open and icans_max >= 0 else None)
    return out  # type: ignore[return-value]


class Episode(NamedTuple):
    """One episode as the course summary reports it (decisions S1-S3, S9)."""

    syndrome: str
    onset: datetime
    max_grade: int
    max_grade_time: datetime
    resolved: datetime | None
    closed: bool


def episodes(a: Assessments, snaps: Sequence[Snapshot], crs: Sequence[Grade],
             icans: Sequence[Grade]) -> dict[str, list[Episode]]:
    """Per patient, the CRS then the ICANS episodes from the reference snapshots and grades,
    each resolved at the first assessment after its last active row whose grade is evaluable,
    if that grade is 0 (decision S9), once a later assessment shows it closed."""
    by_patient: dict[str, list[int]] = {}
    for i, pid in enumerate(a.frame["patient_id"]):
        by_patient.setdefault(str(pid), []).append(i)
    out = {}
    for pid, idx in by_patient.items():
        idx.sort(key=lambda i: instant(snaps[i].time))
        runs: dict[str, list[list[int]]] = {"crs": [], "icans": []}
        onset: datetime | None = None
        icans_last: datetime | None = None
        for n, i in enumerate(idx):
            s = snaps[i]
            if s.episode_open:  # CRS-R3b: one episode per onset
                if s.episode_onset != onset:
                    runs["crs"].append([])
                    onset = s.episode_onset
                runs["crs"][-1].append(n)
            g = icans[i].grade
            if g is not None and g >= 1:  # S1: the same 48 h rule for ICANS
                if icans_last is None or elapsed(s.time, icans_last) > rules.EPISODE_CLOSES_AFTER:
                    runs["icans"].append([])
                icans_last = s.time
            if icans_last is not None and elapsed(s.time, icans_last) <= rules.EPISODE_CLOSES_AFTER:
                runs["icans"][-1].append(n)
        found = []
        for syndrome, grades in (("crs", crs), ("icans", icans)):
            for run in runs[syndrome]:
                g = [-1 if grades[idx[n]].grade is None else grades[idx[n]].grade for n in run]
                top = max(g)
                active = [n for n in run if (_crs_active(snaps[idx[n]]) if syndrome == "crs"
                                             else g[run.index(n)] >= 1)]
                closed = run[-1] + 1 < len(idx)
                resolved = None
                for n in range(active[-1] + 1, len(idx)) if closed else ():
                    later = grades[idx[n]].grade
                    if later is not None:
                        resolved = snaps[idx[n]].time if later == 0 else None
                        break
                found.append(Episode(syndrome, snaps[idx[run[0]]].time, top,
                                     snaps[idx[run[g.index(top)]]].time, resolved, closed))
        out[pid] = found
    return out


def _crs_active(s: Snapshot) -> bool:
    """A fever, a hypotension or hypoxia component, or a death from CRS (CRS-R3b, C14), after
    the infusion (C17)."""
    fever = (s.temp_c is not None and round_temp(s.temp_c) >= rules.FEVER_C
             and not s.fever_attributed)
    return not s.before_infusion and (fever or s.died_of == "crs"
                                      or bool(hypotension_component(s)[0])
                                      or bool(hypoxia_component(s)[0]))


def _within(t: datetime, then: datetime | None, window: timedelta) -> bool:
    """Whether ``then`` is at most ``window`` of real time before ``t`` (decision D9)."""
    return then is not None and elapsed(t, then) <= window


def _patient_snapshots(rows: list[dict]) -> list[Snapshot]:
    ages = [r["age_years"] for r in rows if r["age_years"] is not None]
    infusion = next((r["infusion_time"] for r in rows if r["infusion_time"] is not None), None)
    baseline = None
    last: dict[str, tuple[object, datetime, frozenset]] = {}   # input -> (value, time, attrib)
    age = ages[0] if ages else None
    device = flow = vaso = None
    device_time = flow_time = vaso_time = None
    episode_open, onset, last_active, waiver_since, waiver_drug = False, None, None, None, None
    prior_drug = None
    sedated_until: datetime | None = None
    aroused: tuple[str, datetime] | None = None  # the latest ICE > 0 or CAPD (decision N13)
    snaps = []
    for r in rows:
        t: datetime = r["time"]
        # decision C17: a row before the infusion is a baseline observation; a row at or after
        # it never reads one (nothing recorded before the infusion is carried across it)
        before = infusion is not None and is_after(infusion, t)
        since = infusion if infusion is not None and not before else None
        attributed = r["attributed_elsewhere"] or frozenset()
        if r["age_years"] is not None:
            age = r["age_years"]
        ice = None if r["ice_orientation"] is None else int(sum(r[c] for c in ICE_ITEMS))
        for name, value in (("temp", r["temp_c"]), ("spo2", r["spo2_pct"]),
                            ("capd", None if r["capd_total"] is None else int(r["capd_total"])),
                            ("ice", ice), ("consciousness", r["consciousness"]),
                            ("seizure", r["seizure"]), ("motor", r["motor_weakness"]),
                            ("edema", r["cerebral_edema"]), ("icp", r["raised_icp_signs"])):
            if value is not None:
                last[name] = (value, t, attributed)
        if r["sbp_mmhg"] is not None:
            last["bp"] = ((r["sbp_mmhg"], r["dbp_mmhg"]), t, attributed)
        if r["fluid_bolus_given"]:
            last["bolus"] = (True, t, attributed)
        sedated = r["sedated"]
        if sedated is None and (ice is not None or r["capd_total"] is not None
                                or r["consciousness"] is not None):
            sedated = False  # a neuro assessment without the sedated tick is an unsedated one
        if sedated is not None:
            last["sedated"] = (sedated, t, attributed)
        if sedated:
            sedated_until = t  # neuro findings up to here were made under sedation (ICANS-R5)
        if ice:  # an ICE with points, or any CAPD: the patient was arousable (N13)
            aroused = (f"ICE {ice}/10", t)
        elif r["capd_total"] is not None:
            aroused = (f"CAPD {int(r['capd_total'])}", t)
        if ice is not None and infusion is not None and not is_after(t, infusion):
            baseline = ice
        # ongoing support: blank = unchanged; a new device without a flow has no known flow
        if r["o2_device"] is not None:
            if r["o2_device"] != device:
                flow, flow_time = None, None
            device, device_time = r["o2_device"], t
        if r["o2_flow_l_min"] is not None:
            flow, flow_time = r["o2_flow_l_min"], t
        if r["vasopressors"] is not None:
            vaso, vaso_time = r["vasopressors"], t
        drugs = [d for d, given in ((ANTIPYRETIC, r["antipyretic_given"]),
                                    (TOCILIZUMAB, r["tocilizumab_given"]),
                                    (CORTICOSTEROID, r["corticosteroid_given"]),
                                    (ANTICYTOKINE, r["anticytokine_given"])) if given]
        if drugs and drugs != [ANTIPYRETIC]:  # A3: any but an antipyretic alone (C9, C20)
            prior_drug = t

        def recent(name: str, window: timedelta | None, after: datetime | None = None,
                   t: datetime = t, since: datetime | None = since
                   ) -> tuple[object, datetime | None, frozenset]:
            v = last.get(name)
            if (v is None or (window is not None and not _within(t, v[1], window))
                    or (after is not None and not is_after(v[1], after))
                    or (since is not None and is_after(since, v[1]))):
                return None, None, frozenset()
            return v

        temp, temp_time, temp_attr = recent("temp", rules.VITALS_WINDOW)
        bp, bp_time, bp_attr = recent("bp", rules.VITALS_WINDOW)
        _, bolus_time, _ = recent("bolus", rules.VITALS_WINDOW)
        spo2, spo2_time, _ = recent("spo2", rules.VITALS_WINDOW)
        ice_v, ice_time, ice_attr = recent("ice", rules.NEURO_WINDOW, sedated_until)
        capd_v, capd_time, capd_attr = recent("capd", rules.NEURO_WINDOW, sedated_until)
        loc, loc_time, loc_attr = recent("consciousness", rules.NEURO_WINDOW, sedated_until)
        disproved = None
        if (loc == rules.DISPROVED_BY_LATER_ICE_OR_CAPD and aroused is not None
                and loc_time is not None and is_after(aroused[1], loc_time)):
            disproved, loc, loc_time, loc_attr = loc_time, None, None, frozenset()
        sed, sed_time, _ = recent("sedated", rules.NEURO_WINDOW)
        ev = {k: recent(k, None) for k in ("seizure", "motor", "edema", "icp")}
        fever_attr = "fever" in attributed or "fever" in temp_attr
        s = Snapshot(
            time=t, age_years=age, temp_c=temp, temp_time=temp_time, fever_attributed=fever_attr,
            sbp_mmhg=None if bp is None else bp[0], dbp_mmhg=None if bp is None else bp[1],
            bp_time=bp_time,
            hypotension_attributed="hypotension" in attributed,
            bp_attributed="hypotension" in bp_attr,
            fluid_bolus_time=bolus_time, spo2_pct=spo2, spo2_time=spo2_time,
            o2_device=device, o2_flow_l_min=flow,
            o2_time=None if device is None else max((x for x in (device_time, flow_time) if x),
                                                    key=instant),
            hypoxia_attributed="hypoxia" in attributed,
            vasopressors=vaso, vasopressors_time=vaso_time,
            died_of=r["died_of"], ice_total=ice_v, ice_time=ice_time, capd_total=capd_v,
            capd_time=capd_time, consciousness=loc, consciousness_time=loc_time,
            sedated=bool(sed), sedated_time=sed_time if sed else None,
            cognitive_attributed="neuro" in attributed or "neuro" in (
                capd_attr if capd_time is not None and (ice_time is None
                                                        or is_after(capd_time, ice_time))
                else ice_attr),
            consciousness_attributed="neuro" in attributed or "neuro" in loc_attr,
            unarousable_disproved=disproved,
            arousable_shown_by=None if disproved is None or aroused is None else aroused[0],
            arousable_shown_time=None if disproved is None or aroused is None else aroused[1],
            baseline_ice=baseline,
            seizure=ev["seizure"][0], seizure_time=ev["seizure"][1],
            motor_weakness=ev["motor"][0], motor_time=ev["motor"][1],
            cerebral_edema=ev["edema"][0], edema_time=ev["edema"][1],
            raised_icp_signs=ev["icp"][0], icp_time=ev["icp"][1],
            prior_anticytokine_or_steroid=None if since is not None and prior_drug is not None
            and is_after(since, prior_drug) else prior_drug,
            infusion_time=infusion,
        )
        # CRS episode lifecycle (CRS-R3b)
        fever = (temp is not None and round_temp(temp) >= rules.FEVER_C and not fever_attr)
        died_crs = r["died_of"] == "crs"  # part of an episode, opening one (decision C14)
        active = not before and (fever or died_crs or bool(hypotension_component(s)[0])
                                 or bool(hypoxia_component(s)[0]))
        if episode_open and elapsed(t, last_active) > rules.EPISODE_CLOSES_AFTER:
            episode_open, onset, waiver_since, waiver_drug = False, None, None, None
        if not episode_open and (fever or died_crs) and not before:
            episode_open, onset, last_active = True, t, t
        if episode_open:
            if active:
                last_active = t
            if waiver_since is None and drugs:
                waiver_since, waiver_drug = t, " and ".join(drugs)
        snaps.append(replace(s, episode_open=episode_open, episode_onset=onset,
                             waiver_since=waiver_since, waiver_drug=waiver_drug))
    return snaps
