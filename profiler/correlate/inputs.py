"""What the correlation maths needs from a run, as plain frames: ``Sources``.

A table that was not captured is ``None`` (its categories become NaN: absent, not zero); a
table that was captured but holds no rows is an empty frame (its categories are 0).
``sources_from_profile`` builds one from a ``Profile`` using meta.json's options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from profiler.correlate.clock import ClockMap
from profiler.roles import OTHER, THREAD_ROLES, classify_thread

TASK_RUNNER = "task-runner"

DEFAULT_BUCKET_NS = 100_000_000
# what the breakdown needs of the futex rows of ``syscalls`` (the table's other columns,
# histograms above all, are never read for it)
FUTEX_COLUMNS = ("bucket_ns", "pid", "tid", "syscall", "total_ns")


@dataclass(frozen=True)
class Sources:
    """Inputs of ``compute_breakdown``; every table but ``tasks`` may be None (not captured)."""

    tasks: pd.DataFrame
    clock: ClockMap
    bucket_ns: int = DEFAULT_BUCKET_NS
    processes: pd.DataFrame | None = None
    threads: pd.DataFrame | None = None
    network: pd.DataFrame | None = None
    file_io: pd.DataFrame | None = None
    syscalls: pd.DataFrame | None = None
    futex_captured: bool = False  # the "other" syscall family (futex) was traced
    offcpu: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    sample_period_ns: int | None = None  # needed to weigh samples; None: on-CPU absent
    jni: pd.DataFrame | None = None
    gc: pd.DataFrame | None = None
    run_end_ns: int | None = None  # tasks still running at the end run until here
    notes: list[str] = field(default_factory=list)


class ProfileLike(Protocol):
    meta: dict[str, Any]

    def table(self, name: str) -> pd.DataFrame: ...

    def table_rows(self, name: str, columns: list[str],
                   equals: tuple[str, str] | None = None) -> pd.DataFrame: ...

    @property
    def eventlog(self) -> Any: ...


def sample_period_ns(meta: Mapping[str, Any]) -> int | None:
    """The CPU sampling period from meta.json (``sample_period_ns``, or a frequency in Hz)."""
    options = meta.get("options") or {}
    for holder in (meta, options):
        if holder.get("sample_period_ns"):
            return int(holder["sample_period_ns"])
        for key in ("sample_hz", "sample_frequency_hz", "sampling_hz"):
            if holder.get(key):
                return round(1e9 / float(holder[key]))
    return None


def traced(options: Mapping[str, Any], family: str) -> bool:
    """Was ``family`` captured, by the probe options in meta.json?

    Every table is in the schema, so a run that never traced a family still loads it as an
    empty frame: only the options tell "captured, nothing happened" (0) from "not captured"
    (absent). ``net``/``io``/``other`` are syscall families (``options.syscalls``); ``jni``
    and ``sample`` need their option on; ``offcpu`` and ``gc`` too, except in an options
    object that predates them (every recorder of format 1 wrote both, on by default).
    """
    if family in ("net", "io", "other"):
        families = options.get("syscalls")
        return isinstance(families, list) and family in families
    if family in ("offcpu", "gc") and family not in options:
        return bool(options)
    return bool(options.get(family))


def sources_from_profile(profile: ProfileLike) -> Sources:
    """The frames of a loaded run; families switched off in meta.json's options give None.

    Thread roles missing from the ``threads`` table are filled in from the thread names
    (``fill_thread_roles``) and said in ``notes``.
    """
    meta = profile.meta
    options = meta.get("options") or {}
    eventlog = profile.eventlog
    tasks = eventlog.tasks if eventlog is not None else pd.DataFrame()
    clock_meta = meta.get("clock") or {}
    end = clock_meta.get("end") or {}

    def table(name: str, enabled: bool = True) -> pd.DataFrame | None:
        if not enabled:
            return None
        try:
            return profile.table(name)
        except KeyError:  # a table this format version does not have (yet)
            return None

    futex = None
    if traced(options, "other"):
        try:
            futex = profile.table_rows("syscalls", list(FUTEX_COLUMNS), ("syscall", "futex"))
        except KeyError:
            futex = None
    period = sample_period_ns(meta)
    notes = [] if eventlog is not None else ["the run has no Spark event log: no stages"]
    threads = table("threads")
    if threads is not None:
        threads, filled = fill_thread_roles(threads)
        if filled:
            notes.append(f"{filled} thread role(s) of the threads table did not match the "
                         "thread names: roles taken from the names")
    return Sources(
        tasks=tasks,
        clock=ClockMap.from_meta(meta),
        bucket_ns=int(meta.get("bucket_ns") or DEFAULT_BUCKET_NS),
        processes=table("processes"),
        threads=threads,
        network=table("network", traced(options, "net")),
        file_io=table("file_io", traced(options, "io")),
        syscalls=futex,
        futex_captured=futex is not None,
        offcpu=table("offcpu", traced(options, "offcpu")),
        samples=table("samples", period is not None and options.get("sample", True) is True),
        sample_period_ns=period,
        jni=table("jni", traced(options, "jni")),
        gc=table("gc", traced(options, "gc")),
        run_end_ns=int(end["monotonic_ns"]) if end.get("monotonic_ns") else None,
        notes=notes,
    )


def fill_thread_roles(threads: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``threads`` with roles read from the thread names where a name tells one.

    The name decides (``classify_thread`` knows 15-byte comms such as "Executor task l";
    Spark's idle pool threads, comm "Executor task i", are task runners too: ``idle`` keeps
    their waits to the room running tasks leave);
    a name that tells nothing keeps the recorded role, except ``task-runner``: only a thread
    named like Spark's task threads is one. (Threads a task thread starts, such as
    PySpark's "Worker Monitor for ..." and "stdout reader for ...", inherit its comm until
    they are named, and were seen recorded as task runners: their idle waits are not task
    time.) Returns the frame and how many roles changed.
    """
    if threads.empty or "name" not in threads.columns:
        return threads, 0
    recorded = (threads["role"].astype(object) if "role" in threads.columns
                else pd.Series(None, index=threads.index, dtype=object))
    named = threads["name"].notna().to_numpy()
    by_name = np.array([classify_thread(str(name)) if ok else OTHER
                        for name, ok in zip(threads["name"], named, strict=True)], dtype=object)
    trusted = recorded.isin(THREAD_ROLES).to_numpy() & (recorded != TASK_RUNNER).to_numpy()
    roles = np.where(by_name != OTHER, by_name,
                     np.where(trusted, recorded.to_numpy(), OTHER))
    roles = np.where(named, roles, recorded.to_numpy())
    changed = int((roles != recorded.fillna("").to_numpy()).sum())
    return (threads.assign(role=roles), changed) if changed else (threads, 0)
