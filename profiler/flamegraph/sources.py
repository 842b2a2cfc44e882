"""Build a ``StackTable`` of one kind from a recorded run.

- ``offcpu``: ``offcpu_blocks``, weighted by blocked ns (clipped to the time window);
  ``process;thread role;state;user frames...;kernel frames..._[k]``.
- ``cpu``: ``samples`` (ts_ns, pid, tid, cpu, user_stack, kernel_stack, count), weighted
  by sample count; ``process;thread role;user frames...;kernel frames..._[k]``.
- ``jni``: ``jni`` (pid, tid, library, class_name, method, total_ns [, bucket_ns|ts_ns]),
  weighted by ns inside native methods; ``process;thread role;library;class;method``.

Stacks in the run directory are leaf first; a StackTable is root first. Failed walks
become ``[missing user stack]`` / ``[missing kernel stack]`` frames, never dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from profiler.errors import InputError, UsageError
from profiler.flamegraph.labels import (
    UNKNOWN_THREAD_ROLE,
    process_labels,
    thread_roles,
    unknown_process,
)
from profiler.flamegraph.selection import RoleMatcher, StackFilter
from profiler.flamegraph.stacks import (
    MISSING_KERNEL,
    StackJoiner,
    StackTable,
    clean_frame,
    clean_module,
    stack_table,
)
from profiler.rundir.reader import count_rows

if TYPE_CHECKING:
    from profiler.profile import Profile

KINDS: tuple[str, ...] = ("cpu", "offcpu", "jni")
_SEPARATOR = "\x00"  # joins a stack's frames for grouping; never inside a frame name
SAMPLES_COLUMNS = ("ts_ns", "pid", "tid", "cpu", "user_stack", "kernel_stack", "count")
JNI_COLUMNS = ("pid", "tid", "library", "class_name", "method", "total_ns")
_TITLES = {"cpu": "On-CPU samples", "offcpu": "Off-CPU time", "jni": "Time in JNI methods"}
_ABSENT = {
    "cpu": ("this run has no cpu samples", "record with --sample"),
    "offcpu": ("this run has no off-CPU stacks (offcpu_blocks is empty)",
               "record without --no-offcpu; blocks shorter than --offcpu-block-ms carry no "
               "stack"),
    "jni": ("this run has no JNI method data", "record with JNI tracing (--jni)"),
}


def build_stacks(profile: Profile, kind: str, selection: StackFilter | None = None) -> StackTable:
    """The stacks of ``kind`` in ``profile`` that pass ``selection``."""
    builders: dict[str, Callable[[Profile, StackFilter], StackTable]] = {
        "cpu": cpu_stacks, "offcpu": offcpu_stacks, "jni": jni_stacks}
    if kind not in builders:
        raise UsageError(f"unknown stack kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    return builders[kind](profile, selection or StackFilter())


def has_stacks(profile: Profile, kind: str) -> bool:
    """True when the run holds any rows for ``kind`` (from Parquet footers: cheap)."""
    return count_rows(profile.path, _TABLE_OF[kind]) > 0


def default_kind(profile: Profile) -> str:
    """cpu when the run has samples, else offcpu."""
    return "cpu" if has_stacks(profile, "cpu") else "offcpu"


def offcpu_stacks(profile: Profile, selection: StackFilter) -> StackTable:
    frame = _rows(profile, "offcpu", selection)
    start = frame["start_ns"].to_numpy(dtype=np.int64)
    weights = frame["duration_ns"].to_numpy(dtype=np.int64)
    if selection.has_window:  # only the part of a block inside the window counts
        end = start + weights
        lo = np.maximum(start, selection.start_ns) if selection.start_ns is not None else start
        hi = np.minimum(end, selection.end_ns) if selection.end_ns is not None else end
        weights = np.maximum(hi - lo, 0)
    joiner = StackJoiner(missing_kernel=MISSING_KERNEL)
    parts = [_encode_strings(frame["state"], clean_frame),
             _encode_lists(frame["user_stack"], joiner.user),
             _encode_lists(frame["kernel_stack"], joiner.kernel)]
    return _aggregate(profile, selection, "offcpu", "nanoseconds", 3, frame, weights, parts)


def cpu_stacks(profile: Profile, selection: StackFilter) -> StackTable:
    frame = _rows(profile, "cpu", selection)
    weights = frame["count"].to_numpy(dtype=np.int64)
    # An empty kernel stack is a sample taken in user mode, not a failed walk (the capture
    # writes "[missing kernel stack]" itself when a walk fails).
    joiner = StackJoiner(missing_kernel=None)
    parts = [_encode_lists(frame["user_stack"], joiner.user),
             _encode_lists(frame["kernel_stack"], joiner.kernel)]
    return _aggregate(profile, selection, "cpu", "samples", 2, frame, weights, parts)


def jni_stacks(profile: Profile, selection: StackFilter) -> StackTable:
    frame = _rows(profile, "jni", selection)
    weights = frame["total_ns"].to_numpy(dtype=np.int64)
    parts = [_encode_strings(frame["library"], _library_frame),
             _encode_strings(frame["class_name"], clean_frame),
             _encode_strings(frame["method"], clean_frame)]
    return _aggregate(profile, selection, "jni", "nanoseconds", 2, frame, weights, parts)


def _library_frame(path: str) -> str:
    return clean_module(clean_frame(os.path.basename(path)))


_TABLE_OF = {"cpu": "samples", "offcpu": "offcpu_blocks", "jni": "jni"}
_REQUIRED = {"cpu": SAMPLES_COLUMNS,
             "offcpu": ("start_ns", "pid", "tid", "state", "duration_ns", "user_stack",
                        "kernel_stack"),
             "jni": JNI_COLUMNS}


def _rows(profile: Profile, kind: str, selection: StackFilter) -> pd.DataFrame:
    """The table's rows that pass the pid and time filters (roles come later, per stack)."""
    table = _TABLE_OF[kind]
    frame = read_optional_table(profile, table)
    if frame is None or frame.empty:
        raise InputError(*_ABSENT[kind])
    missing = [name for name in _REQUIRED[kind] if name not in frame.columns]
    if missing:
        raise InputError(f"{profile.path}/{table} lacks column(s) {', '.join(missing)}",
                         "the run was written by an incompatible sparkprof; re-record it")
    keep = np.ones(len(frame), dtype=bool)
    if selection.pids:
        keep &= frame["pid"].isin(sorted(selection.pids)).to_numpy()
    if selection.has_window and kind != "offcpu":  # offcpu blocks are clipped instead
        keep &= _in_window(profile, kind, frame, selection)
    return frame[keep].reset_index(drop=True) if not keep.all() else frame


