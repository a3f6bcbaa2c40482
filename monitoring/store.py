"""The ward record's old address, kept while callers move to ``monitoring.record`` (issue 17):
the record is split by concern there, and ``WardStore`` is its facade."""

from monitoring.record import *  # noqa: F403 (the same names, from their one list)
from monitoring.record import __all__ as __all__
