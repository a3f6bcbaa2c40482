"""The teaching case library: synthetic cases, each a case card with its timeline.

A case is a canonical assessment CSV (ward-local clock times, no offsets) and a **case card**:
who the synthetic patient is, the summary and learning points, the spec §7 trial whose timing it
follows, the grades the engine gives at named times, and the medications (each with why it
was given), lab results, ICU stays and other events of the stay. Built-in cases are files in
``sample_data/`` (``<name>.card.json`` beside ``<name>.csv``); cases educators build are saved
in the ward record (``teaching_cases``, append-only, each version kept with who and when) and
export to the same two files.

Loading a case puts a fresh copy into the demo ward, moved forward by whole days so it ends
within the last day (decision W7): clock times, days after infusion and grades stay those of the
card (across a clock change of the ward zone, real elapsed time and so the grades). An earlier
copy of the same case is marked entered-in-error first, never deleted.
``verify`` grades a case with the engine and lists every claim of its card that the engine does
not bear out - the tests run it on every built-in case, the library page on every case.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import grading
from grading import csvsafe
from grading.fields import COLUMNS
from grading.parse import InputError, Problem
from grading.result import Status

from . import limits
from . import tables as t
from .medications import NOT_STATED, IndicationError, check_indication
from .store import LAB_UNITS, SYSTEM_USER, PatientIn, StoreError, WardStore, now

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
CARD_SUFFIX = ".card.json"
RELOAD_REASON = "teaching case loaded again"
EDUCATOR_PREFIX = "EDU-"
GIVEN_FIELD = {kind: field for kind, (_, field) in t.ADMINISTRATION_KINDS.items()}

# Spec §7 (pivotal trials, as the spec gives them; figures it tags [R] are to be checked against
# the paper). A card names the trial of its product; this table is the one source the tests
# hold every built-in card against, and the one a case built by an educator takes its trial from.
TRIALS: dict[str, dict[str, Any]] = {
    "axi-cel": {"trial": "ZUMA-1", "citation": "Neelapu SS et al. N Engl J Med 2017;377:2531-2544",
                "disease": "large B-cell lymphoma", "crs_any_pct": 93, "crs_grade3_plus_pct": 13,
                "median_crs_onset_day": 2, "crs_onset_range": "day 1-12",
                "neurotoxicity_any_pct": 64, "neurotoxicity_grade3_plus_pct": 28,
                "median_neurotoxicity_onset_day": 5,
                "scales": "CRS: Lee 2014; neurotoxicity: CTCAE"},
    "tisa-cel": {"trial": "JULIET", "citation": "Schuster SJ et al. N Engl J Med 2019;380:45-56",
                 "disease": "large B-cell lymphoma", "crs_any_pct": 58, "crs_grade3_plus_pct": 22,
                 "median_crs_onset_day": 3, "neurotoxicity_any_pct": 21,
                 "neurotoxicity_grade3_plus_pct": 12, "median_neurotoxicity_onset_day": 6,
                 "scales": "CRS: Penn; neurotoxicity: CTCAE"},
    "liso-cel": {"trial": "TRANSCEND NHL 001",
                 "citation": "Abramson JS et al. Lancet 2020;396:839-852",
                 "disease": "large B-cell lymphoma", "crs_any_pct": 42, "crs_grade3_plus_pct": 2,
                 "median_crs_onset_day": 5, "crs_onset_range": "day 1-14",
                 "neurotoxicity_any_pct": 30, "neurotoxicity_grade3_plus_pct": 10,
                 "median_neurotoxicity_onset_day": 9,
                 "scales": "CRS: Lee 2014; neurotoxicity: CTCAE"},
    "brexu-cel": {"trial": "ZUMA-2", "citation": "Wang M et al. N Engl J Med 2020;382:1331-1342",
                  "disease": "mantle cell lymphoma", "crs_any_pct": 91, "crs_grade3_plus_pct": 15,
                  "median_crs_onset_day": 2, "crs_onset_range": "day 1-13",
                  "neurotoxicity_any_pct": 63, "neurotoxicity_grade3_plus_pct": 31,
                  "median_neurotoxicity_onset_day": 7,
                  "scales": "CRS: Lee 2014; neurotoxicity: CTCAE"},
    "ide-cel": {"trial": "KarMMa", "citation": "Munshi NC et al. N Engl J Med 2021;384:705-716",
                "disease": "multiple myeloma", "crs_any_pct": 84, "crs_grade3_plus_pct": 5,
                "median_crs_onset_day": 1, "crs_onset_range": "day 1-12",
                "neurotoxicity_any_pct": 18, "neurotoxicity_grade3_plus_pct": 3,
                "median_neurotoxicity_onset_day": 2,
                "scales": "CRS: Lee 2014 (modified); neurotoxicity: CTCAE"},
    "cilta-cel": {"trial": "CARTITUDE-1", "citation": "Berdeja JG et al. Lancet 2021;398:314-324",
                  "disease": "multiple myeloma", "crs_any_pct": 95, "crs_grade3_plus_pct": 4,
                  "median_crs_onset_day": 7, "crs_onset_range": "IQR day 5-8",
                  "neurotoxicity_any_pct": 17, "neurotoxicity_grade3_plus_pct": 2,
                  "median_neurotoxicity_onset_day": 8,
                  "scales": "ASTCT; other (non-ICANS) neurotoxicity 12 % / 9 %, around day 27"},
}
SYNTHETIC_NOTE = ("Synthetic case: invented to follow the timing this trial reports in its "
                  "published paper, not taken from any patient or trial record. Some of the "
                  "trial's figures are still to be checked against the paper.")
# Decision T14: the spec §7 table holds adult trials only (lymphoma, myeloma). A child's case
# quotes none of their figures; it may name the product's pivotal paediatric trial, without
# figures (none are in the reference), and follows the spec §7 guidance for the product type.
PAEDIATRIC_TRIALS: dict[str, dict[str, str]] = {
    "tisa-cel": {"trial": "ELIANA", "citation": "Maude SL et al. N Engl J Med 2018;378:439-448",
                 "disease": "B-cell acute lymphoblastic leukaemia in children and young adults"},
}
PAEDIATRIC_NOTE = ("Synthetic case, not taken from any patient or trial record. The case "
                   "library's table of published pivotal trials (adult lymphoma and myeloma) "
                   "has no paediatric trial, so no trial figures are quoted for this child; the "
                   "timing follows the published pattern for the product type.")
ADULT_YEARS = 18


def trial_for(product: str, age_years: float) -> Trial:
    """The trial a case of this product and age names (decision T14)."""
    if age_years >= ADULT_YEARS:
        return Trial(product=product, **TRIALS[product], note=SYNTHETIC_NOTE)
    named = PAEDIATRIC_TRIALS.get(product)
    if named is None:
        return Trial(product=product, trial=None, citation=None, disease="children: no trial "
                     "in the reference", note=PAEDIATRIC_NOTE)
    return Trial(product=product, **named, note=PAEDIATRIC_NOTE + f" {named['trial']} is the "
                 f"pivotal paediatric {product} trial, named without figures.")


class CardError(ValueError):
    """A case card that does not hold together; ``problems`` name the field each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ------------------------------------------------------------------------------ the card
