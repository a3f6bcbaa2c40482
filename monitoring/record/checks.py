"""The record's checks of treatments and attribution periods: a dose, a lab result and a
period are checked here before any part of the record (SQL or in memory) writes them, and
``period_covers`` is the one rule for which assessments a period covers (decision W15)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from grading.fields import FIELD_BY_NAME
from grading.lab_scores import units as lab_units

from .. import medications
from .model import LAB_UNITS, StoreError, _bounded, _not_in_future, now


def other_crs_finding(sbp_mmhg: float | None, vasopressors: str | None,
                      o2_device: str | None) -> bool:
    """Whether a row shows hypotension or an oxygen need, read plainly and conservatively
    (decision W15): SBP below 90 mmHg (the adult threshold, higher than the children's, so
    it errs towards showing), any vasopressor in force, any oxygen device but room air in
    force. A fever attributed over a range never covers such a row: fever is the gate of the
    CRS grade, so attributing it would hide the new finding (ASTCT 2019)."""
    return ((sbp_mmhg is not None and sbp_mmhg < 90)
            or vasopressors not in (None, "", "none")
            or o2_device not in (None, "", "room_air"))


def period_covers(rows: Sequence[Mapping[str, Any]], finding: str, starts_at: datetime,
                  ends_at: datetime | None) -> list[int]:
    """The rows (one patient's, time order) an attribution of ``finding`` from ``starts_at``
    to ``ends_at`` (None: until further notice) covers (decision W15): every row in the range,
    except, for a fever, a row with hypotension or an oxygen need (``other_crs_finding``,
    with the vasopressors and oxygen device in force carried from earlier rows)."""
    out = []
    pressors = device = None
    for i, r in enumerate(rows):
        if r.get("vasopressors") is not None:
            pressors = r["vasopressors"]
        if r.get("o2_device") is not None:
            device = r["o2_device"]
        at = r["time"]
        if at < starts_at or (ends_at is not None and at > ends_at):
            continue
        if finding == "fever" and other_crs_finding(r.get("sbp_mmhg"), pressors, device):
            continue
        out.append(i)
    return out


def apply_attribution_periods(cols: dict[str, list[Any]], span: dict[str, tuple[int, int]],
                              periods: Sequence[tuple[str, str, datetime, datetime | None]]
                              ) -> None:
    """A physician's attributions over a time range (decision W15): the rows of the patient
    ``period_covers`` gives (from ``starts_at`` to ``ends_at`` inclusive, None: until further
    notice, so later rows too) have the finding attributed elsewhere; only that finding."""
    names = ("time", "sbp_mmhg", "vasopressors", "o2_device")
    for pid, finding, starts_at, ends_at in periods:
        if pid not in span:
            continue
        lo, hi = span[pid]
        rows = [{k: cols[k][i] for k in names} for i in range(lo, hi)]
        for j in period_covers(rows, finding, starts_at, ends_at):
            k = lo + j
            have = set((cols["attributed_elsewhere"][k] or "none").split(";")) - {"none"}
            cols["attributed_elsewhere"][k] = ";".join(sorted(have | {finding}))


def educator_imports_demo_only(role: str, by: str, real: Sequence[str]) -> None:
    """An educator imports for synthetic demo patients only (a teaching case; T5): the
    import names the real patients it would touch and stores nothing."""
    if role == "educator" and real:
        raise StoreError(f"user '{by}' (educator) may not import for " + ", ".join(real)
                         + ": an educator charts for synthetic demo patients only")


def _checked_administration(kind: str, given_at: datetime, dose: float | None,
                            unit: str | None = None, route: str | None = None,
                            indication: str = medications.NOT_STATED) -> dict[str, Any]:
    """A medication given, checked against the drug table (monitoring/medications.py: the
    kind, route, unit and dose limits, decision W14) and why it was given (an indication of
    ``medications.INDICATIONS``, W20; "not stated" unless said): the stored values, else
    ``StoreError`` naming the field and what is allowed. An unusual dose is accepted (the
    page highlights it: ``medications.check_dose`` says why)."""
    try:
        medications.check_dose(kind, dose, unit, route)
        medications.check_indication(indication)
    except (medications.DoseError, medications.IndicationError) as e:
        raise StoreError(str(e)) from None
    if not isinstance(given_at, datetime) or given_at.tzinfo is None:
        raise StoreError("given_at must be timezone-aware")
    _not_in_future("the time given", given_at, "a medication is recorded when it was given")
    return {"given_at": given_at, "kind": kind, "dose": None if dose is None else float(dose),
            "unit": medications.DRUGS[kind].unit if unit is None else unit, "route": route,
            "indication": indication}


def lab_problems(test: str, value: object, unit: str, taken_at: object
                 ) -> list[tuple[str, str]]:
    """What is wrong with a lab result, as (field, message) pairs (field: ``test``, ``unit``,
    ``value`` or ``taken_at``), each message naming what is allowed: the ONE check of a lab
    result for every way in (the lab page, the bedside page, the lab CSV import, FHIR):
    the analyte table (spec §6.3), the plausibility limit (decisions L16, M1) and a time
    that has happened (T11). An empty list: the result may be stored."""
    out: list[tuple[str, str]] = []
    if test not in LAB_UNITS:
        return [("test", "test must be one of " + ", ".join(
            lab_units.ANALYTES[k].words for k in LAB_UNITS))]
    name = lab_units.ANALYTES[test].words
    if unit not in LAB_UNITS[test][1]:
        out.append(("unit", f"{name}: unit must be one of " + ", ".join(LAB_UNITS[test][1])))
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        out.append(("value", f"{name}: the value must be a number"))
    else:
        try:
            lab_units.check_value(test, value, unit)
        except lab_units.LabUnitError as e:
            out.append(("value", str(e)))
    if not isinstance(taken_at, datetime) or taken_at.tzinfo is None:
        out.append(("taken_at", "taken_at must be timezone-aware"))
    else:
        try:
            _not_in_future("the time taken", taken_at, "a result is recorded at the time "
                           "the sample was taken")
        except StoreError as e:
            out.append(("taken_at", str(e)))
    return out


def _checked_lab(test: str, value: float, unit: str, taken_at: datetime) -> dict[str, Any]:
    """A lab result checked (``lab_problems``) and converted to its canonical unit, kept as
    entered too; else ``StoreError`` with the first problem."""
    problems = lab_problems(test, value, unit, taken_at)
    if problems:
        raise StoreError(problems[0][1])
    canonical, factors = LAB_UNITS[test]
    return {"taken_at": taken_at, "test": test, "value": value * factors[unit],
            "unit": canonical, "entered_value": float(value), "entered_unit": unit}


def _checked_period(finding: str, starts_at: datetime, ends_at: datetime | None,
                    reason: str) -> None:
    """An attribution over a time range (decision W15), else ``StoreError``."""
    if finding not in FIELD_BY_NAME["attributed_elsewhere"].values:
        raise StoreError("finding must be one of "
                         + ", ".join(FIELD_BY_NAME["attributed_elsewhere"].values))
    if not reason or not reason.strip():
        raise StoreError("an attribution needs a reason")
    _bounded(("reason", reason))
    for name, at in (("from", starts_at), ("until", ends_at)):
        if at is not None and (not isinstance(at, datetime) or at.tzinfo is None):
            raise StoreError(f"{name} must be a timezone-aware time")
    _not_in_future("the start", starts_at, "an attribution starts at a time that has happened")
    if ends_at is not None and ends_at < starts_at:
        raise StoreError("until must be at or after from (an attribution covers the "
                         "assessments from one time to a later one)")


IMPORT_KEYS = ("via", "source_system", "resource", "file", "row")  # what an import may say
IMPORT_MAX_CHARS = 300   # each value (a FHIR system URL, a resource reference, a file name)


def imported_sources(imported: Sequence[Mapping[str, Any]] | None, n: int
                     ) -> list[dict[str, Any] | None]:
    """Where each of ``n`` new rows came from, when an import writes them (decision F10):
    ``via`` ("FHIR", "lab CSV") and, as the import knows them, the FHIR ``source_system`` and
    ``resource`` (type/id), or the ``file`` name and its data ``row``. One a row, or None
    (typed on a page). Checked here so the SQL and the in-memory record audit alike."""
    if imported is None:
        return [None] * n
    if len(imported) != n:
        raise StoreError(f"{len(imported)} import sources for {n} rows: one a row")
    out = []
    for src in imported:
        unknown = sorted(set(src) - set(IMPORT_KEYS))
        if unknown or not src.get("via"):
            raise StoreError("an import source names how (via) and only "
                             + ", ".join(IMPORT_KEYS) + (f", not {', '.join(unknown)}"
                                                         if unknown else ""))
        kept = {k: src[k] for k in IMPORT_KEYS if src.get(k) is not None}
        for k, v in kept.items():
            if k != "row":
                kept[k] = str(v)[:IMPORT_MAX_CHARS]
        out.append(kept)
    return out


def audit_of(row: Mapping[str, Any], source: Mapping[str, Any] | None,
             action: str = "record") -> tuple[str, dict[str, Any]]:
    """The audit action and ``after`` of a new treatment row: ``action`` when typed on a page;
    an import is audited as "import" with its source (``imported_from``), as the CSV import
    of assessments is ("import") and the FHIR provenance is (decision F10). A correction an
    import makes keeps its action ("amend", "entered_in_error"), with the source too."""
    if source is None:
        return action, dict(row)
    return ("import" if action == "record" else action), {**row, "imported_from": dict(source)}


# ------------------------------------------------------------------ intensive care stays
ICU_FIELDS = {"transferred_at": "Transferred to ICU", "returned_at": "Returned to the ward"}
ICU_ENTITY = "icu_stay"  # the audit trail's entity


def _icu_reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise StoreError(f"Reason: {what} needs a reason")
    _bounded(("reason", reason))
    return reason.strip()


def _icu_time(at: datetime, tz: Any) -> str:
    """A time in a refusal of an ICU stay, as the ward reads it (DD/MM/YYYY HH:MM)."""
    return at.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def _checked_icu_stay(transferred_at: datetime, returned_at: datetime | None) -> None:
    """An ICU stay's own times (decision R10), else ``StoreError`` naming the field: both
    timezone-aware, neither to come, the return after the transfer."""
    for name, at in (("transferred_at", transferred_at), ("returned_at", returned_at)):
        if at is None and name == "returned_at":
            continue
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise StoreError(f"{ICU_FIELDS[name]}: give a timezone-aware date and time")
        _not_in_future(ICU_FIELDS[name], at, "a transfer is recorded once it has happened")
    if returned_at is not None and returned_at <= transferred_at:
        raise StoreError(f"{ICU_FIELDS['returned_at']} must be after "
                         f"{ICU_FIELDS['transferred_at']} (a return cannot precede the "
                         "transfer)")


def _icu_changed(stay_id: int, old: Mapping[str, Any], action: str,
                 changes: Mapping[str, Any]) -> dict[str, Any]:
    """The stay ``old`` with ``changes`` (its id and reason left out), as the SQL record and
    the in-memory one both replace it: a return only on an open stay, the times checked
    (``_checked_icu_stay``) unless it is marked entered in error. The caller then checks it
    among the other stays (``_checked_icu_fits``) and writes ``_icu_version`` of it."""
    if action == "return" and old["returned_at"] is not None:
        raise StoreError(f"ICU stay #{stay_id}: the return to the ward is recorded "
                         "already; correct the stay to change it")
    new = {k: v for k, v in old.items() if k not in ("id", "reason")} | dict(changes)
    if action != "entered_in_error":
        _checked_icu_stay(new["transferred_at"], new["returned_at"])
    return new


def _icu_version(row: Mapping[str, Any], replaces_id: int, by: str, action: str,
                 reason: str | None) -> dict[str, Any]:
    """The new version of stay ``replaces_id``: who and when, final or entered in error."""
    return dict(row) | {"replaces_id": replaces_id, "recorded_at": now(), "recorded_by": by,
                        "status": "entered_in_error" if action == "entered_in_error"
                        else "final", "reason": reason}


def _checked_icu_fits(transferred_at: datetime, returned_at: datetime | None,
                      others: Sequence[Mapping[str, Any]], died_at: datetime | None,
                      tz: Any) -> None:
    """An ICU stay among the patient's other current stays (``others``, the one it replaces
    left out) and a recorded death: one stay at a time (an open stay runs until further
    notice, so a second one cannot start while it is open), nothing after the death.
    Called under the patient's lock, so two writers cannot both pass it (docs/security.md)."""
    end = returned_at
    for o in others:
        o_end = o["returned_at"]
        if (end is None or o["transferred_at"] < end) and \
                (o_end is None or transferred_at < o_end):
            since = _icu_time(o["transferred_at"], tz)
            if o_end is None:
                raise StoreError(
                    f"{ICU_FIELDS['transferred_at']}: the patient is in intensive care since "
                    f"{since} (no return to the ward recorded); record that return first, "
                    "or correct that stay")
            raise StoreError(
                f"{ICU_FIELDS['transferred_at']}: overlaps the ICU stay from {since} to "
                f"{_icu_time(o_end, tz)}; a patient is in one ICU stay at a time")
    if died_at is not None:
        for name, at in (("transferred_at", transferred_at), ("returned_at", returned_at)):
            if at is not None and at > died_at:
                raise StoreError(f"{ICU_FIELDS[name]}: the patient's death is recorded at "
                                 f"{_icu_time(died_at, tz)}; nothing can follow it")
