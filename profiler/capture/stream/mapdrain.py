"""Draining the double-buffered aggregation maps (``*_agg0``/``*_agg1``) of the BPF side.

The probes write to the copy named by ``active_copy``. A drain reads and deletes the copy that
was switched off at the previous drain (so no probe can still be writing to it), then
switches copies. One ``BPF_MAP_LOOKUP_AND_DELETE_BATCH`` call moves the raw entries into
numpy arrays, so draining costs no Python work per entry. A time bucket can straddle two
drains; rows of buckets that may still grow are held back and merged with the next drain, so
every (key) row is written exactly once.
"""

from __future__ import annotations

import ctypes as ct
import errno
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Buckets ending this close before a switch may still get a straddling probe's update.
STRADDLE_NS = 5_000_000


def batch_lookup_and_delete(lib: Any, map_fd: int, key_dtype: np.dtype[Any],
                            val_dtype: np.dtype[Any], capacity: int,
                            ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Every entry of a BPF hash map (deleted as read) as numpy key and value arrays."""
    return _batch(lib.bpf_lookup_and_delete_batch, map_fd, key_dtype, val_dtype, capacity)


def batch_lookup(lib: Any, map_fd: int, key_dtype: np.dtype[Any], val_dtype: np.dtype[Any],
                 capacity: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Every entry of a BPF hash map, left in place, in a few syscalls: BCC's table iteration
    costs a syscall and several ctypes objects per key."""
    return _batch(lib.bpf_lookup_batch, map_fd, key_dtype, val_dtype, capacity)


def _batch(operation: Any, map_fd: int, key_dtype: np.dtype[Any], val_dtype: np.dtype[Any],
           capacity: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    keys = _buffer(key_dtype, capacity)
    vals = _buffer(val_dtype, capacity)
    in_batch = ct.c_uint32(0)
    out_batch = ct.c_uint32(0)
    count = ct.c_uint32(0)
    total = 0
    first = True
    while total < capacity:
        count.value = capacity - total
        res = operation(
            map_fd, None if first else ct.byref(in_batch), ct.byref(out_batch),
            ct.c_void_p(keys.ctypes.data + total * key_dtype.itemsize),
            ct.c_void_p(vals.ctypes.data + total * val_dtype.itemsize), ct.byref(count))
        error = ct.get_errno()
        total += count.value
        if res != 0:
            if error == errno.ENOENT:
                break
            raise OSError(error, f"BPF map batch lookup: {os.strerror(error)}")
        if count.value == 0:
            break
        in_batch.value = out_batch.value
        first = False
    return keys[:total].copy(), vals[:total].copy()  # the buffers serve the next call


_reused = threading.local()


def _buffer(dtype: np.dtype[Any], capacity: int) -> np.ndarray[Any, Any]:
    """A buffer for ``capacity`` entries, reused by the calling thread: a fresh multi-MB array
    each drain cost an mmap, a page fault on every page the kernel filled, and an munmap.
    Only the entries the kernel writes are read, so it needs no zeroing."""
    buffers: dict[tuple[np.dtype[Any], int], np.ndarray[Any, Any]] | None = getattr(
        _reused, "buffers", None)
    if buffers is None:
        buffers = _reused.buffers = {}
    buffer = buffers.get((dtype, capacity))
    if buffer is None:
        buffer = buffers[(dtype, capacity)] = np.empty(capacity, dtype=dtype)
    return buffer


def merge_rows(keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any],
               max_fields: Sequence[str] = ("max_ns",),
               ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Rows with equal keys combined: fields summed (arrays element-wise), ``max_fields``
    maxed. Keys come back sorted by their bytes."""
    if len(keys) == 0:
        return keys, vals
    raw = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.dtype.itemsize)))
    unique, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(unique) == len(keys):
        return keys[first], vals[first]
    merged = np.zeros(len(unique), dtype=vals.dtype)
    names = vals.dtype.names or ()
    for name in names:
        if name in max_fields:
            np.maximum.at(merged[name], inverse, vals[name])
        else:
            np.add.at(merged[name], inverse, vals[name])
    return keys[first], merged


@dataclass
class PendingRows:
    """Rows of recent buckets held back until no later drain can add to them."""

    bucket_ns: int
    max_fields: tuple[str, ...] = ("max_ns",)
    keys: np.ndarray[Any, Any] | None = None
    vals: np.ndarray[Any, Any] | None = None

    def add(self, keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any], final_before_ns: int,
            ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Merge a drain's rows with the held ones; return the rows whose bucket ends before
        ``final_before_ns`` (complete), keep the rest."""
        if self.keys is not None and self.vals is not None and len(self.keys):
            keys = np.concatenate([self.keys, keys])
            vals = np.concatenate([self.vals, vals])
        keys, vals = merge_rows(keys, vals, self.max_fields)
        done = keys["bucket"].astype(np.int64) + self.bucket_ns <= final_before_ns
        self.keys, self.vals = keys[~done], vals[~done]
        return keys[done], vals[done]

    def take_all(self) -> tuple[np.ndarray[Any, Any] | None, np.ndarray[Any, Any] | None]:
        keys, vals = self.keys, self.vals
        self.keys = self.vals = None
        return keys, vals


@dataclass
class AggregateMap:
    """One double-buffered aggregation: BPF map names ``<name>0``/``<name>1``."""

    name: str
    key_dtype: np.dtype[Any]
    val_dtype: np.dtype[Any]
    capacity: int
    pending: PendingRows


class MapDrainer:
    """Switches and drains the double-buffered maps of one loaded BPF program."""

    def __init__(self, bpf: Any, lib: Any, maps: Sequence[AggregateMap]) -> None:
        self._bpf = bpf
        self._lib = lib
        self._maps = list(maps)
        self._active = 0
        self._switched_at_ns: int | None = None

    def _switch(self) -> None:
        self._active = 1 - self._active
        table = self._bpf[b"active_copy"]
        table[table.Key(0)] = table.Leaf(self._active)
        self._switched_at_ns = _monotonic_ns()

    def _drain_copy(self, copy: int, final_before_ns: int,
                    ) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        out = {}
        for agg in self._maps:
            fd = self._bpf[f"{agg.name}{copy}".encode()].map_fd
            keys, vals = batch_lookup_and_delete(self._lib, fd, agg.key_dtype, agg.val_dtype,
                                                 agg.capacity)
            out[agg.name] = agg.pending.add(keys, vals, final_before_ns)
        return out

    def drain(self) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """Complete rows per aggregation, drained from the copy switched off last time."""
        if self._switched_at_ns is None:
            self._switch()
            return {}
        quiet = 1 - self._active
        switched_at = self._switched_at_ns
        out = self._drain_copy(quiet, switched_at - STRADDLE_NS)
        self._switch()
        return out

    def _max_fields(self, name: str) -> tuple[str, ...]:
        return next(agg.pending.max_fields for agg in self._maps if agg.name == name)

    def drain_all(self) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """Final drain: both copies, every held row (after the probes are detached or the
        tracked processes are gone)."""
        out: dict[str, list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]] = {}
        for copy in (1 - self._active, self._active):
            for name, rows in self._drain_copy(copy, np.iinfo(np.int64).max).items():
                out.setdefault(name, []).append(rows)
        result = {}
        for name, parts in out.items():
            keys = np.concatenate([k for k, _ in parts])
            vals = np.concatenate([v for _, v in parts])
            result[name] = merge_rows(keys, vals, self._max_fields(name))
        return result


def _monotonic_ns() -> int:
    return time.monotonic_ns()  # CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
