"""The doctor's records: one Check per question, a report with the readiness verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "degraded", "missing"]
STATUSES: tuple[Status, ...] = ("ok", "degraded", "missing")


@dataclass(frozen=True)
class Check:
    """One answer. ``required_for_record``: ``record``'s default probe set needs it usable
    (ok or degraded); the others only enable optional evidence."""

    name: str
    status: Status
    detail: str
    remedy: str | None
    required_for_record: bool

    @property
    def usable(self) -> bool:
        return self.status != "missing"


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def blockers(self) -> tuple[Check, ...]:
        """Required checks that are missing: each one stops ``record``."""
        return tuple(c for c in self.checks if c.required_for_record and not c.usable)

    @property
    def ready(self) -> bool:
        """Whether ``sparkprof record`` can run with its default probe set."""
        return not self.blockers
