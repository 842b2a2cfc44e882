"""The report's costlier extras: syscall latency histograms and per-stage flame graphs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from profiler.errors import SparkprofError
from profiler.report.model import LatencyHistogram
from profiler.rundir.histogram import histogram_matrix
from profiler.rundir.schema import HIST_BUCKETS

if TYPE_CHECKING:
    from profiler.profile import Profile

_CHUNK_ROWS = 250_000  # a dense (rows, 32) int64 chunk is 64 MB


def summed_histograms(syscalls: pd.DataFrame, codes: np.ndarray, groups: int) -> np.ndarray:
    """(groups, 32) latency counts: rows of ``syscalls`` summed by group code.

    Expanded chunk by chunk: 10M rows at once would be a 2.5 GB dense matrix.
    """
    out = np.zeros((groups, HIST_BUCKETS), dtype=np.int64)
    for start in range(0, len(syscalls), _CHUNK_ROWS):
        dense = histogram_matrix(syscalls.iloc[start:start + _CHUNK_ROWS])
        rows, slots = np.nonzero(dense)
        flat = codes[start + rows] * HIST_BUCKETS + slots
        out += np.bincount(flat, weights=dense[rows, slots], minlength=groups * HIST_BUCKETS
                           ).astype(np.int64).reshape(groups, HIST_BUCKETS)
    return out


def latency_histograms(profile: Profile, top: int = 8) -> list[LatencyHistogram] | None:
    """The ``top`` syscalls by total time, each with its run-wide latency histogram."""
    syscalls = profile.optional_table("syscalls")
    if syscalls is None or (profile.meta.get("options") or {}).get("syscalls") in ([], "none"):
        return None
    if syscalls.empty:
        return []
    codes, names = pd.factorize(syscalls["syscall"])
    total_ns = np.bincount(codes, weights=syscalls["total_ns"].to_numpy(np.float64),
                           minlength=len(names))
    calls = np.bincount(codes, weights=syscalls["calls"].to_numpy(np.float64),
                        minlength=len(names))
    chosen = np.argsort(-total_ns, kind="stable")[:top]
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[chosen] = np.arange(len(chosen))
    picked = remap[codes] >= 0
    subset = syscalls[picked]
    hist = summed_histograms(subset, remap[codes][picked], len(chosen))
    families = syscalls.drop_duplicates("syscall").set_index("syscall")["family"]
    return [LatencyHistogram(str(names[code]), str(families.get(names[code], "?")),
                             int(calls[code]), float(total_ns[code]) / 1e6,
                             [int(v) for v in hist[i]])
            for i, code in enumerate(chosen)]


def flamegraph_svgs(profile: Profile, stages: list[tuple[int, int]],
                    ) -> tuple[dict[str, str], list[str]]:
    """Inline SVG flame graphs of ``stages`` ("id.attempt" -> svg) and notes on the rest."""
    try:
        from profiler.flamegraph import default_kind, flamegraph
    except ImportError:
        return {}, ["flame graphs omitted: this sparkprof has no flame-graph renderer"]
    kind = default_kind(profile)
    svgs: dict[str, str] = {}
    missing: list[str] = []
    for stage_id, attempt in stages:
        key = f"{stage_id}.{attempt}"
        try:
            svgs[key] = flamegraph(profile, kind=kind, stage=key).svg()
        except SparkprofError as error:
            missing.append(f"stage {key}: {error.message}")
    notes = [f"no {kind} flame graph for {', '.join(missing)}"] if missing else []
    return svgs, notes
