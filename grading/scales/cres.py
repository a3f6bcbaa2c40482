"""CARTOX-10 and CRES (CAR-T-cell-related encephalopathy syndrome) neurotoxicity, spec §3.6.

Source: Neelapu SS, Tummala S, Kebriaei P, et al. Chimeric antigen receptor T-cell therapy -
assessment and management of toxicities. Nat Rev Clin Oncol. 2018;15(1):47-62.

CARTOX-10 = orientation to year, month, city, hospital **and the head of state** (5) + naming 3
objects (3) + writing a sentence (1) + counting back from 100 in tens (1); ICE's "follows
commands" is not part of it. CRES = the most severe of three domains: the CARTOX-10 score,
raised intracranial pressure, seizures / motor weakness. CRES has no consciousness domain; an
unarousable (obtunded) patient cannot be assessed and is grade 4. Decisions X23-X30.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..result import Reason
from .common import Criterion, Domain, ScaleGrade, table
from .inputs import ScaleInputs

SCALE = "cres"
TITLE = "CRES (CARTOX-10)"
SOURCE = ("Neelapu SS, Tummala S, Kebriaei P, et al. Chimeric antigen receptor T-cell therapy - "
          "assessment and management of toxicities. Nat Rev Clin Oncol. 2018;15:47-62")

CARTOX10_MAX = 10
# CARTOX-10 score -> CRES grade, as (lowest score, highest score, grade). Grade 3 is 0-2 as the
# original is recalled (one secondary source prints 0-1): the band that flags more (X24).
CARTOX10_BANDS: tuple[tuple[int, int, int], ...] = ((10, 10, 0), (7, 9, 1), (3, 6, 2), (0, 2, 3))
PAPILLEDEMA_STAGE_GRADE = {1: 3, 2: 3, 3: 4, 4: 4, 5: 4}   # modified Frisén stage -> CRES grade
# CSF opening pressure -> CRES grade, as (lowest mmHg, below mmHg, grade). The table's grade 3
# reads "< 20 mmHg"; X26 starts it at 15, just above the usual upper limit of 20 cmH2O
# (14.7 mmHg), and a value below 15 is shown with that rule and left to a clinician.
CSF_BANDS: tuple[tuple[float, float, int], ...] = (
    (0.0, 15.0, 0), (15.0, 20.0, 3), (20.0, float("inf"), 4))
CSF_LITERAL_GRADE_3 = "< 20 mmHg"   # spec §3.6 as printed (unverified, spec §9.4)

CRITERIA = table((
    Criterion("CRES-1-SCORE", 1, "CARTOX-10 7-9 (mild)"),
    Criterion("CRES-2-SCORE", 2, "CARTOX-10 3-6 (moderate)"),
    Criterion("CRES-3-SCORE", 3, "CARTOX-10 0-2 (severe)"),
    Criterion("CRES-4-SCORE", 4, "obtunded, cannot be assessed"),
    Criterion("CRES-3-ICP", 3, "papilloedema stage 1-2, or CSF opening pressure raised but "
                               "< 20 mmHg"),
    Criterion("CRES-4-ICP", 4, "papilloedema stage 3-5, CSF opening pressure >= 20 mmHg, or "
                               "cerebral oedema"),
    Criterion("CRES-3-SEIZURE", 3, "partial (focal) seizure, or non-convulsive seizures on EEG "
                                   "responding to benzodiazepine"),
    Criterion("CRES-4-SEIZURE", 4, "generalised seizure, or convulsive or non-convulsive "
                                   "status epilepticus"),
    Criterion("CRES-4-MOTOR", 4, "new motor weakness"),
    Criterion("CRES-5", 5, "death"),
))
SCORE_CRITERION = {0: None, 1: "CRES-1-SCORE", 2: "CRES-2-SCORE", 3: "CRES-3-SCORE"}


def score_grade(score: int) -> int:
    for low, high, grade in CARTOX10_BANDS:
        if low <= score <= high:
            return grade
    raise ValueError(f"CARTOX-10 {score} is outside 0-10")


def csf_grade(mmhg: float) -> int:
    for low, below, grade in CSF_BANDS:
        if low <= mmhg < below:
            return grade
    raise ValueError(f"CSF opening pressure {mmhg} mmHg is below 0")


def cartox10(items: dict[str, int], head_of_state: int | None) -> tuple[int, bool]:
    """CARTOX-10 from the ICE items and the head-of-state point; (score, estimated).

    Without the head-of-state point (an ICE-only record) it is estimated: counted when the
    patient was fully oriented on the other four questions, missed otherwise (X25)."""
    head = head_of_state
    estimated = head is None
    if head is None:
        head = 1 if items["ice_orientation"] == 4 else 0
    score = (items["ice_orientation"] + head + items["ice_naming"] + items["ice_writing"]
             + items["ice_attention"])
    return score, estimated


def _criterion_reason(cid: str, finding: str, when: object) -> Reason:
    c = CRITERIA[cid]
    return Reason(c.id, f"{finding} -> {c.text}: grade {c.grade}", when)  # type: ignore[arg-type]


def score_domain(x: ScaleInputs) -> Domain:
    s = x.astct
    if s.sedated:
        return Domain("cartox10", None, 4, missing="CARTOX-10 (sedated: cannot be assessed; "
                      "CRES's 'critically ill, cannot be assessed' would be grade 4 - a "
                      "clinician decides, the ward's reading)")
    if s.consciousness == "unarousable" and not s.consciousness_attributed:
        assert s.consciousness_time is not None
        return Domain("cartox10", 4, 4, (_criterion_reason(
            "CRES-4-SCORE", "unarousable", s.consciousness_time),))
    if x.capd_used or x.ice_items is None:
        missing = ("CARTOX-10 (a CAPD is recorded: paediatric CRES is not implemented, "
                   "the ward's reading)" if x.capd_used else "CARTOX-10 (or ICE) in the last 12 h")
        return Domain("cartox10", None, 4, missing=missing)
    score, estimated = cartox10(x.ice_items, x.head_of_state)
    grade = score_grade(score)
    assert s.ice_time is not None
    how = (" (estimated: head-of-state question not recorded, counted as "
           f"{'answered' if x.ice_items['ice_orientation'] == 4 else 'missed'} from the other "
           "orientation answers)" if estimated else "")
    finding = f"CARTOX-10 {score}/10{how}"
    if grade and s.cognitive_attributed:
        return Domain("cartox10", 0, 4, (Reason("CRES attributed", f"{finding} attributed to "
                                                "another cause: not counted", s.ice_time),))
    cid = SCORE_CRITERION[grade]
    reasons = (_criterion_reason(cid, finding, s.ice_time),) if cid else (
        Reason("CRES-0-SCORE", f"{finding}: no encephalopathy", s.ice_time),)
    alternatives: tuple[int, ...] = ()
    if estimated:
        low = score - (1 if x.ice_items["ice_orientation"] == 4 else 0)
        alternatives = tuple(sorted({score_grade(low), score_grade(low + 1)}))
    return Domain("cartox10", grade, 4, reasons, alternatives=alternatives)


def icp_domain(x: ScaleInputs) -> Domain:
    s = x.astct
    grade, reasons, pending = 0, [], []
    recorded = any(v is not None for v in (s.raised_icp_signs, s.cerebral_edema,
                                           x.csf_opening_pressure))
    signs = s.raised_icp_signs or frozenset()
    if "papilledema" in signs:
        assert s.icp_time is not None
        stage = x.papilledema_stage
        if stage is None:
            grade = 3
            reasons.append(_criterion_reason("CRES-3-ICP", "papilloedema, stage not recorded",
                                             s.icp_time))
            pending.append(("papilloedema stage not recorded (stage 3-5 is CRES 4)", 4))
        else:
            g = PAPILLEDEMA_STAGE_GRADE[stage]
            grade = max(grade, g)
            reasons.append(_criterion_reason(f"CRES-{g}-ICP", f"papilloedema stage {stage}",
                                             s.icp_time))
    if x.csf_opening_pressure is not None:
        reason, g, literal = _csf(*x.csf_opening_pressure)
        reasons.append(reason)
        grade = max(grade, g)
        pending += literal
    if s.cerebral_edema in ("focal", "diffuse"):
        assert s.edema_time is not None
        grade = 4
        reasons.append(_criterion_reason("CRES-4-ICP", f"{s.cerebral_edema} cerebral oedema",
                                         s.edema_time))
    others = sorted(signs - {"papilledema"})
    if others:
        assert s.icp_time is not None
        reasons.append(Reason("CRES-ICP", f"{', '.join(o.replace('_', ' ') for o in others)}: "
                              "not a CRES criterion (ASTCT grade 4)", s.icp_time))
    return Domain("icp", grade if recorded else None, 4, tuple(reasons), tuple(pending),
                  missing="raised-ICP findings")


def _csf(mmhg: float, when: datetime) -> tuple[Reason, int, list[tuple[str, int]]]:
    """The CSF pressure's reason, grade and, below 15 mmHg, the literal reading pending (X26)."""
    g = csf_grade(mmhg)
    if g:
        return _criterion_reason(f"CRES-{g}-ICP", f"CSF opening pressure {mmhg:g} mmHg",
                                 when), g, []
    literal = CRITERIA["CRES-3-ICP"].grade
    return (Reason("CRES-ICP", f"CSF opening pressure {mmhg:g} mmHg: not in the raised range "
                   "(the ward's reading); the table's literal wording "
                   f"'{CSF_LITERAL_GRADE_3}' would "
                   f"give grade {literal}", when), 0,
            [(f"CSF opening pressure {mmhg:g} mmHg read as not raised (the ward's reading; the "
              f"table's literal '{CSF_LITERAL_GRADE_3}' is grade {literal})", literal)])


