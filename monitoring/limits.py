"""How long each text a user types may be: one table for the forms (``max_chars``) and the
ward record (which refuses longer text with the field and the limit named), so the two never
disagree (docs/security.md "Bounded input"). Sizes are clinical: a reason is a sentence or
two, a note a few paragraphs; a name or a bed matches its database column."""

from __future__ import annotations

from collections.abc import Iterable

from grading.fields import PATIENT_ID_MAX_LENGTH
from grading.parse import Problem

REASON = 500    # amendment, entered in error, dismissing a flag, attribution, admission change
NOTE = 4000     # a physician's note on the course; a teaching case's summary or learning points

# field -> (its name in messages, most characters). A text too long is a ``too_long`` problem
# (grading.parse.Problem) whose field is the key here.
LIMITS: dict[str, tuple[str, int]] = {
    "username": ("the user name", 64),
    "display_name": ("the full name", 200),
    "password": ("a password", 128),
    "patient_id": ("the ward patient id", PATIENT_ID_MAX_LENGTH),
    "hospital_number": ("the hospital number", 64),
    "name": ("the name", 200),
    "ward": ("the ward", 64),
    "bed": ("the bed", 32),
    "indication": ("the indication", 200),
    "reason": ("the reason", REASON),
    "action": ("the action taken", 1000),
    "confirmation_note": ("the note", 1000),
    "note": ("the note", NOTE),
    "learner": ("the learner's name", 100),
    "case_title": ("the title", 200),
    "disease": ("the disease", 150),
    "summary": ("the summary", NOTE),
    "learning_points": ("the learning points", NOTE),
}


def most(field: str) -> int:
    """The most characters ``field`` may have (``max_chars`` of its form input)."""
    return LIMITS[field][1]


def problem(field: str, value: str | None) -> Problem | None:
    """None if ``value`` fits, else a ``too_long`` problem naming the field and the limit."""
    label, n = LIMITS[field]
    if value is None or len(value) <= n:
        return None
    return Problem(field, "too_long",
                   f"{label} may have at most {n} characters (this one has {len(value)})")


def problems(pairs: Iterable[tuple[str, str | None]]) -> list[Problem]:
    return [p for field, value in pairs if (p := problem(field, value)) is not None]


def refusal(found: Iterable[Problem]) -> str:
    """The problems as one sentence for the user."""
    return "; ".join(p.message for p in found)