def _naive(v: datetime) -> datetime:
    if v.tzinfo is not None:
        raise ValueError("give a ward-local clock time without a UTC offset")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CasePatient(_Model):
    name: str = Field(min_length=1, max_length=limits.most("name"), title="Name (synthetic)")
    bed: str | None = Field(None, max_length=limits.most("bed"), title="Bed")
    age_years: float = Field(ge=0, le=125, title="Age (years)")
    sex: Literal["female", "male", "other", "unknown"] = Field(title="Sex")
    weight_kg: float = Field(ge=0.5, le=350, title="Weight (kg)")
    product: str = Field(title="CAR-T product")
    disease: str = Field(min_length=1, max_length=limits.most("disease"), title="Disease")

    @field_validator("product")
    @classmethod
    def _product(cls, v: str) -> str:
        if v not in t.PRODUCTS:
            raise ValueError("product must be one of " + ", ".join(t.PRODUCTS))
        return v


TRIAL_FIGURES = ("crs_any_pct", "crs_grade3_plus_pct", "median_crs_onset_day",
                 "neurotoxicity_any_pct", "neurotoxicity_grade3_plus_pct",
                 "median_neurotoxicity_onset_day", "scales")


class Trial(_Model):
    """The spec §7 trial whose timing a case follows, with its figures; or, for a child, a
    paediatric trial named without figures (the spec §7 table has none; decision T14)."""

    product: str
    trial: str | None = Field(description="None: no trial in the reference for this patient")
    citation: str | None
    disease: str
    crs_any_pct: float | None = None
    crs_grade3_plus_pct: float | None = None
    median_crs_onset_day: float | None = None
    crs_onset_range: str | None = None
    neurotoxicity_any_pct: float | None = None
    neurotoxicity_grade3_plus_pct: float | None = None
    median_neurotoxicity_onset_day: float | None = None
    scales: str | None = None
    note: str = Field(min_length=1)

    @property
    def has_figures(self) -> bool:
        return all(getattr(self, f) is not None for f in TRIAL_FIGURES)

    @model_validator(mode="after")
    def _figures_together(self) -> Trial:
        given = [f for f in TRIAL_FIGURES if getattr(self, f) is not None]
        if given and len(given) != len(TRIAL_FIGURES):
            raise ValueError("trial: give every figure of the published trial or none ("
                             + ", ".join(sorted(set(TRIAL_FIGURES) - set(given))) + " missing)")
        return self


class ExpectedGrade(_Model):
    time: datetime
    crs: int | None = Field(ge=0, le=5)        # None: not evaluable
    icans: int | None = Field(ge=0, le=5)
    crs_status: Status = "final"
    icans_status: Status = "final"
    note: str = ""

    @field_validator("time")
    @classmethod
    def _local_time(cls, v: datetime) -> datetime:
        return _naive(v)