def seizure_motor_domain(x: ScaleInputs) -> Domain:
    s = x.astct
    grade, reasons, pending = 0, [], []
    recorded = s.seizure is not None or s.motor_weakness is not None
    if s.seizure == "prolonged_or_repetitive":
        assert s.seizure_time is not None
        grade = 4
        reasons.append(_criterion_reason("CRES-4-SEIZURE", "prolonged or repetitive seizure "
                                         "(status epilepticus)", s.seizure_time))
    elif s.seizure == "resolved_rapidly":
        assert s.seizure_time is not None
        kind = x.seizure_type
        if kind == "generalized":
            grade = 4
            reasons.append(_criterion_reason("CRES-4-SEIZURE", "generalised seizure",
                                             s.seizure_time))
        else:
            grade = 3
            what = {"focal": "focal (partial) seizure",
                    "nonconvulsive_eeg": "non-convulsive seizure on EEG, resolved"}.get(
                kind or "", "seizure, type not recorded")
            reasons.append(_criterion_reason("CRES-3-SEIZURE", what, s.seizure_time))
            if kind is None:
                pending.append(("seizure type not recorded (a generalised seizure is CRES 4)",
                                4))
    if s.motor_weakness == "deep_focal":
        assert s.motor_time is not None
        grade = 4
        reasons.append(_criterion_reason("CRES-4-MOTOR", "deep focal motor weakness",
                                         s.motor_time))
    return Domain("seizure_motor", grade if recorded else None, 4, tuple(reasons),
                  tuple(pending), missing="seizure and motor findings")


