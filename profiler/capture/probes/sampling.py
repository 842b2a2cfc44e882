"""On-CPU stack sampling: attach the cpu-clock event, drain bpf/stacks.c, write ``samples``.

Each drain reads the count map copy that was switched off at the previous drain (nothing
writes to it any more), names its stacks, clears that copy's stack table and switches copies.
Rows of processes with frames waiting for a perf map (JIT code of a JVM) are held until the
process has exited and its last samples are drained (or the capture stops), then the map
written by ``-XX:+DumpPerfMapAtExit`` names them.

Samples of Python processes carry a second stack, the interpreter's own frames walked in the
kernel (see ``pystacks``); their names replace the interpreter's native frames.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from profiler.capture.probes.events import stack_column
from profiler.capture.probes.pystacks import PythonSamplingReport, PythonStacks
from profiler.capture.stream.mapdrain import batch_lookup_and_delete
from profiler.capture.stream.stackmap import StackReader
from profiler.capture.symbols.frames import (
    Frame,
    FrameNamer,
    all_named,
    process_uid,
    waiting_addresses,
)
from profiler.capture.symbols.perfmap import PerfMap, read_perf_map, request_perf_map
from profiler.capture.symbols.stacks import MISSING_KERNEL, MISSING_USER, StackResolver
from profiler.rundir.writer import RunWriter

SAMPLE_KEY = np.dtype({"names": ["bucket", "pid", "tid", "cpu", "ustack", "kstack",
                                 "pystack"],
                       "formats": ["<u8", "<u4", "<u4", "<u4", "<i4", "<i4", "<u8"],
                       "offsets": [0, 8, 12, 16, 20, 24, 32], "itemsize": 40})
SAMPLE_VAL = np.dtype("<u8")
NO_KERNEL_STACK = -1
_CAPACITY = 32768  # bpf/stacks.c MAX_SAMPLE_KEYS
_DRAINS_AFTER_EXIT = 2
# Rows of running JVMs wait for the names of their JIT code (the perf map a JVM writes at
# exit). Past this many, each such JVM is asked for its map now and its rows are written: the
# collector's memory stays bounded on long runs and a crash of it loses fewer samples
# (~3 min of 49 Hz samples on 2 busy CPUs, ~15 MB).
_HELD_ROWS_LIMIT = 20_000
_HELD_ROWS_CAP = 10 * _HELD_ROWS_LIMIT  # then even JVMs that cannot be asked (JDK < 17)
STAT_NAMES = ("samples", "sample_map_full", "sample_user_stack_failed",
              "sample_kernel_stack_failed", "sample_python_stacks",
              "sample_python_thread_missing", "sample_python_map_full",
              "sample_python_truncated")


class _SampleKey(NamedTuple):
    """One entry of the sample count map, as Python ints."""

    bucket: int
    pid: int
    tid: int
    cpu: int
    ustack: int
    kstack: int
    pystack: int
    samples: int  # not `count`: tuple.count is a method


@dataclass
class _Row:
    ts_ns: int
    pid: int
    tid: int
    cpu: int
    user: list[Frame]
    kernel: list[str]
    count: int


@dataclass
class SamplingReport:
    hz: int
    samples: int = 0
    rows: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    perf_maps: dict[int, int] = field(default_factory=dict)  # pid -> entries read
    live_perf_maps: int = 0  # maps asked of running JVMs (jcmd Compiler.perfmap)
    helper_cpu_s: float = 0.0  # CPU of the jcmd processes that asked (not in collector_s)
    frames: dict[str, int] = field(default_factory=dict)
    collector_s: float = 0.0  # CPU spent draining, naming and writing samples
    # part of collector_s spent loading symbol tables and maps that other stacks share
    # (whichever kind of stack needs a table first pays for it)
    symbol_tables_s: float = 0.0
    phases_s: dict[str, float] = field(default_factory=dict)  # collector_s by phase
    python: PythonSamplingReport = field(default_factory=PythonSamplingReport)

    def as_meta(self) -> dict[str, Any]:
        return {"hz": self.hz, "samples": self.samples, "rows": self.rows,
                "stats": dict(self.stats), "perf_maps": {str(k): v for k, v in
                                                         self.perf_maps.items()},
                "live_perf_maps": self.live_perf_maps,
                "helper_cpu_s": round(self.helper_cpu_s, 3),
                "frames": dict(self.frames), "collector_s": round(self.collector_s, 3),
                "symbol_tables_s": round(self.symbol_tables_s, 3),
                "phases_s": {phase: round(seconds, 4)
                             for phase, seconds in self.phases_s.items()},
                "python": self.python.as_meta()}

    @property
    def notices(self) -> list[str]:
        """One-line notices for the capture report (Python frames left unnamed)."""
        return self.python.notices()


class _PhaseClock:
    """The drains' CPU time split by phase (meta ``sampling.phases_s``): inside a recording
    the same work costs 2.5-3x its offline time, so where it goes is measured in place, at a
    few clock reads a drain, rather than by a profiler that would change it."""

    def __init__(self, totals: dict[str, float]) -> None:
        self._totals = totals
        self._at = time.thread_time()

    def start(self) -> None:
        self._at = time.thread_time()

    def lap(self, phase: str) -> None:
        """Count the time since the last lap (or start) to ``phase``."""
        now = time.thread_time()
        self._totals[phase] = self._totals.get(phase, 0.0) + now - self._at
        self._at = now


class SampleCollector:
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter, hz: int,
                 is_jvm: Callable[[int], bool], stacks: StackResolver) -> None:
        """``is_jvm(pid)``: whether unnamed addresses of ``pid`` may be JIT code that its
        perf map will name (others become ``[unknown]`` at once); ``stacks``: the capture's
        symbol authority, whose file and kernel symbol tables the samples share."""
        self._bpf = bpf
        self._lib = lib
        self._writer = writer
        self._is_jvm = is_jvm
        self._stacks = stacks
        self._namer = FrameNamer.for_symbols(stacks.user_symbols)
        self._active = 0
        self._held: dict[int, list[_Row]] = {}
        self._held_rows = 0
        self._no_live_map: set[int] = set()  # JVMs that could not write a map while running
        self._uids: dict[int, int] = {}
        self._exited: dict[int, int] = {}  # pid -> drains since its exit
        self._kernel_cache: dict[int, list[str]] = {}
        self._python = PythonStacks(bpf, lib)
        self.report = SamplingReport(hz=hz, python=self._python.report)
        self._clock = _PhaseClock(self.report.phases_s)

    def attach(self) -> None:
        from bcc import PerfSWConfig, PerfType

        self._set_copy(0)
        self._python.start()
        self._bpf.attach_perf_event(ev_type=PerfType.SOFTWARE,
                                    ev_config=PerfSWConfig.CPU_CLOCK,
                                    fn_name=b"on_cpu_sample", sample_freq=self.report.hz)

    def _set_copy(self, copy: int) -> None:
        table = self._bpf[b"sample_copy"]
        table[table.Key(0)] = table.Leaf(copy)
        self._active = copy

    # -- draining --------------------------------------------------------------------------
    def drain(self) -> None:
        """Name and write the quiet copy's samples, then make it the active one."""
        started, tables = time.thread_time(), self._stacks.user_symbols.tables_ns
        quiet = 1 - self._active
        self._clock.start()
        self._python.look_ahead(self._active)
        self._clock.lap("python")
        self._drain_copy(quiet)
        self._set_copy(quiet)
        self._clock.start()
        self._release_exited()
        self._write_held_if_many()
        self._clock.lap("release")
        self._count_cost(started, tables)

    def _count_cost(self, started: float, tables_ns: int) -> None:
        self.report.collector_s += time.thread_time() - started
        self.report.symbol_tables_s += (self._stacks.user_symbols.tables_ns - tables_ns) / 1e9

    def process_exited(self, pid: int) -> None:
        self._exited.setdefault(pid, 0)

    def forget_image(self, pid: int) -> None:
        """The pid exec'd: names cached for its old image no longer apply."""
        self._namer.forget_process(pid)

    def stop(self) -> SamplingReport:
        """Final drain of both copies; every held row is named and written."""
        started, tables = time.thread_time(), self._stacks.user_symbols.tables_ns
        with contextlib.suppress(Exception):  # BCC raises bare Exceptions on detach
            self._bpf.detach_perf_event(ev_type=1, ev_config=0)
        for copy in (1 - self._active, self._active):
            self._drain_copy(copy)
        self._clock.start()
        for pid in list(self._held):
            self._release(pid)
        self._clock.lap("release")
        self._python.close()
        table = self._bpf[b"sample_stats"]
        for index, name in enumerate(STAT_NAMES):
            count = int(table.sum(table.Key(index)).value)
            if count:
                self.report.stats[name] = count
        namer = self._namer
        self._count_cost(started, tables)
        self.report.frames = {"named": namer.resolved, "jit_named": namer.jit_resolved,
                              "unknown": namer.unresolved}
        return self.report

    def _drain_copy(self, copy: int) -> None:
        clock = self._clock
        clock.start()
        table = self._bpf[f"sample_agg{copy}".encode()]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, SAMPLE_KEY, SAMPLE_VAL,
                                             _CAPACITY)
        stacks = self._bpf[f"sample_stacks{copy}".encode()]
        reader = StackReader(stacks, self._lib)
        pids, ustacks, kstacks = (keys[name].tolist() for name in ("pid", "ustack", "kstack"))
        distinct_pids = set(pids)
        clock.lap("read")
        self._python.prepare(copy, distinct_pids)
        clock.lap("python")
        native = self._user_stacks(reader, pids, ustacks)
        columns = zip(keys["bucket"].tolist(), pids, keys["tid"].tolist(),
                      keys["cpu"].tolist(), ustacks, kstacks,
                      keys["pystack"].tolist(), vals.tolist(), strict=True)
        rows = [self._row(_SampleKey(*fields), reader, native) for fields in columns]
        clock.lap("rows")
        # emptied, else the copy fills up and new stacks collide (failed walks): by the ids
        # the rows hold, unless the count map was full and dropped samples whose stacks
        # were stored already
        if len(keys) >= _CAPACITY:
            reader.clear()
        else:
            reader.delete(set(ustacks).union(kstacks))
        self._kernel_cache.clear()  # kernel stack ids are per copy too
        clock.lap("clear")
        ready = []
        jvms = {pid for pid in distinct_pids if self._is_jvm(pid)}  # a look-up walks them all
        for row in rows:
            if row.pid in jvms and not all_named(row.user):
                self._hold(row)
            else:
                ready.append(row)
        clock.lap("rows")
        self._write(ready, {})
        clock.lap("write")

    def _user_stacks(self, stacks: StackReader, pids: list[int], ustacks: list[int],
                     ) -> dict[tuple[int, int], list[Frame]]:
        """The native frames of each distinct (pid, user stack) of the drained rows (rows
        repeat a stack across buckets, threads and CPUs). Each process's new addresses are
        named together, one vectorized pass per mapped file."""
        addresses = {stack_id: stacks.addresses(stack_id) for stack_id in set(ustacks)}
        self._clock.lap("read")
        distinct = set(zip(pids, ustacks, strict=True))
        wanted: dict[int, set[int]] = {}
        for pid, stack_id in distinct:
            wanted.setdefault(pid, set()).update(addresses[stack_id])
        for pid, frames in wanted.items():
            self._namer.learn(pid, frames)
        named: dict[tuple[int, int], list[Frame]] = {
            (pid, stack_id): (self._namer.frames(pid, addresses[stack_id])
                              if addresses[stack_id] else [MISSING_USER])
            for pid, stack_id in distinct}
        self._clock.lap("name")
        return named

    def _row(self, key: _SampleKey, stacks: StackReader,
             native: dict[tuple[int, int], list[Frame]]) -> _Row:
        pid, kstack = key.pid, key.kstack
        user = self._python.splice(pid, key.pystack, native[(pid, key.ustack)], key.samples)
        if kstack == NO_KERNEL_STACK:
            kernel: list[str] = []
        else:
            kernel = self._kernel_cache.get(kstack) or self._kernel(stacks, kstack)
        return _Row(key.bucket, pid, key.tid, key.cpu, user, kernel, key.samples)

    def _kernel(self, stacks: StackReader, stack_id: int) -> list[str]:
        addresses = stacks.addresses(stack_id)
        frames = ([self._stacks.kernel_symbol(addr) for addr in addresses] if addresses
                  else [MISSING_KERNEL])
        self._kernel_cache[stack_id] = frames
        return frames

    def _hold(self, row: _Row) -> None:
        if row.pid not in self._uids:
            uid = process_uid(row.pid)
            if uid is not None:
                self._uids[row.pid] = uid
        self._held.setdefault(row.pid, []).append(row)
        self._held_rows += 1

    def _release_exited(self) -> None:
        for pid in list(self._exited):
            self._exited[pid] += 1
            if self._exited[pid] >= _DRAINS_AFTER_EXIT:
                del self._exited[pid]
                self._release(pid)
                self._namer.forget_process(pid)
                self._python.forget_process(pid)

    def _write_held_if_many(self) -> None:
        if self._held_rows <= _HELD_ROWS_LIMIT:
            return
        for pid in list(self._held):
            if pid not in self._exited:  # an exited JVM's rows go once its map is complete
                self._release(pid, keep_unnamed=True)
        if self._held_rows > _HELD_ROWS_CAP:
            for pid in list(self._held):
                self._release(pid)  # JIT frames stay [unknown]: memory comes first

    def _release(self, pid: int, keep_unnamed: bool = False) -> None:
        """Write the held rows of ``pid`` named from its perf map: the one a running JVM
        writes when asked (a file written before lacks newer code), else the file an exited
        one wrote. ``keep_unnamed``: keep the rows when there is no map."""
        if not self._held.get(pid):
            return
        uid = self._uids.get(pid)
        perf_map = None
        if uid is not None and pid not in self._exited and pid not in self._no_live_map:
            asked = request_perf_map(pid)
            self.report.helper_cpu_s += asked.cpu_ns / 1e9
            perf_map = read_perf_map(pid, uid) if asked.written else None
            if perf_map is None:
                self._no_live_map.add(pid)  # e.g. JDK < 17: not asked again
            else:
                self.report.live_perf_maps += 1
        if perf_map is None:
            if keep_unnamed:
                return  # its map at exit will name them
            perf_map = read_perf_map(pid, uid) if uid is not None else None
        rows = self._held.pop(pid)
        self._held_rows -= len(rows)
        if perf_map is not None:
            self.report.perf_maps[pid] = len(perf_map)
        self._write(rows, {pid: perf_map})

    def _write(self, rows: list[_Row], maps: dict[int, PerfMap | None]) -> None:
        if not rows:
            return
        # rows of one process sharing a stack share its list: finish (name JIT frames) once
        uses = Counter((row.pid, id(row.user)) for row in rows)
        users = {(row.pid, id(row.user)): row.user for row in rows}
        jit_names = {pid: perf_map.jit_names(waiting_addresses(
                         user for (owner, _), user in users.items() if owner == pid))
                     for pid, perf_map in maps.items() if perf_map is not None}
        finished = {key: self._namer.finish(users[key], jit_names.get(key[0], {}), times)
                    for key, times in uses.items()}
        self._writer.append("samples", {
            "ts_ns": np.array([r.ts_ns for r in rows], dtype=np.int64),
            "pid": np.array([r.pid for r in rows], dtype=np.int32),
            "tid": np.array([r.tid for r in rows], dtype=np.int32),
            "cpu": np.array([r.cpu for r in rows], dtype=np.int32),
            "user_stack": stack_column([finished[(r.pid, id(r.user))] for r in rows]),
            "kernel_stack": stack_column([r.kernel for r in rows]),
            "count": np.array([r.count for r in rows], dtype=np.int64),
        })
        self.report.rows += len(rows)
        self.report.samples += sum(r.count for r in rows)