class Expected(_Model):
    crs_max: int | None = Field(ge=0, le=5)
    icans_max: int | None = Field(ge=0, le=5)
    flags: dict[str, list[datetime]] = Field(default_factory=dict,
                                             description="review flag code -> the rows raising it")
    grades: list[ExpectedGrade] = Field(min_length=1)

    @field_validator("flags")
    @classmethod
    def _flag_times(cls, v: dict[str, list[datetime]]) -> dict[str, list[datetime]]:
        for times in v.values():
            for x in times:
                _naive(x)
        return v


class Medication(_Model):
    time: datetime
    kind: str
    drug: str = Field(min_length=1)
    dose: float | None = Field(None, gt=0, description="None: given, dose not recorded")
    unit: str
    route: str | None = None
    note: str | None = None
    indication: str = Field(NOT_STATED, description="why it was given (decision W20): one of "
                            "the record's indications; absent: not stated")

    @field_validator("time")
    @classmethod
    def _local_time(cls, v: datetime) -> datetime:
        return _naive(v)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in t.ADMINISTRATION_KINDS:
            raise ValueError("medication: not a kind the ward records; one of "
                             + ", ".join(t.KIND_WORDS[k] for k in t.ADMINISTRATION_KINDS))
        return v

    @model_validator(mode="after")
    def _unit(self) -> Medication:
        unit = t.ADMINISTRATION_KINDS[self.kind][0]
        if self.unit != unit:
            raise ValueError(f"{t.KIND_WORDS[self.kind]} is recorded in {unit}, not "
                             f"{self.unit}")
        return self

    @model_validator(mode="after")
    def _indication(self) -> Medication:
        try:  # the record's own check (W20): the same values, the same words
            check_indication(self.indication)
        except IndicationError as e:
            raise ValueError(f"{self.drug} at {self.time:%Y-%m-%dT%H:%M}: {e}") from None
        return self


class IcuStay(_Model):
    """A stay in intensive care (decision R10), in the card's clock: loaded into the ward
    record's ICU stays with the case. ``returned`` None: still in the ICU at the case's end."""

    transferred: datetime
    returned: datetime | None = None

    @field_validator("transferred", "returned")
    @classmethod
    def _local_time(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _naive(v)

    @model_validator(mode="after")
    def _return_after_transfer(self) -> IcuStay:
        if self.returned is not None and self.returned <= self.transferred:
            raise ValueError(f"the return to the ward ({self.returned:%Y-%m-%dT%H:%M}) must be "
                             f"after the transfer to the ICU ({self.transferred:%Y-%m-%dT%H:%M})")
        return self


class Event(_Model):
    """A treatment or finding the ward record has no field for (imaging, antibiotics, an
    intubation): shown on the card at its time, not stored as a clinical row."""

    time: datetime
    what: str = Field(min_length=1)
    dose: float | None = None
    unit: str | None = None
    route: str | None = None
    note: str | None = None

    @field_validator("time")
    @classmethod
    def _local_time(cls, v: datetime) -> datetime:
        return _naive(v)


class Labs(_Model):
    units: dict[str, str] = Field(default_factory=dict)
    draws: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values(self) -> Labs:
        for test, unit in self.units.items():
            if test not in LAB_UNITS:
                raise ValueError(f"labs: unknown test '{test}'; known: " + ", ".join(LAB_UNITS))
            if unit not in LAB_UNITS[test][1]:
                raise ValueError(f"labs: {test} in '{unit}': use one of "
                                 + ", ".join(LAB_UNITS[test][1]))
        for i, d in enumerate(self.draws):
            if "time" not in d:
                raise ValueError(f"labs: draw {i + 1} has no time")
            _naive(datetime.fromisoformat(str(d["time"])))
            for test, value in d.items():
                if test == "time":
                    continue
                if test not in self.units:
                    raise ValueError(f"labs: draw {i + 1}: '{test}' has no unit in labs.units")
                if not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"labs: draw {i + 1}: {test} must be a number of 0 or more")
        return self

    def results(self) -> list[tuple[str, float, str, datetime]]:
        """(test, value, unit, taken at) for each value, in time order."""
        out = []
        for d in self.draws:
            when = datetime.fromisoformat(str(d["time"]))
            out += [(test, float(v), self.units[test], when) for test, v in d.items()
                    if test != "time"]
        return sorted(out, key=lambda x: x[3])


class CaseCard(_Model):
    id: str = Field(min_length=1, max_length=64, title="Case id")
    title: str = Field(min_length=1, max_length=limits.most("case_title"), title="Title")
    timeline: str = Field(title="Timeline file", description="the case's canonical CSV")
    synthetic: Literal[True] = Field(title="Synthetic", description="always true: never a "
                                     "real patient")
    patient: CasePatient
    summary: str = Field(min_length=1, max_length=limits.most("summary"), title="Summary")
    learning_points: list[str] = Field(min_length=1, title="Learning points")
    trial: Trial
    expected: Expected
    medications: list[Medication] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    labs: Labs = Field(default_factory=Labs)
    icu: list[IcuStay] = Field(default_factory=list, title="ICU stays")

    @model_validator(mode="after")
    def _one_icu_stay_at_a_time(self) -> CaseCard:
        stays = sorted(self.icu, key=lambda s: s.transferred)
        for before, after in zip(stays, stays[1:]):
            if before.returned is None or after.transferred < before.returned:
                raise ValueError(
                    f"icu: the stay from {after.transferred:%Y-%m-%dT%H:%M} starts before the "
                    f"stay from {before.transferred:%Y-%m-%dT%H:%M} "
                    + ("has a return to the ward" if before.returned is None else
                       f"ends ({before.returned:%Y-%m-%dT%H:%M})")
                    + "; a patient is in one ICU stay at a time")
        return self

    @model_validator(mode="after")
    def _trial_of_the_product(self) -> CaseCard:
        if self.trial.product != self.patient.product:
            raise ValueError(f"trial.product {self.trial.product} is not the patient's product "
                             f"{self.patient.product}")
        if self.patient.age_years < ADULT_YEARS and self.trial.has_figures:
            raise ValueError("trial: a child's case quotes no adult trial figures (the "
                             "published pivotal trials in the library are adult trials)")
        return self


