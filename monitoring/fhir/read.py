"""Read FHIR R4 resources (Bundles, Bulk Data NDJSON) into the values the ward record holds.

Each resource is validated by the ``fhir.resources`` R4B models first, then mapped: a
``Patient`` to the admission details, a vital-signs ``Observation`` (LOINC) or a neuro item
(our code system, ``NEURO_SYSTEM``) to canonical fields (grading/fields.py). Anything this
monitor cannot read is a ``FhirProblem`` naming the resource, the element, the value and why:
nothing is skipped silently (docs/fhir.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydantic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from .codes import (
    BP_PANEL,
    BP_PARTS,
    BUNDLE_TYPES,
    CHARTED,
    DERIVED,
    IN_ERROR,
    LOCAL_CHOICES,
    LOINC,
    MAX_FILE_BYTES,
    NEURO_INTEGERS,
    NEURO_SYSTEM,
    QUANTITIES,
    UCUM,
)
from .treatments import LabResource, MedicationResource, is_lab, lab, medication


@dataclass(frozen=True)
class FhirProblem:
    """One resource this monitor cannot import: where, which element, the value, why."""

    where: str            # file and entry/line
    resource: str         # Type/id, or the type alone
    element: str
    value: str
    why: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 80 else self.value[:77] + "..."
        return f"{self.where}: {self.resource}, {self.element} {shown!r}: {self.why}"


class FhirError(Exception):
    """A FHIR file that cannot be imported; ``lines`` says why, one problem a line."""

    def __init__(self, problems: list[FhirProblem] | list[str]):
        self.problems = list(problems)  # as given, for a table (ui/fhir.py)
        self.lines = [str(p) for p in problems]
        super().__init__("\n".join(self.lines))


@dataclass
class PatientResource:
    resource_id: str
    source: str
    patient_id: str
    name: str | None
    birth_date: date | None
    sex: str | None
    where: str


@dataclass
class ObservationResource:
    resource_id: str
    source: str
    status: str
    subject: str                     # the Patient resource id it refers to
    at: datetime
    values: dict[str, Any] = field(default_factory=dict)  # canonical field -> value
    where: str = ""
    fields: tuple[str, ...] = ()     # the canonical fields its code names (with or without value)

    @property
    def key(self) -> str:
        return f"Observation/{self.resource_id}"


@dataclass
class Found:
    """What the files hold: the resources to import, and how many our own export computed
    (grades, episodes, flags: tagged ``DERIVED``, recomputed here, not imported)."""

    patients: list[PatientResource]
    observations: list[ObservationResource]
    derived: int = 0
    medications: list[MedicationResource] = field(default_factory=list)
    labs: list[LabResource] = field(default_factory=list)


def read_paths(paths: list[Path]) -> tuple[list[PatientResource], list[ObservationResource]]:
    """``read_all`` without the count of derived resources."""
    found = read_all(paths)
    return found.patients, found.observations


CHECK_STEP = 500   # resources checked between two progress reports


def read_all(paths: list[Path], progress: Callable[[int, int], None] | None = None) -> Found:
    """Every resource of these files (a folder: its *.json and *.ndjson files and its
    subfolders', by path). ``progress(checked, total)`` is told every 500 resources checked
    against the FHIR models and at the end (the slow part of a large import).
    Raises ``FhirError`` listing every problem of every file."""
    files: list[Path] = []
    for p in paths:
        files += sorted(q for q in p.rglob("*") if q.suffix in (".json", ".ndjson")) \
            if p.is_dir() else [p]
    if not files:
        raise FhirError([f"{', '.join(map(str, paths))}: no .json or .ndjson file to import"])
    raw: list[tuple[str, str, dict[str, Any]]] = []   # (where, source, resource)
    problems: list[FhirProblem] = []
    for f in files:
        if f.stat().st_size > MAX_FILE_BYTES:
            raise FhirError([f"{f}: larger than {MAX_FILE_BYTES // 2**20} MB; split the export"])
        try:
            text = f.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            problems.append(FhirProblem(str(f), "?", "encoding", "", f"not UTF-8 text ({e})"))
            continue
        raw += _resources_of(f, text, problems)
    found = Found([], [])
    found.derived = sum(1 for _, _, res in raw if _ours(res))
    for n, (where, source, res) in enumerate(raw, 1):
        got = _read_resource(where, source, res, problems)
        if isinstance(got, PatientResource):
            found.patients.append(got)
        elif isinstance(got, ObservationResource):
            found.observations.append(got)
        elif isinstance(got, MedicationResource):
            found.medications.append(got)
        elif isinstance(got, LabResource):
            found.labs.append(got)
        if progress is not None and (n % CHECK_STEP == 0 or n == len(raw)):
            progress(n, len(raw))
    seen: dict[tuple[str, str], str] = {}
    for r in [*found.patients, *found.observations, *found.medications, *found.labs]:
        kind = {PatientResource: "Patient", MedicationResource: "MedicationAdministration"}.get(
            type(r), "Observation")
        k = (r.source, f"{kind}/{r.resource_id}")
        if k in seen:
            problems.append(FhirProblem(r.where, k[1], "id", r.resource_id,
                                        f"the same resource is also at {seen[k]}"))
        seen[k] = r.where
    if problems:
        raise FhirError(problems)
    return found


TOO_DEEP = "the JSON is nested too deeply to be a FHIR resource"


def _resources_of(f: Path, text: str, problems: list[FhirProblem]
                  ) -> list[tuple[str, str, dict[str, Any]]]:
    """The resources of one file with their place: a Bundle's entries, or one per NDJSON line."""
    if f.suffix == ".ndjson":
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                res = json.loads(line, parse_constant=_no_constant)
            except RecursionError:
                problems.append(FhirProblem(f"{f} line {n}", "?", "JSON", line[:80], TOO_DEEP))
                continue
            except ValueError as e:
                problems.append(FhirProblem(f"{f} line {n}", "?", "JSON", line,
                                            getattr(e, "msg", str(e))))
                continue
            if not isinstance(res, dict):
                problems.append(FhirProblem(f"{f} line {n}", "?", "JSON", line,
                                            "each line must hold one FHIR resource (an object)"))
                continue
            out.append((f"{f} line {n}", _source(res, None), res))
        return out
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        problems.append(FhirProblem(str(f), "?", "JSON", "", TOO_DEEP))
        return []
    except ValueError as e:
        where = f"{f} line {e.lineno}" if isinstance(e, json.JSONDecodeError) else str(f)
        problems.append(FhirProblem(where, "?", "JSON", "", getattr(e, "msg", str(e))))
        return []
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        kind = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        problems.append(FhirProblem(str(f), str(kind), "resourceType", str(kind),
                                    "a .json file must hold one FHIR Bundle"))
        return []
    entries = doc.get("entry")
    shell = {**doc, "entry": [{k: v for k, v in e.items() if k != "resource"}
                              if isinstance(e, dict) else e for e in entries]} \
        if isinstance(entries, list) else doc  # each resource is validated on its own below
    bundle = _validated(Bundle, shell, str(f), "Bundle", problems)
    if bundle is None:
        return []
    if bundle.type not in BUNDLE_TYPES:
        problems.append(FhirProblem(str(f), f"Bundle/{bundle.id or '?'}", "type",
                                    str(bundle.type), "allowed: " + ", ".join(BUNDLE_TYPES)))
        return []
    out = []
    for n, entry in enumerate(doc.get("entry") or [], 1):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            problems.append(FhirProblem(f"{f} entry {n}", "?", "resource", "",
                                        "the entry holds no resource"))
            continue
        out.append((f"{f} entry {n}", _source(res, entry.get("fullUrl")), res))
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _source(res: dict[str, Any], full_url: Any) -> str:
    """The source system: ``meta.source``, else the base of the entry's ``fullUrl``, else
    "unspecified" (docs/fhir.md, decision F3)."""
    meta = res.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("source"), str) and meta["source"]:
        return meta["source"][:255]
    kind, rid = res.get("resourceType"), res.get("id")
    if isinstance(full_url, str) and full_url.endswith(f"/{kind}/{rid}"):
        return full_url[: -len(f"/{kind}/{rid}")][:255]
    return "unspecified"


