"""The ward record's old address, kept while callers move to ``monitoring.record`` (issue 17):
the record is split by concern there, and ``WardStore`` is its facade."""

from monitoring.record import (
    CANONICAL_STORED,
    CLIENT_KEY_LENGTH,
    CLINICAL_WRITERS,
    CONTEXT_FIELDS,
    LAB_UNITS,
    SUPPORT_FIELDS,
    SYSTEM_USER,
    UNKNOWN_USER,
    ConcurrentChangeError,
    PatientIn,
    StoredAssessment,
    StoreError,
    WardStore,
    now,
    progress_to_stderr,
)

__all__ = ["CANONICAL_STORED", "CLIENT_KEY_LENGTH", "CLINICAL_WRITERS", "CONTEXT_FIELDS",
           "LAB_UNITS", "SUPPORT_FIELDS", "SYSTEM_USER", "UNKNOWN_USER", "ConcurrentChangeError",
           "PatientIn", "StoreError", "StoredAssessment", "WardStore", "now",
           "progress_to_stderr"]