def parse_card(data: str | bytes | Mapping[str, Any], where: str = "card") -> CaseCard:
    """A case card from JSON (or a dict), or ``CardError`` naming every bad field."""
    try:
        raw = json.loads(data) if isinstance(data, (str, bytes)) else dict(data)
        return CaseCard.model_validate(raw)
    except json.JSONDecodeError as e:
        raise CardError([f"{where}: not JSON ({e.msg}, line {e.lineno})"]) from None
    except ValidationError as e:
        raise CardError([f"{where}: " + ".".join(str(x) for x in err["loc"]) + ": " + err["msg"]
                         if err["loc"] else f"{where}: {err['msg']}" for err in e.errors()]
                        ) from None


def card_json(card: CaseCard) -> str:
    """The card as the sample_data files write it (ward-local times to the minute)."""
    return json.dumps(_plain(card.model_dump()), indent=1,
                      ensure_ascii=False) + "\n"


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat(timespec="minutes" if v.second == 0 else "seconds")
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


# ------------------------------------------------------------------------------ the library
@dataclass(frozen=True)
class LibraryCase:
    card: CaseCard
    timeline: bytes                 # the canonical CSV (ward-local clock times)
    source: str                     # "built-in" (sample_data/) or "educator" (the ward record)
    saved_by: str | None = None     # educator cases: who saved this version and when
    saved_at: datetime | None = None
    version: int = 1

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def stem(self) -> str:
        return Path(self.card.timeline).stem


@cache
def builtin_cases() -> tuple[LibraryCase, ...]:
    """Every case card in sample_data/ with its timeline, by case id."""
    out = []
    for path in sorted(SAMPLE_DATA.glob(f"*{CARD_SUFFIX}")):
        card = parse_card(path.read_bytes(), path.name)
        timeline = SAMPLE_DATA / card.timeline
        if not timeline.is_file():
            raise CardError([f"{path.name}: timeline file {card.timeline} is missing"])
        out.append(LibraryCase(card, timeline.read_bytes(), "built-in"))
    return tuple(sorted(out, key=lambda c: c.id))


def builtin_case(case_id: str) -> LibraryCase | None:
    return next((c for c in builtin_cases() if c.id == case_id), None)


def saved_cases(store: WardStore) -> list[LibraryCase]:
    """The current version of every case educators saved to the library."""
    out = []
    for row in store.teaching_cases():
        versions = store.teaching_case_versions(row["case_id"])
        out.append(LibraryCase(parse_card(row["card"], row["case_id"]),
                               row["timeline"].encode("utf-8"), "educator",
                               row["recorded_by"], row["recorded_at"],
                               sum(v["status"] == "final" for v in versions)))
    return out


def library(store: WardStore) -> list[LibraryCase]:
    """Built-in cases, then the cases educators saved."""
    return [*builtin_cases(), *saved_cases(store)]


def find_case(store: WardStore, case_id: str) -> LibraryCase | None:
    return next((c for c in library(store) if c.id == case_id), None)


