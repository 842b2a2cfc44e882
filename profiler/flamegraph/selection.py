"""Which stacks go into a flame graph: process ids, roles and a time window."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from profiler import roles
from profiler.errors import UsageError
from profiler.flamegraph.labels import UNKNOWN_PROCESS_ROLE, ProcessLabel

_THREAD_ONLY_ROLES = frozenset(roles.THREAD_ROLES) - {roles.OTHER}
_PROCESS_ROLES = frozenset(roles.PROCESS_ROLES) | {UNKNOWN_PROCESS_ROLE}


@dataclass(frozen=True)
class StackFilter:
    """Keep stacks of these pids, these roles, and (CLOCK_MONOTONIC ns) inside [start, end).

    A role is a process role (``executor-jvm``), a process label (``executor 1``,
    ``driver``) or a thread role (``task-runner``); "other" means the process role. Given
    several, a stack must match one of the process ones (if any) and one of the thread ones
    (if any).
    """

    pids: frozenset[int] = frozenset()
    roles: frozenset[str] = frozenset()
    start_ns: int | None = None
    end_ns: int | None = None
    description: str = field(default="", compare=False)  # e.g. "stage 3", for titles

    @property
    def has_window(self) -> bool:
        return self.start_ns is not None or self.end_ns is not None

    def describe(self) -> str:
        parts = [self.description] if self.description else []
        if self.pids:
            parts.append("pid " + ",".join(str(pid) for pid in sorted(self.pids)))
        if self.roles:
            parts.append("role " + ",".join(sorted(self.roles)))
        return ", ".join(parts)


class RoleMatcher:
    """Decides the role part of a StackFilter for one (process, thread role) pair."""

    def __init__(self, wanted: Collection[str], process_labels: Iterable[str]) -> None:
        labels = set(process_labels)
        unknown = sorted(set(wanted) - _PROCESS_ROLES - _THREAD_ONLY_ROLES - {roles.OTHER}
                         - labels)
        if unknown:
            known = sorted(_PROCESS_ROLES | _THREAD_ONLY_ROLES | labels)
            raise UsageError(f"unknown role(s) {', '.join(unknown)}",
                             f"use one of: {', '.join(known)}")
        self._thread = frozenset(wanted) & _THREAD_ONLY_ROLES
        self._process = frozenset(wanted) - self._thread
        self._cache: dict[tuple[ProcessLabel, str], bool] = {}

    def __call__(self, process: ProcessLabel, thread_role: str) -> bool:
        key = (process, thread_role)
        cached = self._cache.get(key)
        if cached is None:
            process_ok = not self._process or bool({process.role, process.label}
                                                   & self._process)
            thread_ok = not self._thread or thread_role in self._thread
            cached = self._cache[key] = process_ok and thread_ok
        return cached
