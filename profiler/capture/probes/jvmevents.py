"""HotSpot probe events to ``gc`` rows (begin/end paired per JVM) and Java thread names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler.capture.stream.records import (
    JVM_GC_BEGIN,
    JVM_GC_END,
    JVM_POOL_BEGIN,
    JVM_POOL_END,
    JVM_THREAD_START,
    JVM_THREAD_STOP,
    cstr,
)


@dataclass
class GcRow:
    pid: int
    tid: int
    start_ns: int
    end_ns: int
    kind: str  # gc | mem_pool
    pool: str | None


@dataclass
class GcPairer:
    """Pairs gc__begin/gc__end per JVM and mem__pool__gc__begin/end per (JVM, pool)."""

    rows: list[GcRow] = field(default_factory=list)
    unmatched_ends: int = 0
    nested_begins: int = 0
    _gc_open: dict[int, tuple[int, int]] = field(default_factory=dict)
    _gc_depth: dict[int, int] = field(default_factory=dict)
    _pool_open: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)

    def begin_gc(self, pid: int, tid: int, ts: int) -> None:
        # HotSpot can fire gc__begin again inside a pause (a collection started within
        # another one: seen 3 times in a PySpark run, as ends without a begin when each
        # begin replaced the previous one). The outermost begin/end make the row.
        if pid in self._gc_open:
            self._gc_depth[pid] = self._gc_depth.get(pid, 0) + 1
            self.nested_begins += 1
            return
        self._gc_open[pid] = (tid, ts)

    def end_gc(self, pid: int, ts: int) -> None:
        depth = self._gc_depth.get(pid, 0)
        if depth:
            self._gc_depth[pid] = depth - 1
            return
        opened = self._gc_open.pop(pid, None)
        if opened is None:
            self.unmatched_ends += 1
            return
        self.rows.append(GcRow(pid, opened[0], opened[1], ts, "gc", None))

    def begin_pool(self, pid: int, tid: int, pool: str, ts: int) -> None:
        self._pool_open[(pid, pool)] = (tid, ts)

    def end_pool(self, pid: int, pool: str, ts: int) -> None:
        opened = self._pool_open.pop((pid, pool), None)
        if opened is None:
            self.unmatched_ends += 1
            return
        self.rows.append(GcRow(pid, opened[0], opened[1], ts, "mem_pool", pool))

    @property
    def open_begins(self) -> int:
        return len(self._gc_open) + len(self._pool_open)

    def take_columns(self) -> dict[str, list[Any]] | None:
        rows, self.rows = self.rows, []
        if not rows:
            return None
        return {
            "pid": [r.pid for r in rows], "tid": [r.tid for r in rows],
            "start_ns": [r.start_ns for r in rows], "end_ns": [r.end_ns for r in rows],
            "duration_ns": [r.end_ns - r.start_ns for r in rows],
            "kind": [r.kind for r in rows], "pool": [r.pool for r in rows],
        }


def dispatch_jvm_events(events: np.ndarray[Any, Any], gc: GcPairer,
                        thread_started: Callable[[int, int, str, int], None],
                        thread_stopped: Callable[[int, int, int], None]) -> None:
    for ev in events:
        kind, pid, tid, ts = int(ev["type"]), int(ev["pid"]), int(ev["tid"]), int(ev["ts"])
        if kind == JVM_GC_BEGIN:
            gc.begin_gc(pid, tid, ts)
        elif kind == JVM_GC_END:
            gc.end_gc(pid, ts)
        elif kind in (JVM_POOL_BEGIN, JVM_POOL_END):
            pool = cstr(ev["s2"], int(ev["b"]))
            if kind == JVM_POOL_BEGIN:
                gc.begin_pool(pid, tid, pool, ts)
            else:
                gc.end_pool(pid, pool, ts)
        elif kind in (JVM_THREAD_START, JVM_THREAD_STOP):
            native_tid = int(ev["b"]) or tid
            if kind == JVM_THREAD_START:
                thread_started(pid, native_tid, cstr(ev["s1"], int(ev["len1"])), ts)
            else:
                thread_stopped(pid, native_tid, ts)