# ------------------------------------------------------------------------------ checking
def verify(case: LibraryCase, tz: str = "UTC") -> list[str]:
    """Every claim of the card the engine does not bear out, and every way the card and its
    timeline disagree; an empty list when the case is as its card says."""
    card, problems = case.card, []
    try:
        a = grading.read_csv(case.timeline, tz=tz)
    except InputError as e:
        return [f"timeline: {p}" for p in e.problems]
    g = grading.grade(a)
    results = list(g.results())
    if {r.patient_id for r in results} != {card.id}:
        problems.append(f"timeline: rows are for {sorted({r.patient_id for r in results})}, "
                        f"not {card.id}")
    (summary,) = grading.summarize(g) if results else (None,)
    at = {_local(r.time, tz): r for r in results}
    if summary is not None:
        got = (summary.crs_max_grade, summary.icans_max_grade)
        if got != (card.expected.crs_max, card.expected.icans_max):
            problems.append(f"maximum grades: the engine gives CRS {got[0]}, ICANS {got[1]}; "
                            f"the card says CRS {card.expected.crs_max}, "
                            f"ICANS {card.expected.icans_max}")
    stated = {e.time for e in card.expected.grades}
    for e in card.expected.grades:
        r = at.get(e.time)
        if r is None:
            problems.append(f"grade at {e.time:%Y-%m-%dT%H:%M}: no assessment at that time")
            continue
        for name, grade, status, want, want_status in (
                ("CRS", r.crs.grade, r.crs.status, e.crs, e.crs_status),
                ("ICANS", r.icans.grade, r.icans.status, e.icans, e.icans_status)):
            if (grade, status) != (want, want_status):
                problems.append(f"{name} at {e.time:%Y-%m-%dT%H:%M}: the engine gives "
                                f"{grade_words(grade)} {status}; the card says {grade_words(want)} "
                                f"{want_status}")
    for when, r in at.items():  # every row the card does not name is final
        if when not in stated and (r.crs.status, r.icans.status) != ("final", "final"):
            problems.append(f"{when:%Y-%m-%dT%H:%M}: CRS {r.crs.status}, ICANS "
                            f"{r.icans.status}; the card states no grade there")
    raised: dict[str, list[datetime]] = {}
    for when, r in at.items():
        for f in r.flags:
            raised.setdefault(f.code, []).append(when)
    if raised != {k: sorted(v) for k, v in card.expected.flags.items()}:
        problems.append("review flags: the engine raises "
                        + (_flag_text(raised) or "none") + "; the card says "
                        + (_flag_text(card.expected.flags) or "none"))
    problems += _medication_problems(case)
    problems += _icu_problems(case)
    ages = {float(x) for x in a.frame["age_years"].dropna()}
    if ages and ages != {float(card.patient.age_years)}:
        problems.append(f"patient.age_years {card.patient.age_years:g} but the timeline says "
                        + ", ".join(f"{x:g}" for x in sorted(ages)))
    return problems


def _medication_problems(case: LibraryCase) -> list[str]:
    """The timeline's 'given since the previous row' fields are exactly what the card's
    medications give (decision W1: a dose counts on the first assessment at or after it)."""
    rows = csv_rows(case.timeline)
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    derived: set[tuple[int, str]] = set()
    problems = []
    for m in case.card.medications:
        field = GIVEN_FIELD[m.kind]
        if field is None:
            continue
        i = next((i for i, x in enumerate(times) if x >= m.time), None)
        if i is None:
            problems.append(f"medication {m.drug} at {m.time:%Y-%m-%dT%H:%M}: after the last "
                            "assessment")
            continue
        derived.add((i, field))
    flagged = {(i, f) for i, r in enumerate(rows) for f in set(GIVEN_FIELD.values()) - {None}
               if (r.get(f) or "").lower() in ("true", "yes", "1")}
    for i, f in sorted(flagged - derived):
        problems.append(f"timeline {rows[i]['time']}: {f} with no medication on the card")
    for i, f in sorted(derived - flagged):
        problems.append(f"timeline {rows[i]['time']}: the card's medication sets {f}, the row "
                        "does not")
    return problems


ICU_EVENTS = {"ICU admission": "transferred", "back to the ward": "returned"}


def _icu_problems(case: LibraryCase) -> list[str]:
    """The card's ICU stays within its timeline (a stay after the last assessment would be
    loaded in the future), and each "ICU admission" or "back to the ward" event of the card
    a transfer or return of one of its stays (decision R10: the registry counts the stays)."""
    last = max(datetime.fromisoformat(r["time"]) for r in csv_rows(case.timeline))
    problems = []
    for s in case.card.icu:
        for name, at in (("transferred", s.transferred), ("returned", s.returned)):
            if at is not None and at > last:
                problems.append(f"ICU stay from {s.transferred:%Y-%m-%dT%H:%M}: {name} after "
                                "the last assessment")
    for e in case.card.events:
        side = ICU_EVENTS.get(e.what)
        if side is not None and all(getattr(s, side) != e.time for s in case.card.icu):
            problems.append(f"event '{e.what}' at {e.time:%Y-%m-%dT%H:%M}: no ICU stay on the "
                            f"card {side} then (give it in icu)")
    return problems


def _flag_text(flags: Mapping[str, list[datetime]]) -> str:
    return "; ".join(f"{code} at " + ", ".join(f"{x:%Y-%m-%dT%H:%M}" for x in sorted(times))
                     for code, times in sorted(flags.items()))


def grade_words(g: int | None) -> str:
    """A grade as the teaching pages and exports write it."""
    return "not evaluable" if g is None else str(g)


def grade_changes(results: Iterable[grading.RowResult]) -> list[int]:
    """The first assessment and every one where a CRS or ICANS grade or status changes (the
    grades a card states, and the key moments of a replay or quiz)."""
    out, last = [], None
    for i, r in enumerate(results):
        now_ = (r.crs.grade, r.crs.status, r.icans.grade, r.icans.status)
        if i == 0 or now_ != last:
            out.append(i)
        last = now_
    return out


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(grading.parse.ward_zone(tz)).replace(tzinfo=None)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """A case timeline's rows (ward-local clock times as written)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


# ------------------------------------------------------------------------------ loading
def shift_for(timeline: bytes, at: datetime, tz: Any) -> timedelta:
    """Whole days that move a case's last assessment within the day before ``at``."""
    last = max(datetime.fromisoformat(r["time"]) for r in csv_rows(timeline))
    if last.tzinfo is not None:
        raise InputError([Problem("time", "not_a_time",
                                  "teaching cases use ward-local times without an offset")])
    local_now = at.astimezone(tz).replace(tzinfo=None)
    return timedelta(days=(local_now - last).days)


