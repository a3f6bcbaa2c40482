"""Who may close a patient's flag (decision E12): the one rule the record applies to every
acknowledgement, single or many, whatever page or script asks.

A flag about a patient's condition is closed by the people caring for the patient: a nurse
or a physician records the action taken. An administrator manages accounts and never closes
a clinical flag; an educator closes flags of synthetic demo patients only (decision T5).
Dismissing a flag ("needs no action") is a clinical judgement about the alert itself: a flag
that asks for a physician (or the medical or critical-care team), and every emergency flag
(decision E5), is dismissed by a physician only; a nurse acknowledges it with the action
taken (e.g. "physician informed"). The system account closes flags the record itself has
settled (observations recorded since, a change that explains the finding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .auth import SYSTEM_USER

CLINICAL = ("nurse", "physician")
FOR_A_PHYSICIAN = ("physician", "medical team", "critical-care", "icu")


def asks_for_a_physician(flag: Mapping[str, Any]) -> bool:
    """An emergency flag, or one whose response names a physician or the medical team."""
    respond = str(flag.get("respond") or "").lower()
    return flag.get("severity") == "emergency" or any(w in respond for w in FOR_A_PHYSICIAN)


def refusal(username: str, role: str, flag: Mapping[str, Any], *, dismiss: bool,
            demo_patient: bool) -> str | None:
    """Why ``username`` (``role``) may not close ``flag``, in plain words; None if they may."""
    if username == SYSTEM_USER:
        return None
    if role == "educator" and not demo_patient:
        return (f"user '{username}' (educator) may not close a real patient's flags: an "
                "educator closes flags of synthetic demo patients only; a nurse or a physician "
                "acknowledges them")
    if role not in (*CLINICAL, "educator"):
        return (f"user '{username}' ({role}) may not close a patient's flags: only a nurse or "
                "a physician acknowledges them")
    if dismiss and role != "physician" and asks_for_a_physician(flag):
        what = "an emergency flag" if flag.get("severity") == "emergency" else \
            "a flag that asks for a physician"
        return (f"{what} is dismissed by a physician only: acknowledge it with the action "
                "taken instead (for example, physician informed)")
    return None