def grade(x: ScaleInputs) -> ScaleGrade:
    """CRES: the most severe domain; status as ASTCT ICANS (N4): final needs the CARTOX-10 in
    the last 12 h, an event domain never recorded counts as absent once it is assessed."""
    s = x.astct
    domains: Sequence[Domain] = (score_domain(x), icp_domain(x), seizure_motor_domain(x))
    summary = tuple((d.name, d.grade) for d in domains)
    if s.died_of == "icans":
        return ScaleGrade(SCALE, 5, "final", (Reason("CRES-5", "death recorded as caused by "
                                                     "neurotoxicity -> death: grade 5", s.time),),
                          domains=summary)
    score, events = domains[0], domains[1:]
    reasons = [r for d in domains for r in d.reasons]
    known = [d.grade for d in domains if d.grade is not None]
    if not known:
        reasons.append(Reason("CRES", f"no CARTOX-10 or ICE in the last 12 h and no seizure, "
                              f"motor or raised-ICP record: {TITLE} not evaluable", s.time))
        return ScaleGrade(SCALE, None, "not_evaluable", tuple(reasons), domains=summary)
    top = max(known)
    notes = [f"{d.missing} not recorded: could give up to grade {d.ceiling}"
             for d in (score,) if d.grade is None and d.ceiling > top]
    notes += [f"{why}: would be grade {would}" for d in domains for why, would in d.pending
              if would > top]
    if score.grade is None and not notes and top < 4:
        notes.append("no CARTOX-10 in the last 12 h")
    others = max((d.grade for d in events if d.grade is not None), default=0)
    estimated = bool(score.alternatives) and len({max(others, g) for g in score.alternatives}) > 1
    for n in notes:
        reasons.append(Reason("CRES provisional", n, s.time))
    reasons.append(Reason("CRES", f"most severe domain: {TITLE} grade {top}"
                          + (" (estimated)" if estimated else ""), s.time))
    return ScaleGrade(SCALE, top, "provisional" if notes else "final", tuple(reasons),
                      estimated, summary)
