"""What the correlation maths needs from a run, as plain frames: ``Sources``.

A table that was not captured is ``None`` (its categories become NaN: absent, not zero); a
table that was captured but holds no rows is an empty frame (its categories are 0).
``sources_from_profile`` builds one from a ``Profile`` using meta.json's options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from profiler.correlate.clock import ClockMap

DEFAULT_BUCKET_NS = 100_000_000


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


def sources_from_profile(profile: ProfileLike) -> Sources:
    """The frames of a loaded run; options switched off in meta.json give None tables."""
    meta = profile.meta
    options = meta.get("options") or {}
    families = options.get("syscalls")
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

    def family(name: str) -> bool:
        return name in families if isinstance(families, list) else True

    syscalls = table("syscalls")
    futex = ("other" in families) if isinstance(families, list) else bool(
        syscalls is not None and (syscalls["family"] == "other").any())
    notes = [] if eventlog is not None else ["the run has no Spark event log: no stages"]
    return Sources(
        tasks=tasks,
        clock=ClockMap.from_meta(meta),
        bucket_ns=int(meta.get("bucket_ns") or DEFAULT_BUCKET_NS),
        processes=table("processes"),
        threads=table("threads"),
        network=table("network", family("net")),
        file_io=table("file_io", family("io")),
        syscalls=syscalls,
        futex_captured=futex,
        offcpu=table("offcpu", bool(options.get("offcpu", True))),
        samples=table("samples"),
        sample_period_ns=sample_period_ns(meta),
        jni=table("jni"),
        gc=table("gc", bool(options.get("gc", True))),
        run_end_ns=int(end["monotonic_ns"]) if end.get("monotonic_ns") else None,
        notes=notes,
    )
