"""FHIR R4 import (issue 19; docs/fhir.md): Bundles and Bulk Data NDJSON of Patients,
vital-sign / neuro Observations, lab Observations and MedicationAdministrations into the ward
record, through ``services.import_fhir``."""

from .load import GROUP_WINDOW, Batch, Outcome, group_rows, resolve, write
from .read import NEURO_SYSTEM, FhirError, FhirProblem, Found, read_all, read_paths

__all__ = ["GROUP_WINDOW", "NEURO_SYSTEM", "Batch", "FhirError", "FhirProblem", "Found",
           "Outcome", "group_rows", "read_all", "read_paths", "resolve", "write"]