def _in_window(profile: Profile, kind: str, frame: pd.DataFrame,
               selection: StackFilter) -> np.ndarray[Any, np.dtype[np.bool_]]:
    column = next((name for name in ("ts_ns", "bucket_ns") if name in frame.columns), None)
    if column is None:
        raise InputError(f"{profile.path}/{_TABLE_OF[kind]} has no time column",
                         "a time window or --stage cannot select its rows; drop --stage")
    times = frame[column].to_numpy(dtype=np.int64)
    keep = np.ones(len(frame), dtype=bool)
    if selection.start_ns is not None:
        keep &= times >= selection.start_ns
    if selection.end_ns is not None:
        keep &= times < selection.end_ns
    return keep


# A column encoded for grouping: a code per row and the frames (root first) of each code.
_Part = tuple[np.ndarray[Any, np.dtype[np.int64]], list[tuple[str, ...]]]


def _aggregate(profile: Profile, selection: StackFilter, kind: str, unit: Any,
               label_depth: int, frame: pd.DataFrame,
               weights: np.ndarray[Any, np.dtype[np.int64]], parts: list[_Part]) -> StackTable:
    """Sum weights per distinct (pid, tid, parts...) in pandas, then build each distinct
    stack once: labels + the parts' frames, in order."""
    columns: dict[str, Any] = {"pid": frame["pid"].to_numpy(dtype=np.int64),
                               "tid": frame["tid"].to_numpy(dtype=np.int64)}
    columns.update({f"part{i}": codes for i, (codes, _) in enumerate(parts)})
    keys = list(columns)
    rows = pd.DataFrame({**columns, "weight": weights})
    grouped = rows[rows["weight"] > 0].groupby(keys, sort=False)["weight"].sum()
    prefix_of = _Prefixer(profile, selection)
    counts: dict[tuple[str, ...], int] = {}
    for key, weight in zip(grouped.index.tolist(), grouped.tolist(), strict=True):
        prefix = prefix_of(key[0], key[1])
        if prefix is None:
            continue
        stack = prefix + tuple(frame_name for (_, values), code in zip(parts, key[2:],
                                                                       strict=True)
                               for frame_name in values[code])
        counts[stack] = counts.get(stack, 0) + int(weight)
    if not counts:
        what = selection.describe() or "the filters"
        raise InputError(f"no {kind} stacks match {what}",
                         "check --pid/--role/--stage against `sparkprof eventlog` and the "
                         "run's processes")
    title = _TITLES[kind] + (f" ({selection.describe()})" if selection.describe() else "")
    return stack_table(counts, kind, unit, label_depth, title)


