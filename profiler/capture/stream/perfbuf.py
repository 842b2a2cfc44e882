"""Event streams: one BPF_PERF_OUTPUT map read through per-CPU rings (perfring.py).

A reader thread (RingGroup) copies ring contents out as soon as they wake it, so the rings
keep draining while the session thread parses, resolves stacks or waits on a Parquet flush.
Wake-ups are batched (``wakeup_events``); ``take`` also sweeps the rings, so records that
woke no one are not left behind. Records lost in the kernel (ring full) are counted.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from profiler.capture.stream.perfring import PerfRing, RingGroup, parse_records


class EventStream:
    """One BPF_PERF_OUTPUT table: records accumulate in the rings until :meth:`take`."""

    def __init__(self, name: str, dtype: np.dtype[Any]) -> None:
        self.name = name
        self.dtype = dtype
        self.lost = 0
        self.received = 0
        self._rings: list[PerfRing] = []
        self._chunks: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()

    def fds(self) -> list[int]:
        return [ring.fd for ring in self._rings]

    def open(self, bpf: Any, page_cnt: int, wakeup_events: int, group: RingGroup) -> None:
        from bcc import get_online_cpus

        table = bpf[self.name.encode()]
        for cpu in get_online_cpus():
            ring = PerfRing(cpu, page_cnt, wakeup_events)
            self._rings.append(ring)
            table[table.Key(cpu)] = table.Leaf(ring.fd)
        group.watch(self)

    def pull(self) -> int:
        """Copy out whatever the rings hold (any thread); the number of bytes copied."""
        copied = 0
        with self._lock:
            for index, ring in enumerate(self._rings):
                raw = ring.read()
                if raw:
                    self._chunks.append((index, raw))
                    copied += len(raw)
        return copied

    def take(self) -> np.ndarray[Any, Any]:
        """The records received since the last call, parsed (each CPU's in order)."""
        self.pull()
        with self._lock:
            chunks, self._chunks = self._chunks, []
        by_ring: dict[int, list[bytes]] = {}
        for index, raw in chunks:
            by_ring.setdefault(index, []).append(raw)
        parts = []
        for pieces in by_ring.values():
            records, lost = parse_records(b"".join(pieces), self.dtype)
            self.lost += lost
            parts.append(records)
        if not parts:
            return np.empty(0, dtype=self.dtype)
        records = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if len(parts) > 1:
            # Rings are per CPU: restore time order across them (every event starts with
            # its u64 timestamp) so that begin/end and fork/exit pairs meet in order.
            first = (self.dtype.names or ("ts",))[0]
            records = records[np.argsort(records[first], kind="stable")]
        self.received += len(records)
        return records

    def close(self) -> None:
        for ring in self._rings:
            ring.close()
        self._rings = []
