"""Escalation flags raised when an assessment is saved, as one table of rules.

Each rule compares the new assessment's graded result with the patient's previous one, so an
unchanged condition does not raise the same flag again, while a new or worsening one does.
This is the first part of the rule table; the escalation issue adds NEWS2, ICU prompts,
schedules and the rest. Decision support: every flag asks a person to look, none decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grading import RowResult, round_temp
from grading.rules import FEVER_C

SEVERITIES = ("info", "urgent", "emergency")
ENGINE_SEVERITY = {"info": "info", "review": "info", "urgent": "urgent"}  # grading Flag -> ward
NOT_RAISED = {"soft_limit"}  # confirmed by the nurse at entry; shown with the row instead


@dataclass(frozen=True)
class Context:
    current: RowResult
    previous: RowResult | None
    temp_c: float | None             # recorded on the new row
    previous_temp_c: float | None    # the latest earlier recorded temperature


@dataclass(frozen=True)
class FlagRule:
    code: str
    severity: Callable[[Context], str]
    respond: str
    message: Callable[[Context], str | None]   # None: the rule does not fire


def _grade(r: RowResult | None, syndrome: str) -> int:
    g = None if r is None else getattr(r, syndrome).grade
    return -1 if g is None else g


def _new_fever(c: Context) -> str | None:
    if c.temp_c is None or round_temp(c.temp_c) < FEVER_C:
        return None
    if c.previous_temp_c is not None and round_temp(c.previous_temp_c) >= FEVER_C:
        return None
    return (f"New fever {round_temp(c.temp_c):.1f} °C: inform the physician "
            "(ASTCT CRS: fever ≥ 38.0 °C is grade 1 unless another cause is documented)")


def _rise(syndrome: str) -> Callable[[Context], str | None]:
    label = syndrome.upper()

    def message(c: Context) -> str | None:
        now, before = _grade(c.current, syndrome), _grade(c.previous, syndrome)
        if now <= max(before, 0):
            return None
        was = "not evaluable" if before < 0 else f"grade {before}"
        return f"{label} grade {now} (was {was}): physician review"
    return message


def _rise_severity(syndrome: str) -> Callable[[Context], str]:
    return lambda c: "emergency" if _grade(c.current, syndrome) >= 3 else "urgent"


RULES: tuple[FlagRule, ...] = (
    FlagRule("new_fever", lambda c: "urgent", "physician", _new_fever),
    FlagRule("crs_rise", _rise_severity("crs"), "physician", _rise("crs")),
    FlagRule("icans_rise", _rise_severity("icans"), "physician", _rise("icans")),
)


def evaluate(current: RowResult, previous: RowResult | None,
             values: Mapping[str, Any], previous_temp_c: float | None
             ) -> list[dict[str, str]]:
    """The flags the new assessment raises: the rule table, then the grading engine's review
    flags that were not already present on the previous assessment."""
    c = Context(current, previous, values.get("temp_c"), previous_temp_c)
    out = []
    for rule in RULES:
        message = rule.message(c)
        if message:
            out.append({"code": rule.code, "severity": rule.severity(c), "message": message,
                        "respond": rule.respond})
    before = {f.code for f in previous.flags} if previous else set()
    for f in current.flags:
        if f.code in NOT_RAISED or f.code in before:
            continue
        out.append({"code": f.code, "severity": ENGINE_SEVERITY[f.severity],
                    "message": f.message, "respond": "nurse in charge"})
    return out
