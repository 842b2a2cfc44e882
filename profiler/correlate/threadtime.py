"""Per (pid, tid, bucket): the thread's time split into categories, each nanosecond once.

The overlap rule. The sources overlap: a blocking recv is syscall latency *and* off-CPU
time; a native (JNI) method may make syscalls; a syscall's on-CPU part also shows up in
kernel CPU samples. Within one thread and one bucket the categories are carved in this
order, each taking only what the earlier ones did not already claim:

1. Calls, measured as wall time per call: network (by peer class), file I/O, futex. Counted
   in full (they come from distinct syscalls, so they do not overlap each other).
2. JNI: the native methods' wall time minus the calls above (a native method may have made
   those syscalls; assuming it did can only undercount, never count twice).
3. The calls' wall time (1 + 2) is taken to be off-CPU first (a slow call is slow because it
   blocked): other off-CPU = off-CPU - min(calls, off-CPU).
4. What remains of the calls' wall time was on-CPU: it is taken out of the sampled kernel
   CPU time first, then JVM, then Python CPU time.

5. A thread has at most one bucket length of time per bucket: waits recorded whole in the
   bucket they ended in are moved back to the buckets they blocked in (``spill``).

GC pauses are carved at stage level (see ``breakdown``). A category whose source was not
captured is left out (absent), never filled with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from profiler.correlate.categories import (
    CALLS,
    CPU,
    CPU_JVM,
    CPU_KERNEL,
    CPU_PYTHON,
    FILE_IO,
    FUTEX,
    JNI,
    NETWORK,
    OFFCPU_OTHER,
    PEER_CATEGORIES,
)
from profiler.correlate.executors import PYTHON_ROLES
from profiler.correlate.inputs import Sources
from profiler.correlate.lookup import compact_codes
from profiler.correlate.spill import fit_to_buckets

KEYS = ["pid", "tid", "bucket_ns"]
_OFFCPU_RAW = "offcpu"
# what the sources measure before carving; a piece's category is an index in here
_RAW = (*NETWORK, FILE_IO, FUTEX, JNI, _OFFCPU_RAW, *CPU)


@dataclass(frozen=True)
class ThreadTime:
    """``frame``: KEYS + one float ns column per present category; ``present``: which."""

    frame: pd.DataFrame
    present: frozenset[str]


@dataclass(frozen=True)
class _Piece:
    """Rows of one source as arrays: keys, a category (index in _RAW, or one per row), ns."""

    pid: np.ndarray
    tid: np.ndarray
    bucket_ns: np.ndarray
    category: int | np.ndarray
    ns: np.ndarray


def thread_time(sources: Sources, executors: pd.DataFrame) -> ThreadTime:
    pieces: list[_Piece] = []
    present: set[str] = set()
    if sources.network is not None:
        network = sources.network
        peer_code, peers = pd.factorize(network["peer_class"])  # arrow: dictionary-encoded
        code_of_peer = np.array([_RAW.index(PEER_CATEGORIES.get(str(peer), "net_unknown"))
                                 for peer in peers] + [_RAW.index("net_unknown")])
        pieces.append(_piece(network, code_of_peer[peer_code],  # -1 (null) -> unknown
                             network["send_ns"].to_numpy(np.float64)
                             + network["recv_ns"].to_numpy(np.float64)))
        present.update(NETWORK)
    if sources.file_io is not None:
        pieces.append(_piece(sources.file_io, FILE_IO, sources.file_io["total_ns"]))
        present.add(FILE_IO)
    if sources.syscalls is not None and sources.futex_captured:
        futex = sources.syscalls[(sources.syscalls["syscall"] == "futex").to_numpy(bool)]
        pieces.append(_piece(futex, FUTEX, futex["total_ns"]))
        present.add(FUTEX)
    if sources.jni is not None:
        pieces.append(_piece(sources.jni, JNI, sources.jni["total_ns"]))
        present.add(JNI)
    if sources.offcpu is not None:
        pieces.append(_piece(sources.offcpu, _OFFCPU_RAW, sources.offcpu["total_ns"]))
        present.add(OFFCPU_OTHER)
    if sources.samples is not None and sources.sample_period_ns:
        pieces.append(_sample_piece(sources.samples, sources.sample_period_ns,
                                    sources.bucket_ns, executors))
        present.update(CPU)
    return ThreadTime(_carve(_widen(pieces), present, sources.bucket_ns), frozenset(present))


def _piece(rows: pd.DataFrame, category: str | np.ndarray, ns: object) -> _Piece:
    code = _RAW.index(category) if isinstance(category, str) else category
    return _Piece(rows["pid"].to_numpy(np.int64), rows["tid"].to_numpy(np.int64),
                  rows["bucket_ns"].to_numpy(np.int64), code,
                  np.asarray(ns, dtype=np.float64))


def _sample_piece(samples: pd.DataFrame, period_ns: int, bucket_ns: int,
                  executors: pd.DataFrame) -> _Piece:
    pid = samples["pid"].to_numpy(np.int64)
    python_pids = executors.loc[executors["role"].isin(PYTHON_ROLES), "pid"].to_numpy()
    in_kernel = _list_lengths(samples["kernel_stack"]) > 0
    category = np.where(in_kernel, _RAW.index(CPU_KERNEL),
                        np.where(np.isin(pid, python_pids), _RAW.index(CPU_PYTHON),
                                 _RAW.index(CPU_JVM)))
    ts = samples["ts_ns"].to_numpy(np.int64)
    return _Piece(pid, samples["tid"].to_numpy(np.int64), ts // bucket_ns * bucket_ns,
                  category,
                  samples["count"].to_numpy(np.float64) * period_ns)


def _list_lengths(stacks: pd.Series) -> np.ndarray:
    if isinstance(stacks.dtype, pd.ArrowDtype):
        lengths = stacks.list.len().fillna(0)
    else:
        lengths = stacks.map(lambda value: 0 if value is None else len(value))
    return np.asarray(lengths.to_numpy(np.int64))


def _widen(pieces: list[_Piece]) -> pd.DataFrame:
    """Sum ns per (pid, tid, bucket) and category: one float column per category seen.

    numpy all the way (factorize + bincount): pandas' multi-key groupby costs seconds on
    the millions of rows a run has.
    """
    if not pieces:
        return pd.DataFrame({key: pd.Series(dtype=np.int64) for key in KEYS})
    pid = np.concatenate([p.pid for p in pieces])
    tid = np.concatenate([p.tid for p in pieces])
    bucket = np.concatenate([p.bucket_ns for p in pieces])
    ns = np.concatenate([p.ns for p in pieces])
    category = np.concatenate([np.full(len(p.pid), p.category, dtype=np.int64)
                               if isinstance(p.category, int) else p.category
                               for p in pieces])
    thread_code, threads = pd.factorize((pid << 32) | (tid & 0xFFFFFFFF))
    bucket_code, buckets = compact_codes(bucket)
    n_buckets = max(len(buckets), 1)
    key, keys = compact_codes(thread_code.astype(np.int64) * n_buckets + bucket_code)
    thread_of_key = np.asarray(threads, dtype=np.int64)[keys // n_buckets]
    out = pd.DataFrame({"pid": thread_of_key >> 32, "tid": thread_of_key & 0xFFFFFFFF,
                        "bucket_ns": buckets[keys % n_buckets]})
    # one pass for all categories: a (key, category) matrix filled by bincount
    sums = np.bincount(key * len(_RAW) + category, weights=ns,
                       minlength=len(keys) * len(_RAW)).reshape(len(keys), len(_RAW))
    for code in np.unique(category):
        out[_RAW[code]] = sums[:, code]
    return out


def _carve(wide: pd.DataFrame, present: set[str], bucket_ns: int) -> pd.DataFrame:
    def column(name: str) -> np.ndarray:
        if name in wide.columns:
            return wide[name].to_numpy(np.float64)
        return np.zeros(len(wide))

    out = wide[KEYS].copy()
    calls = sum((column(name) for name in CALLS), np.zeros(len(wide)))
    jni_beyond_calls = np.maximum(column(JNI) - calls, 0.0)
    wall = calls + jni_beyond_calls
    offcpu = column(_OFFCPU_RAW)
    off_claimed = np.minimum(wall, offcpu)
    on_claimed = wall - off_claimed
    cpu: dict[str, np.ndarray] = {}
    for name in (CPU_KERNEL, CPU_JVM, CPU_PYTHON):  # the calls' on-CPU part is kernel first
        sampled = column(name)
        taken = np.minimum(sampled, on_claimed)
        cpu[name] = sampled - taken
        on_claimed = on_claimed - taken
    carved = {**{name: column(name) for name in CALLS}, JNI: jni_beyond_calls,
              OFFCPU_OTHER: offcpu - off_claimed, **cpu}
    for name, values in carved.items():
        if name in present:
            out[name] = values
    return fit_to_buckets(out, (*CALLS, JNI, OFFCPU_OTHER), CPU, bucket_ns)
