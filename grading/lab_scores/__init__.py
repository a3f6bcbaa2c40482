"""Ward lab scores (spec §5.2-§5.5) as tables plus small pure functions: EASIX, simplified and
modified EASIX (``easix``), CAR-HEMATOTOX (``hematotox``), early and late ICAHT (``icaht``)
and the IEC-HS screening flag (``iechs``). Inputs are ``LabValue`` rows in the canonical units
of spec §6.3 (``units`` converts). Decision support only: EASIX and CAR-HEMATOTOX are risk
context, never a grade; IEC-HS is a screening prompt for haematology review, never a grade.
Decisions L1-L14 in docs/clinical-decisions.md.
"""

from .labs import LabValue, day_of
from .panel import LabPanel, lab_panel

__all__ = ["LabPanel", "LabValue", "day_of", "lab_panel"]
