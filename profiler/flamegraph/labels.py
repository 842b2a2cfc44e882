"""The label frames every stack starts with: which process (role, executor id) and thread role.

``executor 1;task-runner;...`` and ``python-worker;python-main;...`` let one flame graph show
the whole application while keeping the parts apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from profiler import roles

UNKNOWN_PROCESS_ROLE = "unknown"
UNKNOWN_THREAD_ROLE = roles.OTHER


@dataclass(frozen=True)
class ProcessLabel:
    label: str  # the frame shown: "executor 1", "driver", "python-worker", "other (bash)"
    role: str  # the contract's process role


def process_label(role: str, executor_id: str | None, comm: str | None) -> str:
    if role == roles.EXECUTOR_JVM:
        return f"executor {executor_id}" if executor_id else "executor"
    if role == roles.DRIVER_JVM:
        return "driver"
    if role == roles.OTHER and comm:
        return f"other ({comm})"
    return role


def process_labels(processes: pd.DataFrame) -> dict[int, ProcessLabel]:
    """pid -> its label, from the ``processes`` table (last row per pid already kept)."""
    labels: dict[int, ProcessLabel] = {}
    if processes.empty:
        return labels
    for pid, role, executor_id, comm in zip(
            processes["pid"].tolist(), processes["role"].tolist(),
            processes["executor_id"].tolist(), processes["comm"].tolist(), strict=True):
        role_text = str(role) if isinstance(role, str) else roles.OTHER
        executor = executor_id if isinstance(executor_id, str) else None
        labels[int(pid)] = ProcessLabel(
            process_label(role_text, executor, comm if isinstance(comm, str) else None),
            role_text)
    return labels


def unknown_process(pid: int) -> ProcessLabel:
    # The capture saw the thread but not its process's start (e.g. attached late).
    return ProcessLabel(f"pid {pid}", UNKNOWN_PROCESS_ROLE)


def thread_roles(threads: pd.DataFrame) -> dict[int, str]:
    """tid -> thread role, from the ``threads`` table."""
    if threads.empty:
        return {}
    return {int(tid): str(role) for tid, role in zip(
        threads["tid"].tolist(), threads["role"].tolist(), strict=True)}
