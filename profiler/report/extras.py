"""The report's costlier extras: syscall latency histograms and per-stage flame graphs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from profiler.errors import SparkprofError
from profiler.report.model import LatencyHistogram
from profiler.rundir.schema import HIST_BUCKETS

if TYPE_CHECKING:
    from profiler.profile import Profile

def summed_histograms(syscalls: pd.DataFrame, codes: np.ndarray, groups: int) -> np.ndarray:
    """(groups, 32) latency counts: rows of ``syscalls`` summed by group code (-1: skip).

    Works on the stored sparse form (``hist_first_bucket`` + the trimmed ``hist`` list, see
    docs/format.md) without ``histogram_matrix``'s dense (rows, 32) expansion, which for 10M
    rows would be a 2.5 GB array: one bincount over the stored counts.
    """
    out = np.zeros(groups * HIST_BUCKETS, dtype=np.int64)
    if not len(syscalls) or groups == 0:
        return out.reshape(groups, HIST_BUCKETS)
    lists = pa.array(syscalls["hist"].array)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    values = lists.flatten().to_numpy(zero_copy_only=False)
    row = np.repeat(np.arange(len(lengths)), lengths)
    slot = (np.repeat(syscalls["hist_first_bucket"].to_numpy(np.int64) - (np.cumsum(lengths)
                                                                           - lengths), lengths)
            + np.arange(len(values)))
    group = np.asarray(codes, dtype=np.int64)[row]
    keep = group >= 0
    out += np.bincount(group[keep] * HIST_BUCKETS + slot[keep], weights=values[keep],
                       minlength=groups * HIST_BUCKETS).astype(np.int64)
    return out.reshape(groups, HIST_BUCKETS)


_LATENCY_COLUMNS = ("syscall", "family", "calls", "total_ns", "hist_first_bucket", "hist")


def latency_histograms(profile: Profile, top: int = 8) -> list[LatencyHistogram] | None:
    """The ``top`` syscalls by total time, each with its run-wide latency histogram."""
    if (profile.meta.get("options") or {}).get("syscalls") in ([], "none"):
        return None
    try:  # only the columns needed: a run's syscalls table holds millions of rows
        syscalls = profile.table_rows("syscalls", list(_LATENCY_COLUMNS))
    except KeyError:
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
    hist = summed_histograms(syscalls, remap[codes], len(chosen))
    first_row = np.full(len(names), -1, dtype=np.int64)
    first_row[codes[::-1]] = np.arange(len(codes))[::-1]  # first row of each syscall
    family_of = syscalls["family"].to_numpy(dtype=object)
    families = {str(names[code]): str(family_of[first_row[code]]) for code in chosen}
    return [LatencyHistogram(str(names[code]), families[str(names[code])],
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