def day_mover(timeline: bytes, at: datetime, tz: Any) -> tuple[timedelta,
                                                                 Callable[[datetime], datetime]]:
    """Decision W7: the whole days that move a case's last assessment within the day before
    ``at`` (``shift_for``), and the mover that puts it at its card clock time on that day and
    every other time of the case at its real distance from it. Off a clock change this is
    the card's clock time plus whole days; across one, real elapsed time is kept (the grades
    stay the card's, decision D9) and each time carries its UTC offset, so a local time the
    clock change skips or repeats is never written (it would be refused, V4). A last clock
    time the change skips is read with the offset before it; should that put it after
    ``at``, the case is moved one day less."""
    shift = shift_for(timeline, at, tz)
    last = max(datetime.fromisoformat(r["time"]) for r in csv_rows(timeline))
    end = (last + shift).replace(tzinfo=tz).astimezone(UTC)
    if end > at.astimezone(UTC):
        shift -= timedelta(days=1)
        end -= timedelta(days=1)

    def move(t: datetime) -> datetime:
        return (end - (last - t)).astimezone(tz)
    return shift, move


def mover(until: datetime, at: datetime, tz: Any) -> Callable[[datetime], datetime]:
    """Case-local time -> the instant in the ward that keeps its distance from ``until``, with
    ``until`` put at ``at`` (to the minute; decision W16: the demo ward ends now). Real
    elapsed time is kept, also across a clock change, and the result carries its UTC offset
    (a local time that does not exist or is ambiguous on a clock-change day is never written)."""
    end = at.astimezone(UTC).replace(second=0, microsecond=0)

    def move(t: datetime) -> datetime:
        return (end - (until - t)).astimezone(tz)
    return move


def cut_timeline(timeline: bytes, until: datetime) -> bytes:
    """The CSV without the assessments after the case-local time ``until``."""
    rows = [r for r in csv_rows(timeline) if datetime.fromisoformat(r["time"]) <= until]
    if not rows:
        raise StoreError(f"the case has no assessment at or before {until:%d %b %Y %H:%M}")
    return _csv(rows)


def shifted_timeline(timeline: bytes, shift: timedelta | Callable[[datetime], datetime]
                     ) -> bytes:
    """The CSV with every time and the infusion time moved by ``shift`` (a whole-day
    timedelta, or a ``mover``)."""
    move = shift if callable(shift) else (lambda t: t + shift)
    rows = csv_rows(timeline)
    for r in rows:
        for col in ("time", "infusion_time"):
            if r.get(col):  # to the minute, or to the second when recorded so (issue 18.10)
                t = move(datetime.fromisoformat(r[col]))
                r[col] = t.isoformat(timespec="minutes" if t.second == 0 else "seconds")
    return _csv(rows)


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def infusion_of(timeline: bytes, tz: Any) -> datetime | None:
    when = next((datetime.fromisoformat(r["infusion_time"]) for r in csv_rows(timeline)
                 if r.get("infusion_time")), None)
    if when is None:
        return None
    return when.astimezone(tz) if when.tzinfo is not None else when.replace(tzinfo=tz)


