"""Fit the carved time of each (thread, bucket) into one bucket length.

Calls and off-CPU spans are recorded in the bucket they *ended* in: a futex wait or socket
read that blocked for 3 s lands whole in one 100 ms bucket. A thread has at most one bucket
length of time per bucket, so the waiting beyond what fits is moved back, bucket by bucket,
to the buckets before (where the thread really was waiting), keeping the categories'
proportions. CPU samples are points in time: they stay where they are and take their room
first. A wait is moved back at most ``MAX_SPILL_BUCKETS``; what is older is dropped (a
thread idle for minutes says nothing about the stages of that time worth keeping). When
moved time meets a bucket that is already full, that (thread, bucket) is scaled down to fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from profiler.correlate.lookup import compact_codes

KEYS = ["pid", "tid", "bucket_ns"]
MAX_SPILL_BUCKETS = 600


def fit_to_buckets(frame: pd.DataFrame, waits: Sequence[str], cpu: Sequence[str],
                   bucket_ns: int) -> pd.DataFrame:
    """``frame`` (KEYS + float ns columns) with no (thread, bucket) above ``bucket_ns``."""
    waits = [name for name in waits if name in frame.columns]
    cpu = [name for name in cpu if name in frame.columns]
    if frame.empty or not (waits or cpu):
        return frame
    length = float(bucket_ns)
    cpu_ns = _matrix(frame, cpu)
    cpu_ns *= _fit(cpu_ns.sum(axis=1), length)[:, None]  # sampling noise above 100%
    wait_ns = _matrix(frame, waits)
    wait_total = wait_ns.sum(axis=1)
    room = length - cpu_ns.sum(axis=1)
    keep = _fit(wait_total, room)
    excess = wait_total * (1.0 - keep)
    moved = excess > 0
    if not moved.any():
        return frame
    kept = frame.copy()
    kept[waits] = wait_ns * keep[:, None]
    kept[cpu] = cpu_ns
    spilled = _spill(frame.loc[moved, KEYS].to_numpy(np.int64), excess[moved],
                     wait_ns[moved] / wait_total[moved, None], waits, bucket_ns)
    merged = _sum_by_key(pd.concat([kept, spilled], ignore_index=True), [*waits, *cpu])
    total = merged[[*waits, *cpu]].to_numpy(np.float64).sum(axis=1)
    merged[[*waits, *cpu]] *= _fit(total, length)[:, None]
    return merged


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    if not columns:
        return np.zeros((len(frame), 0))
    return frame[list(columns)].to_numpy(np.float64).copy()


def _fit(total: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Scale factor that brings ``total`` down to ``limit`` (1 where it is already within)."""
    limit = np.maximum(limit, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > limit, limit / np.where(total > 0, total, 1.0), 1.0)


def _spill(keys: np.ndarray, excess: np.ndarray, shares: np.ndarray, waits: Sequence[str],
           bucket_ns: int) -> pd.DataFrame:
    """Rows for the buckets before each key: a full bucket each, the remainder last."""
    steps = np.minimum(np.ceil(excess / bucket_ns), MAX_SPILL_BUCKETS).astype(np.int64)
    row = np.repeat(np.arange(len(keys)), steps)
    back = np.arange(len(row)) - np.repeat(np.cumsum(steps) - steps, steps) + 1  # 1, 2, ...
    amount = np.clip(excess[row] - (back - 1) * bucket_ns, 0.0, float(bucket_ns))
    out = pd.DataFrame({"pid": keys[row, 0], "tid": keys[row, 1],
                        "bucket_ns": keys[row, 2] - back * bucket_ns})
    for index, name in enumerate(waits):
        out[name] = amount * shares[row, index]
    return out


def _sum_by_key(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    thread = (frame["pid"].to_numpy(np.int64) << 32) | (frame["tid"].to_numpy(np.int64)
                                                        & 0xFFFFFFFF)
    thread_code, threads = pd.factorize(thread)
    bucket_code, buckets = compact_codes(frame["bucket_ns"].to_numpy(np.int64))
    key, keys = compact_codes(thread_code.astype(np.int64) * max(len(buckets), 1)
                              + bucket_code)
    n_buckets = max(len(buckets), 1)
    thread_of_key = np.asarray(threads, dtype=np.int64)[keys // n_buckets]
    out = pd.DataFrame({"pid": thread_of_key >> 32, "tid": thread_of_key & 0xFFFFFFFF,
                        "bucket_ns": buckets[keys % n_buckets]})
    values = frame[list(columns)].fillna(0.0).to_numpy(np.float64)
    for index, name in enumerate(columns):
        out[name] = np.bincount(key, weights=values[:, index], minlength=len(keys))
    return out
