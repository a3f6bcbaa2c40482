"""Grades that explain themselves: a grade, its status, the reasons and the review flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Status = Literal["final", "provisional", "not_evaluable"]
Severity = Literal["info", "review", "urgent"]
STATUSES: tuple[Status, ...] = ("final", "provisional", "not_evaluable")
SEVERITIES: tuple[Severity, ...] = ("info", "review", "urgent")


@dataclass(frozen=True)
class Reason:
    rule: str          # spec rule id, e.g. "CRS-R4"
    finding: str       # the observation and what the rule made of it, in ward words
    time: datetime     # when the observation was made (timezone-aware)

    def as_dict(self, tz: object = None) -> dict[str, str]:
        t = self.time.astimezone(tz) if tz is not None else self.time  # type: ignore[arg-type]
        return {"rule": self.rule, "finding": self.finding, "time": t.isoformat()}

    def as_text(self, tz: object = None) -> str:
        t = self.time.astimezone(tz) if tz is not None else self.time  # type: ignore[arg-type]
        return f"{self.rule}: {self.finding} ({t.isoformat()})"


@dataclass(frozen=True)
class Flag:
    code: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}

    def as_text(self) -> str:
        return f"{self.severity} {self.code}: {self.message}"


@dataclass(frozen=True)
class Grade:
    grade: int | None              # 0-5; None when not evaluable
    status: Status
    reasons: tuple[Reason, ...] = ()
    flags: tuple[Flag, ...] = field(default=())

    def __post_init__(self) -> None:
        assert (self.grade is None) == (self.status == "not_evaluable"), self
        assert self.grade is None or 0 <= self.grade <= 5, self
