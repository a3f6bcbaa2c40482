"""The ward record, split by concern under one unit of work (design.md, "Packages and their
rooms"). Nothing is updated in place or deleted: an amendment is a new row replacing the old one
(with a reason), ``entered_in_error`` marks without deleting; every write runs in one
transaction, carries the user and a timezone-aware time, and adds an audit entry.

- ``unit_of_work``: ``SqlUnitOfWork``: the engine, one write transaction per thread that every
  repository call joins, the patient locks (``locked``); ``sql``: the shared ``Repository``
  base and query helpers.
- one repository per concern: ``users``, ``patients``, ``assessments`` (record, amend, mark in
  error), ``timeline`` (the effective rows), ``treatments`` (medications, labs), ``icu``
  (intensive care stays), ``judgements``
  (attributions, grade confirmations, notes), ``flags``, ``teaching``, ``audit``; ``csv_io``
  beside them.
- ``memory`` (with ``memory_record``, ``memory_care``, ``memory_icu``): ``MemoryUnitOfWork``,
  the same repositories in plain Python structures, for tests where the database is not the point
  (``WardStore.in_memory()``; tests/monitoring/test_record_contract.py holds both to one
  contract).
- ``model``: the record's errors, ``PatientIn``, ``StoredAssessment`` and plain value helpers.
- ``ward_store``: ``WardStore``, the whole record as one object (the callers' facade).

Only this package (with ``monitoring/db.py``, ``tables.py`` and the migrations) imports
SQLAlchemy.
"""

from .checks import period_covers
from .model import (
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
    now,
    progress_to_stderr,
)
from .ward_store import WardStore

__all__ = ["CANONICAL_STORED", "CLIENT_KEY_LENGTH", "CLINICAL_WRITERS", "CONTEXT_FIELDS",
           "LAB_UNITS", "SUPPORT_FIELDS", "SYSTEM_USER", "UNKNOWN_USER", "ConcurrentChangeError",
           "PatientIn", "StoreError", "StoredAssessment", "WardStore", "now",
           "period_covers", "progress_to_stderr"]