def load_case(store: WardStore, case: LibraryCase, at: datetime | None = None,
              by: str = SYSTEM_USER, *, replace: bool = True,
              until: datetime | None = None) -> int:
    """Put a fresh copy of ``case`` into the demo ward, ending within the day before ``at``,
    every write recorded under ``by`` (the educator who asked for it; ``system`` only for
    the demo ward of the first run) and the load itself audited (``teaching_case_loaded``).
    A copy already there is marked entered-in-error first (``replace``), or left as it is
    when it has assessments and ``replace`` is False. Returns the assessments loaded.

    ``until`` (a case-local time): the case as it stood then, put at ``at`` - the
    assessments, medications and lab results after it are left out and the rest moved by
    the exact shift that makes ``until`` now (decision W16; the demo ward of the first run);
    an ICU stay that starts after it is left out, one that ends after it is loaded open.

    Each medication is recorded with the indication its card gives (decision W20; "not
    stated" when the card gives none) and each ICU stay of the card as an ICU stay of the
    record (R10), so the registry export and the review show them."""
    at = at or now()
    tz = store.tz
    card = case.card
    if until is None:
        shift, move = day_mover(case.timeline, at, tz)
        data = shifted_timeline(case.timeline, move)
    else:
        move = mover(until, at, tz)
        data = shifted_timeline(cut_timeline(case.timeline, until), move)
        shift = move(until).replace(tzinfo=None) - until  # for the audit: ward clock time
    medications = [m for m in card.medications if until is None or m.time <= until]
    labs = [x for x in card.labs.results() if until is None or x[3] <= until]
    stays = icu_stays_until(card, until)
    infusion = infusion_of(data, tz)
    existing = store.patient(card.id)
    if existing is None:
        store.admit(PatientIn(**admission(card), is_demo=True, infusion_time=infusion), by=by)
    elif not existing["is_demo"]:
        raise StoreError(f"patient '{card.id}' exists and is not a demo patient")
    else:
        if store.timeline_rows(card.id) and not replace:
            return 0
        store.clear_demo_patient(card.id, RELOAD_REASON, by=by)
        changes = {k: v for k, v in {"infusion_time": infusion, "discharged_at": None,
                                      **admission(card)}.items()
                   if k != "patient_id" and existing.get(k) != v}
        if changes:
            store.update_patient(card.id, changes, RELOAD_REASON, by=by)
    n = store.import_csv(data, by=by, demo=True)
    store.record_administrations(
        card.id, [(m.kind, move(m.time), m.dose, None, None, m.indication)
                  for m in medications], by=by)
    store.record_labs(card.id, [(test, value, unit, move(when))
                                for test, value, unit, when in labs], by=by)
    for stay in stays:
        store.record_icu_transfer(card.id, move(stay.transferred), by=by,
                                  returned_at=None if stay.returned is None
                                  else move(stay.returned))
    store.note(by, "teaching_case_loaded", "teaching_case", card.id, card.id,
               after={"source": case.source, "version": case.version,
                      "shift_days": shift.days, "assessments": n,
                      **({} if until is None else {
                          "until": until.isoformat(timespec="minutes"),
                          "shift_minutes": int(shift.total_seconds() // 60)})})
    return n


def icu_stays_until(card: CaseCard, until: datetime | None) -> list[IcuStay]:
    """The card's ICU stays as they stood at the case-local time ``until`` (all of them when
    None): a stay that starts after it is left out, one that ends after it is still open."""
    if until is None:
        return list(card.icu)
    return [s if s.returned is None or s.returned <= until else IcuStay(transferred=s.transferred)
            for s in card.icu if s.transferred <= until]


def admission(card: CaseCard) -> dict[str, Any]:
    p = card.patient
    return {"patient_id": card.id, "name": p.name, "product": p.product,
            "indication": f"{p.disease} (demo)", "bed": p.bed, "weight_kg": p.weight_kg,
            "sex": p.sex}


# ------------------------------------------------------------------------------ building
def next_case_id(store: WardStore) -> str:
    """The next free id for a case an educator builds: EDU-001, EDU-002, ..."""
    taken = {p["patient_id"] for p in store.patients()} | {c.id for c in library(store)}
    n = 1
    while f"{EDUCATOR_PREFIX}{n:03d}" in taken:
        n += 1
    return f"{EDUCATOR_PREFIX}{n:03d}"


def record_csv(store: WardStore, patient_id: str) -> str:
    """A patient's effective record as the sample_data CSV: the canonical columns in use,
    times as ward-local clock times without an offset."""
    rows = store.timeline_rows(patient_id)
    if not rows:
        raise StoreError(f"'{patient_id}' has no assessments yet")
    used = [c for c in COLUMNS if c in ("patient_id", "time")
            or any(r.get(c) is not None for r in rows)]
    out = io.StringIO()
    w = csvsafe.writer(out)  # formula-safe cells (docs/security.md)
    w.writerow(used)
    for r in rows:
        w.writerow([_cell(r.get(c), store.tz) for c in used])
    return out.getvalue()


def _cell(v: Any, tz: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        local = v.astimezone(tz).replace(tzinfo=None)
        return local.isoformat(timespec="minutes" if local.second == 0 else "seconds")
    if isinstance(v, float):
        return f"{v:g}" if v != int(v) else (f"{v:.1f}" if abs(v) < 1e6 else f"{v:g}")
    return str(v)


def key_grades(results: Sequence[grading.RowResult], tz: Any) -> list[ExpectedGrade]:
    """The grades a card states for a case: the first assessment and every one where a CRS
    or ICANS grade or status changes."""
    return [ExpectedGrade(time=r.time.astimezone(tz).replace(tzinfo=None), crs=r.crs.grade,
                          icans=r.icans.grade, crs_status=r.crs.status,
                          icans_status=r.icans.status)
            for r in (results[i] for i in grade_changes(results))]


def card_from_record(store: WardStore, patient_id: str, *, title: str, summary: str,
                     learning_points: list[str], disease: str, age_years: float | None = None
                     ) -> tuple[CaseCard, str]:
    """The case card and CSV of a demo patient an educator charted: who the patient is from
    the admission, medications and labs from the record, the trial from TRIALS, and the grades
    the engine gives now (maxima, every change of grade, the review flags)."""
    found = limits.problems([("case_title", title), ("summary", summary), ("disease", disease),
                             ("learning_points", "\n".join(learning_points))])
    if found:
        raise StoreError(limits.refusal(found), found)
    p = store.patient(patient_id)
    if p is None or not p["is_demo"]:
        raise StoreError("only a synthetic demo patient can become a teaching case")
    if p.get("product") not in TRIALS:
        raise StoreError("choose the product (one of " + ", ".join(TRIALS) + ") at admission: "
                         "the case follows its trial's published timing")
    text = record_csv(store, patient_id)
    a = grading.read_csv(text.encode("utf-8"), tz=store.tz.key)
    g = grading.grade(a)
    results = list(g.results())
    (summ,) = grading.summarize(g)
    ages = [float(x) for x in a.frame["age_years"].dropna()]
    age = age_years if age_years is not None else (ages[-1] if ages else None)
    if age is None:
        raise StoreError("give the patient's age (the timeline has none)")
    tz = store.tz
    flags: dict[str, list[datetime]] = {}
    for r in results:
        for f in r.flags:
            flags.setdefault(f.code, []).append(r.time.astimezone(tz).replace(tzinfo=None))
    meds = medications_of_record(store, patient_id)
    labs = store.labs(patient_id)
    units = {x["test"]: x["entered_unit"] for x in labs}
    draws: dict[datetime, dict[str, Any]] = {}
    for x in labs:
        when = x["taken_at"].astimezone(tz).replace(tzinfo=None)
        draws.setdefault(when, {"time": when.isoformat(timespec="minutes")})
        value = x["value"] / LAB_UNITS[x["test"]][1][units[x["test"]]]  # in the first unit used
        draws[when][x["test"]] = round(value, 3)
    card = CaseCard(
        id=patient_id, title=title, timeline=f"{patient_id.lower()}.csv", synthetic=True,
        patient=CasePatient(name=p.get("name") or f"{patient_id} (synthetic)", bed=p.get("bed"),
                            age_years=age, sex=p.get("sex") or "unknown",
                            weight_kg=p.get("weight_kg") or 70.0, product=p["product"],
                            disease=disease),
        summary=summary, learning_points=learning_points,
        trial=trial_for(p["product"], age),
        expected=Expected(crs_max=summ.crs_max_grade, icans_max=summ.icans_max_grade,
                          flags=flags, grades=key_grades(results, tz)),
        medications=meds, labs=Labs(units=units, draws=[draws[k] for k in sorted(draws)]),
        icu=[IcuStay(transferred=s["transferred_at"].astimezone(tz).replace(tzinfo=None),
                     returned=None if s["returned_at"] is None
                     else s["returned_at"].astimezone(tz).replace(tzinfo=None))
             for s in store.icu_stays(patient_id)])
    return card, text


# a "given since the previous row" box ticked on the form, with no recorded administration: the
# medication the card lists for it (the form does not say which corticosteroid, or the dose)
TICKED = {"antipyretic_given": ("antipyretic", t.KIND_WORDS["antipyretic"]),
          "tocilizumab_given": ("tocilizumab", t.KIND_WORDS["tocilizumab"]),
          "corticosteroid_given": ("dexamethasone", "corticosteroid"),
          "fluid_bolus_given": ("fluid_bolus", t.KIND_WORDS["fluid_bolus"]),
          "anticytokine_given": ("other_anticytokine", "anti-cytokine agent")}


def medications_of_record(store: WardStore, patient_id: str) -> list[Medication]:
    """The card's medications for a record: every recorded administration, and a medication
    without a dose for each 'given' box ticked on an assessment that no administration
    explains (so the card's medications give exactly the timeline's 'given' fields, T1)."""
    tz = store.tz
    rows = store.timeline_rows(patient_id)
    times = [r["time"] for r in rows]
    covered: set[tuple[int, str]] = set()
    meds = []
    for m in store.administrations(patient_id):
        meds.append(Medication(time=m["given_at"].astimezone(tz).replace(tzinfo=None),
                               kind=m["kind"], drug=t.KIND_WORDS[m["kind"]],
                               dose=m["dose"], unit=m["unit"],
                               indication=m.get("indication") or NOT_STATED))
        field = GIVEN_FIELD[m["kind"]]
        i = next((i for i, x in enumerate(times) if x >= m["given_at"]), None)
        if field is not None and i is not None:
            covered.add((i, field))
    for i, r in enumerate(rows):
        for field, (kind, drug) in TICKED.items():
            if r.get(field) and (i, field) not in covered:
                meds.append(Medication(
                    time=times[i].astimezone(tz).replace(tzinfo=None), kind=kind, drug=drug,
                    unit=t.ADMINISTRATION_KINDS[kind][0],
                    note="ticked as given on the assessment; dose not recorded"
                         + ("; which corticosteroid is not recorded" if drug == "corticosteroid"
                            else "; which agent (anakinra, siltuximab ...) is not recorded"
                            if kind == "other_anticytokine" else "")))
    return sorted(meds, key=lambda m: m.time)


def save_to_library(store: WardStore, patient_id: str, by: str, **card_fields: Any
                    ) -> LibraryCase:
    """Save a demo patient an educator built as a library case (a new version if it was saved
    before). The card's grades are the engine's, and ``verify`` must agree before it is kept."""
    card, text = card_from_record(store, patient_id, **card_fields)
    case = LibraryCase(card, text.encode("utf-8"), "educator")
    problems = verify(case, store.tz.key)
    if problems:
        raise CardError(problems)
    store.save_teaching_case(card.id, card.title, card_json(card), text, by=by)
    saved = find_case(store, card.id)
    assert saved is not None
    return saved


def export_zip(case: LibraryCase) -> bytes:
    """The case as the two sample_data files, ``<name>.card.json`` and ``<name>.csv``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{case.stem}{CARD_SUFFIX}", card_json(case.card))
        z.writestr(case.card.timeline, case.timeline)
    return buf.getvalue()