def _validated(model: Any, data: dict[str, Any], where: str, name: str,
               problems: list[FhirProblem]) -> Any:
    """``model.model_validate(data)``, or None with the problems added. The models raise a
    ``KeyError`` or ``TypeError`` for some malformed input (an empty ``resourceType`` inside)
    instead of a ``ValidationError``: those are refused in the same words."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as e:
        _validation_problems(where, name, e, problems)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        problems.append(FhirProblem(where, name, "(resource)", str(e)[:200],
                                    "not valid FHIR R4"))
    return None


def _validation_problems(where: str, name: str, e: pydantic.ValidationError,
                         problems: list[FhirProblem]) -> None:
    for err in e.errors()[:20]:
        loc = ".".join(str(x) for x in err["loc"] if x != "__root__") or "(resource)"
        value = err.get("input")
        shown = value if isinstance(value, str | int | float) else json.dumps(value, default=str)
        problems.append(FhirProblem(where, name, loc, str(shown)[:200],
                                    f"not valid FHIR R4: {err['msg']}"))


def _read_resource(where: str, source: str, res: dict[str, Any], problems: list[FhirProblem]
                   ) -> PatientResource | ObservationResource | MedicationResource | \
        LabResource | None:
    kind = res.get("resourceType")
    rid = res.get("id")
    name = f"{kind}/{rid}" if rid else str(kind)
    if _ours(res):
        return None  # computed by this monitor (its export): recomputed here, never charted
    models = {"Patient": Patient, "Observation": Observation,
              "MedicationAdministration": MedicationAdministration}
    if not isinstance(kind, str) or kind not in models:
        problems.append(FhirProblem(where, name, "resourceType", str(kind),
                                    "this monitor imports Patient, Observation (vital signs, "
                                    "neuro items, labs) and MedicationAdministration resources "
                                    "only (docs/fhir.md)"))
        return None
    if kind == "MedicationAdministration" and not any(
            k in res for k in ("effectiveDateTime", "effectivePeriod")):
        problems.append(FhirProblem(where, name, "effectiveDateTime", "",
                                    "a MedicationAdministration needs the time it was given "
                                    "(effectiveDateTime or effectivePeriod.start, with its "
                                    "offset)"))
        return None
    if kind == "MedicationAdministration" and not isinstance(res.get("subject"), dict):
        problems.append(FhirProblem(where, name, "subject.reference", "",
                                    "must refer to a Patient as Patient/<id>"))
        return None
    obj = _validated(models[str(kind)], res, where, name, problems)
    if obj is None:
        return None
    if not rid or len(rid) > 64:
        problems.append(FhirProblem(where, name, "id", str(rid or ""),
                                    "every resource needs an id of at most 64 characters: "
                                    "it is how a second import finds what the first stored"))
        return None
    before = len(problems)

    def bad(element: str, value: Any, why: str) -> None:
        problems.append(FhirProblem(where, name, element, str(value), why))

    got: Any
    if isinstance(obj, Patient):
        got = _patient(obj, source, where, bad)
    elif isinstance(obj, MedicationAdministration):
        got = medication(obj, source, where, bad)
    elif obj.code is not None and is_lab(obj):
        got = lab(obj, source, where, bad)
    else:
        got = _observation(obj, source, where, bad)
    return got if len(problems) == before else None


def _ours(res: dict[str, Any]) -> bool:
    """A grade, episode or flag our export made (``meta.tag`` ``DERIVED``, docs/fhir.md)."""
    meta = res.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return isinstance(tags, list) and any(
        isinstance(x, dict) and (x.get("system"), x.get("code")) == DERIVED for x in tags)


def _patient(p: Patient, source: str, where: str, bad: Any) -> PatientResource | None:
    ids = p.identifier or []
    mrn = [i for i in ids if i.type and any(c.code == "MR" for c in i.type.coding or [])]
    chosen = (mrn or [i for i in ids if i.value])[:1]
    if not chosen or not chosen[0].value:
        bad("identifier", "", "a Patient needs an identifier (the medical record number, type "
            "MR, or the first one given): it becomes the ward patient id")
        return None
    names = [" ".join([*(n.given or []), n.family or ""]).strip() or (n.text or "")
             for n in p.name or []]
    sex = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}.get(
        p.gender or "")
    birth = p.birthDate if isinstance(p.birthDate, date) else None
    return PatientResource(p.id, source, chosen[0].value, (names[0] or None) if names else None,
                           birth, sex, where)


def _codes(concept: Any, system: str) -> list[str]:
    return [c.code for c in (concept.coding or []) if c.system == system and c.code] \
        if concept is not None else []


def _quantity(q: Any, code: str, element: str, bad: Any) -> tuple[str, float] | None:
    target, units = QUANTITIES[code]
    if q is None or q.value is None:
        bad(element, "", f"no value: LOINC {code} needs a valueQuantity in "
            + " or ".join(units) + " (UCUM)")
        return None
    unit = q.code if q.system == UCUM else None
    if unit not in units:
        bad(f"{element}.code", q.code or q.unit or "",
            "the unit must be UCUM " + " or ".join(units) + f" for LOINC {code}")
        return None
    conv = units[unit]
    value = float(q.value)
    return target, (value if conv is None else conv(value))


def _observation(o: Observation, source: str, where: str, bad: Any
                 ) -> ObservationResource | None:
    def problems_bad(shown: str) -> None:
        bad("code", shown, "not a vital sign, neuro item or lab this monitor reads "
            "(docs/fhir.md lists the LOINC codes and our neuro codes)")

    if o.status not in (*CHARTED, IN_ERROR):
        bad("status", o.status, "allowed: " + ", ".join((*CHARTED, IN_ERROR))
            + " (a preliminary or cancelled value is not charted)")
        return None
    ref = o.subject.reference if o.subject is not None else None
    if not ref or not ref.startswith("Patient/") or len(ref) <= 8:
        bad("subject.reference", ref or "", "must refer to a Patient as Patient/<id>")
        return None
    at = o.effectiveDateTime or o.effectiveInstant
    if not isinstance(at, datetime) or at.tzinfo is None:
        bad("effectiveDateTime", at or "", "needs a date and time with its offset "
            "(e.g. 2026-03-01T14:05:00+01:00)")
        return None
    if o.code is None:
        bad("code", "", "an Observation needs a code (FHIR R4: 1..1)")
        return None
    out = ObservationResource(o.id, source, o.status, ref[8:], at, where=where)
    loinc = _codes(o.code, LOINC)
    neuro = _codes(o.code, NEURO_SYSTEM)
    # withdrawn (entered-in-error): what it names matters, not whether its value reads
    check = bad if o.status != IN_ERROR else (lambda *_: None)
    if BP_PANEL in loinc:
        out.fields = ("sbp_mmhg", "dbp_mmhg")
        parts = {}
        for n, comp in enumerate(o.component or []):
            for c in _codes(comp.code, LOINC):
                if c in BP_PARTS:
                    got = _quantity(comp.valueQuantity, c, f"component[{n}].valueQuantity", check)
                    if got:
                        parts[got[0]] = got[1]
        if len(parts) == 0:
            check("component", "", "a blood pressure panel (85354-9) needs a systolic (8480-6) "
                "or diastolic (8462-4) component with a value")
        out.values = parts
    elif known := [c for c in loinc if c in QUANTITIES]:
        out.fields = (QUANTITIES[known[0]][0],)
        got = _quantity(o.valueQuantity, known[0], "valueQuantity", check)
        if got:
            out.values = {got[0]: got[1]}
    elif neuro and neuro[0] in NEURO_INTEGERS:
        out.fields = (NEURO_INTEGERS[neuro[0]],)
        v = o.valueInteger
        if v is None:
            check("valueInteger", "", f"{neuro[0]} needs a valueInteger (points)")
        else:
            out.values = {NEURO_INTEGERS[neuro[0]]: v}
    elif neuro and neuro[0] in LOCAL_CHOICES:
        target, allowed = LOCAL_CHOICES[neuro[0]]
        out.fields = (target,)
        level = _codes(o.valueCodeableConcept, NEURO_SYSTEM)
        if not level or level[0] not in allowed:
            check("valueCodeableConcept", ",".join(level), "allowed: "
                  + ", ".join(allowed) + f" (system {NEURO_SYSTEM})")
        else:
            out.values = {target: level[0]}
    else:
        shown = ", ".join(f"{c.system or '?'}|{c.code or '?'}" for c in o.code.coding or [])
        problems_bad(shown or (o.code.text or ""))
        return None
    return out
