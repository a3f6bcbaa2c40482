"""The canonical assessment row as a pydantic model (design.md), built from ``fields.FIELDS``.

Every field carries the title, description and unit of the field table, which also feed form
labels, help text, CSV errors and the JSON schema. Validation runs exactly the checks the CSV
reader runs (``parse.from_rows``) - hard limits, cross-field rules - so a form and an import can
never disagree; soft-limit findings are kept on the model (``soft_limit_flags``).

    row = Assessment.model_validate({"patient_id": "P1", "time": "2026-03-02T08:00",
                                     "temp_c": 38.2}, context={"tz": "Europe/London"})
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic import Field as PydanticField

from .fields import FIELDS, Field
from .parse import InputError, from_rows


def _annotation(f: Field) -> Any:
    if f.kind == "id":
        return str
    if f.kind == "time":
        return datetime if f.required else datetime | None
    if f.kind == "number":
        return float | None
    if f.kind == "integer":
        return int | None
    if f.kind == "boolean":
        return bool | None
    if f.kind == "choice":
        return Literal[f.values] | None  # type: ignore[valid-type]
    return list[Literal[f.values]] | None  # type: ignore[valid-type]  # [] = the empty word


def _field(f: Field) -> Any:
    extra = {"unit": f.unit} if f.unit else {}
    if f.kind == "choices":
        extra["empty_value"] = f.empty_value
    limits = {}
    if f.kind in ("number", "integer"):
        limits = {"ge": f.hard_min, "le": f.hard_max}
        extra |= {"soft_min": f.soft_min, "soft_max": f.soft_max}
    title = f"{f.title} ({f.unit})" if f.unit else f.title
    return PydanticField(... if f.required else None, title=title, description=f.description,
                         json_schema_extra={k: v for k, v in extra.items() if v is not None},
                         **limits)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    _soft_limit_flags: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _canonical_checks(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        tz = (info.context or {}).get("tz", "UTC")
        try:
            a = from_rows([data], tz=tz)
        except InputError as e:
            raise ValueError("; ".join(e.lines)) from None
        model = handler(_typed_row(a))
        model._soft_limit_flags = list(a.soft_flags.get(0, []))
        return model

    @property
    def soft_limit_flags(self) -> list[str]:
        """Accepted values outside the usual range (spec §6.1), for the user to confirm."""
        return list(self._soft_limit_flags)


def _typed_row(a: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    row = a.frame.iloc[0]
    for f in FIELDS:
        v = row[f.name]
        if f.kind == "id":
            out[f.name] = str(v)
        elif f.kind == "time":
            out[f.name] = None if v is None or v != v else v.tz_convert(a.tz).to_pydatetime()
        elif f.kind in ("number", "integer"):
            out[f.name] = None if v != v else (int(v) if f.kind == "integer" else float(v))
        elif f.kind == "boolean":
            out[f.name] = None if v < 0 else bool(v)
        elif f.kind == "choice":
            out[f.name] = None if v < 0 else f.values[int(v)]
        else:
            out[f.name] = None if v < 0 else [x for i, x in enumerate(f.values) if int(v) >> i & 1]
    return out


Assessment = create_model(  # type: ignore[call-overload]
    "Assessment", __base__=_Base, __doc__="One bedside assessment of one patient at one time.",
    **{f.name: (_annotation(f), _field(f)) for f in FIELDS})