def _encode_lists(series: pd.Series[Any],
                  frames_of: Callable[[tuple[str, ...]], tuple[str, ...]]) -> _Part:
    """Codes of a list<string> column, grouped in Arrow: stacks repeat thousands of times
    and turning each row into Python lists cost 10x more (measured: 38 s vs 4 s for 500k
    rows of 30 frames). Null and empty lists share the last code."""
    array = pa.array(series)
    joined = pc.binary_join(array, _SEPARATOR)
    encoded = pc.dictionary_encode(joined)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct: list[str] = encoded.dictionary.to_pylist()
    empty = len(distinct)
    codes = pc.fill_null(encoded.indices, empty).to_numpy().astype(np.int64)
    lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy()
    codes[np.asarray(lengths) == 0] = empty  # [] joins to "", like [""]
    return codes, [frames_of(tuple(text.split(_SEPARATOR))) for text in distinct] + [
        frames_of(())]


def _encode_strings(series: pd.Series[Any], frame_of: Callable[[str], str]) -> _Part:
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    values: list[tuple[str, ...]] = [(frame_of(str(value)),) for value in distinct]
    values.append(("[unknown]",))
    codes = np.where(codes < 0, len(values) - 1, codes).astype(np.int64)
    return codes, values


class _Prefixer:
    """(pid, tid) -> (process label, thread role), or None when the roles filter says no."""

    def __init__(self, profile: Profile, selection: StackFilter) -> None:
        self._processes = process_labels(profile.processes)
        self._threads = thread_roles(profile.threads)
        self._matcher = (RoleMatcher(selection.roles, [p.label for p in
                                                      self._processes.values()])
                         if selection.roles else None)
        self._cache: dict[tuple[int, int], tuple[str, ...] | None] = {}

    def __call__(self, pid: int, tid: int) -> tuple[str, ...] | None:
        key = (pid, tid)
        if key in self._cache:
            return self._cache[key]
        process = self._processes.get(pid) or unknown_process(pid)
        thread = self._threads.get(tid, UNKNOWN_THREAD_ROLE)
        keep = self._matcher is None or self._matcher(process, thread)
        prefix = (process.label, thread) if keep else None
        self._cache[key] = prefix
        return prefix


def read_optional_table(profile: Profile, name: str) -> pd.DataFrame | None:
    """A table that may not exist in this run (or this sparkprof's schema): None if absent."""
    return profile.optional_table(name)
