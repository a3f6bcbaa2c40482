"""The ward's word lists as pages need them, each re-exported from its one source.

Pages take their choices and labels from here (design.md "Packages and their rooms"): not from
the database schema (``monitoring.tables``) or the record (``monitoring.record``), which they
never import (tests/ui/test_page_imports.py). Nothing is defined twice: every name below is the
object of the module that owns it.
"""

from __future__ import annotations

from grading.lab_scores.units import (  # the one table of analytes (spec §6.3, L16, W14)
    ANALYTES,
    LAB_UNITS,
    LabUnitError,
    check_value,
    to_canonical,
    unusual,
)

from .medications import (
    DRUGS,
    INDICATION_ASKED,
    INDICATIONS,
    MAR_KINDS,
    NOT_STATED,
    ROUTES,
    VASOPRESSORS,
    DoseError,
    check_dose,
    uncharted_vasopressors,
)
from .record.model import PatientIn
from .tables import ADMINISTRATION_KINDS, KIND_WORDS, PRODUCTS, ROLES

# A patient's details: title and help text of each (the admission form's labels).
PATIENT_FIELDS = PatientIn.model_fields

__all__ = ["ADMINISTRATION_KINDS", "ANALYTES", "DRUGS", "INDICATIONS", "INDICATION_ASKED",
           "KIND_WORDS", "LAB_UNITS", "MAR_KINDS", "NOT_STATED", "PATIENT_FIELDS", "PRODUCTS",
           "ROLES", "ROUTES", "VASOPRESSORS", "DoseError", "LabUnitError", "check_dose",
           "check_value", "to_canonical", "uncharted_vasopressors", "unusual"]
