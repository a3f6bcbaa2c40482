"""The rules a reason names, in a clinician's words with the published source (issue 18.8).

The grading command keeps its rule ids (``CRS-R4``, ``ICANS §2.3``: design.md, "The grading
command"); a page never shows them. It shows what the rule is about and where it comes from:
``rule_words("CRS-R4")`` is "hypotension (ASTCT 2019)". The ids the teaching module names a
review flag by (docs/clinical-decisions.md T9: A3, C8, §1.4 ...) have their words here too.
"""

from __future__ import annotations

ASTCT = "ASTCT 2019"

# what each rule is about; the source is ASTCT 2019 unless SOURCE says otherwise
RULE_WORDS: dict[str, str] = {
    "CRS-R1": "fever",
    "CRS-R2": "CRS needs a fever to start",
    "CRS-R3": "fever waiver after treatment",
    "CRS-R3b": "CRS episode",
    "CRS-R4": "hypotension",
    "CRS-R4b": "vasopressin alone",
    "CRS-R5": "hypoxia",
    "CRS-R6": "CRS grade from its components",
    "CRS-R7": "finding attributed to another cause",
    "CRS-R8": "organ toxicity is graded apart",
    "CRS-R9": "death from CRS",
    "CRS-R10": "labs play no part in the grade",
    "CRS §1.1": "before the infusion: baseline",
    "ICANS-R1": "ICANS grade: the highest domain",
    "ICANS-R2": "ICE score",
    "ICANS-R3": "ICE 10 with nothing else",
    "ICANS-R4": "level of consciousness",
    "ICANS-R5": "sedation or another cause",
    "ICANS-R6": "seizure",
    "ICANS-R9": "death from ICANS",
    "ICANS §2.1": "before the infusion: baseline",
    "ICANS §2.3": "motor weakness, cerebral oedema or raised pressure",
    "ICANS §2.5": "CAPD (children)",
    # review flags that make a grade provisional or leave a finding out (teaching T9)
    "A3": "fever possibly masked by earlier treatment",
    "A9": "fever attributed to another cause",
    "B2": "neuro exam not assessable",
    "B4": "baseline ICE deficit",
    "C8": "open CRS episode without fever",
    "C13": "an input not recorded",
    "§0.4": "finding attributed to another cause",
    "§1.4": "high-flow cannula at low flow",
}
SOURCE: dict[str, str] = {"C8": "ward rule", "C13": "ward rule"}


def rule_words(rule: str) -> str:
    """``rule`` as a clinician reads it: what it is about and its published source; '' for a
    rule this table does not know (another scale's: its title names it), never the id."""
    what = RULE_WORDS.get(rule)
    if what is None:
        return ""
    return f"{what} ({SOURCE.get(rule, ASTCT)})"


# the lab tests by the names a ward uses (the record's test codes are lower case: ``crp``)
LAB_NAMES: dict[str, str] = {
    "crp": "CRP", "ferritin": "ferritin", "ldh": "LDH", "platelets": "platelets", "anc": "ANC",
    "haemoglobin": "haemoglobin", "creatinine": "creatinine", "fibrinogen": "fibrinogen",
    "il6": "IL-6", "alt": "ALT", "ast": "AST",
}


def lab_name(test: str) -> str:
    """``crp`` as "CRP": a lab test as the ward names it."""
    return LAB_NAMES.get(test, test)


# decimals a result is reported with (the lab's own precision; the ward's units of
# grading/lab_scores/units.py), and the precision of a computed ratio or score
LAB_DECIMALS: dict[str, int] = {
    "creatinine": 2, "crp": 2, "ferritin": 0, "ldh": 0, "platelets": 0, "anc": 0,
    "haemoglobin": 1, "fibrinogen": 0, "il6": 1, "alt": 0, "ast": 0,
}


def lab_value(value: float | None, test: str = "", unit: str | None = None) -> str:
    """A lab result as the lab reports it: ``lab_value(1.527, "creatinine")`` is "1.53". A
    test in ``LAB_DECIMALS`` (in its canonical unit) has its decimals; any other value three
    significant figures, whole from 100 up (31.456 mg/L is "31.5", 1234.5 is "1235")."""
    if value is None or value != value:
        return "—"
    digits = LAB_DECIMALS.get(test.lower())
    if digits is not None and unit not in (None, _canonical(test.lower())):
        digits = None
    if digits is None:
        return f"{value:.0f}" if abs(value) >= 100 else f"{float(f'{value:.3g}'):g}"
    return f"{value:.{digits}f}"


def _canonical(test: str) -> str | None:
    from .lab_scores.units import LAB_UNITS  # imported here: lab_scores imports this module
    return LAB_UNITS[test][0] if test in LAB_UNITS else None


def ratio(value: float | None, digits: int = 2) -> str:
    """A computed ratio or score (EASIX, log2 EASIX, a ratio to baseline): two decimals."""
    if value is None or value != value:
        return "—"
    return f"{value:.{digits}f}"
