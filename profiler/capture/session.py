"""CaptureSession: the capture half of ``sparkprof record``.

Use::

    session = CaptureSession(CaptureOptions(), writer)
    session.start()              # compile + attach (compile time in the report)
    session.track(child_pid)     # the command; its descendants are tracked in the kernel
    while running:
        session.poll(200)        # drain perf buffers, periodic map drains, writer.maybe_flush()
    report = session.stop()      # final drain; writer.update_meta(**report.as_meta())

Rows go to the tables of the run-directory contract through ``RunWriter.append``: processes,
threads, syscalls, slow_syscalls, network, connections, file_io, offcpu, offcpu_blocks, gc.
The session never writes meta.json itself: ``record`` merges ``report.as_meta()``.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import numpy as np

from profiler.capture import procfs, selfcost
from profiler.capture.options import CaptureOptions, CaptureReport
from profiler.capture.probes.boundary import BoundaryCapture
from profiler.capture.probes.events import ConnectionTracker, block_columns, slow_syscall_columns
from profiler.capture.probes.jvmcheck import JvmLibraryCheck
from profiler.capture.probes.jvmevents import GcPairer, dispatch_jvm_events
from profiler.capture.probes.net.fds import FdResolver
from profiler.capture.probes.net.peers import driver_rpc_port
from profiler.capture.probes.processes import ProcessTable
from profiler.capture.probes.syscall_table import build_flag_table
from profiler.capture.program import LoadedProgram, load_program, source_with_flags
from profiler.capture.stream import records, rows
from profiler.capture.stream.mapdrain import AggregateMap, MapDrainer, PendingRows
from profiler.capture.stream.perfbuf import EventStream
from profiler.capture.stream.perfring import RingGroup
from profiler.capture.symbols.stacks import StackResolver, has_table
from profiler.errors import HostNotReadyError, PrivilegeError
from profiler.rundir.writer import RunWriter

# Per-CPU ring pages of the low-rate streams. sock_events carries every open/close of the
# tracked processes: a JVM start-up opens thousands of jars and classes within a few ms,
# and 64 pages (~4,000 records) overflowed while the reader waited for a CPU.
_SMALL_BUFFER_PAGES = 64
_FD_BUFFER_PAGES = 512
_PRUNE_EVERY_DRAINS = 10  # the fd history walk costs ~3 ms; memory stays bounded anyway
_FORGET_AFTER_DRAINS = 3  # per-pid caches outlive a process until its last rows are drained


class CaptureSession:
    def __init__(self, options: CaptureOptions, writer: RunWriter) -> None:
        self.options = options
        self._writer = writer
        self._program: LoadedProgram | None = None
        self._streams: dict[str, EventStream] = {}
        self._rings = RingGroup()
        self._drainer: MapDrainer | None = None
        self._stacks: StackResolver | None = None
        self._stats_fd: int | None = None
        self._names: dict[int, str] = {}
        self.processes = ProcessTable()
        self._fds = FdResolver(self.processes.role_of, self._live_pids, self._driver_rpc_ports,
                               options.bucket_ns)
        self._connections = ConnectionTracker(self._fds)
        self._gc = GcPairer()
        self._boundary = BoundaryCapture(options, writer,
                                         lambda: self.processes.processes.values())
        self._jvm_check = JvmLibraryCheck(None)
        self._report = CaptureReport()
        self._next_drain = 0.0
        self._drains = 0
        self._exited: list[tuple[int, int]] = []
        self._stacked_events: dict[str, list[np.ndarray[Any, Any]]] = {
            "slow_events": [], "block_events": []}
        self._oncpu_ns = 0
        self._cpu_at_start = 0
        self._stopped = False

    @property
    def report(self) -> CaptureReport:
        """The capture's report so far: probes attached and failed and the compile time are
        there as soon as start() returned; stop() completes it."""
        return self._report

    # -- set-up ------------------------------------------------------------------------------
    def bpf_source(self) -> str:
        """The generated C with its -D flags (``record --print-bpf``)."""
        return source_with_flags(self.options)

    def start(self) -> None:
        """Compile and attach every family; one that fails is reported, the others run."""
        if os.geteuid() != 0:
            raise PrivilegeError("capturing with eBPF needs root", "run it with sudo")
        try:
            program = load_program(self.options)
        except Exception as error:  # BCC reports compile/attach errors as bare Exceptions
            raise HostNotReadyError(f"could not load the BPF programs: {error}",
                                    "run `sparkprof doctor` to check BCC, kernel headers "
                                    "and tracefs") from error
        self._program = program
        bpf = program.bpf
        self._report.probes_attached = list(program.attached)
        self._report.probes_failed = dict(program.failed)
        self._report.compile_s = program.compile_s
        self._jvm_check = JvmLibraryCheck(program.libjvm)
        self._fill_syscall_flags(bpf)
        self._open_streams(bpf, program.families)
        self._rings.start()
        self._drainer = MapDrainer(bpf, _libbcc(), self._aggregates(program.families))
        self._drainer.drain()  # selects copy 0 and starts the clock of the first interval
        self._stacks = StackResolver(bpf, _libbcc())
        self._boundary.start(bpf, _libbcc(), program.families, self._stacks)
        self._stats_fd = selfcost.enable_bpf_stats()
        if self._stats_fd is None:
            self._report.notices.append("BPF run-time statistics unavailable: self-cost "
                                        "excludes the programs' own run time")
        self._next_drain = time.monotonic() + self.options.drain_interval_s
        self._cpu_at_start = selfcost.collector_cpu_ns()  # compile time is reported apart
        if self._stacks.has_stacks or self._boundary.sampler is not None:
            # The kernel's symbol table (~0.1 s to load) serves off-CPU and sampled stacks
            # alike: loaded once here, inside the capture's cost but outside either share.
            self._stacks.load_kernel_symbols()

    def _fill_syscall_flags(self, bpf: Any) -> None:
        from bcc.syscall import syscalls

        self._names = {int(nr): name.decode() for nr, name in syscalls.items()}
        table = bpf[b"sys_flags"]
        for nr, flags in build_flag_table(self._names, self.options.syscalls,
                                          self.options.network_lifecycle).items():
            table[table.Key(nr)] = table.Leaf(flags)

    def _open_streams(self, bpf: Any, families: list[str]) -> None:
        wanted = [("proc_events", records.PROC_EVENT, _SMALL_BUFFER_PAGES),
                  ("sock_events", records.SOCK_EVENT, _FD_BUFFER_PAGES)]
        if self.options.syscalls:
            wanted.append(("slow_events", records.SLOW_EVENT, self.options.stream_buffer_pages))
        if "sched" in families and self.options.offcpu:
            wanted.append(("block_events", records.BLOCK_EVENT,
                           self.options.stream_buffer_pages))
        if "jvm" in families:
            wanted.append(("jvm_events", records.JVM_EVENT, _SMALL_BUFFER_PAGES))
        for name, dtype, pages in wanted:
            stream = EventStream(name, dtype)
            stream.open(bpf, page_cnt=pages, wakeup_events=self.options.wakeup_events,
                        group=self._rings)
            self._streams[name] = stream

    def _aggregates(self, families: list[str]) -> list[AggregateMap]:
        bucket = self.options.bucket_ns
        maps = [AggregateMap("sys_agg", records.SYS_KEY, records.SYS_VAL, 32768,
                             PendingRows(bucket)),
                AggregateMap("fdio_agg", records.FDIO_KEY, records.FDIO_VAL, 32768,
                             PendingRows(bucket))]
        if "sched" in families and self.options.offcpu:
            maps.append(AggregateMap("offcpu_agg", records.OFFCPU_KEY, records.OFFCPU_VAL,
                                     32768, PendingRows(bucket)))
        return maps

    # -- targets -----------------------------------------------------------------------------
    def track(self, pid: int) -> None:
        """Track ``pid`` and its live descendants; later descendants are added in-kernel.

        Call it before the command does any work (e.g. the child waits on a pipe until
        tracked, then execs): what a process did before it was tracked is not seen."""
        bpf = self._require_started()
        table = bpf[b"tracked"]
        bits = bpf[b"tracked_bits"]
        now = time.monotonic_ns()
        for each in [pid, *procfs.descendants_of(pid)]:
            table[table.Key(each)] = table.Leaf(1)
            # The probes read the bitmap. A read-modify-write: the processes sharing this
            # word (pids within 64 of each other) are not tracked and forking yet.
            word = bits.Key(each >> 6)
            bits[word] = bits.Leaf(int(bits[word].value) | (1 << (each & 63)))
            self.processes.add_existing(each, now)
            self._fds.scan(each, now)

    def _live_pids(self) -> list[int]:
        return [p.pid for p in self.processes.processes.values() if p.exit_ns is None]

    def _driver_rpc_ports(self) -> set[int]:
        ports = set()
        for info in self.processes.processes.values():
            port = driver_rpc_port(info.cmdline) if info.role == "executor-jvm" else None
            if port:
                ports.add(port)
        return ports

    def running(self) -> list[int]:
        """Tracked processes whose exit has not been seen and that are still there."""
        return [info.pid for info in self.processes.processes.values()
                if info.exit_ns is None and os.path.exists(f"/proc/{info.pid}")]

    # -- the loop ----------------------------------------------------------------------------
    def poll(self, timeout_ms: int = 200) -> None:
        """Wait up to ``timeout_ms`` for events, turn everything pending into rows."""
        self._require_started()
        self._rings.wait(timeout_ms)
        self._handle_events()
        if time.monotonic() >= self._next_drain:
            self._next_drain = time.monotonic() + self.options.drain_interval_s
            assert self._drainer is not None
            self._write_aggregates(self._drainer.drain())
            self._write_stacked_events()
            assert self._stacks is not None
            self._stacks.rotate_user_stacks()  # every event received so far is resolved
            self._boundary.drain()
            self._drains += 1
            horizon = (_FORGET_AFTER_DRAINS * self.options.drain_interval_s * 1e9
                       + self.options.bucket_ns)
            if self._drains % _PRUNE_EVERY_DRAINS == 0:
                self._fds.prune(time.monotonic_ns() - int(horizon))
            self._forget_exited()
            self._report.notices.extend(
                self._jvm_check.notices(self.processes.processes.values()))
            self._write_entities()
        self._writer.maybe_flush()

    def _handle_events(self) -> None:
        streams = self._streams
        assert self._stacks is not None
        procs = streams["proc_events"].take()
        socks = streams["sock_events"].take()
        if len(procs):
            self.processes.on_proc_events(procs)
            socks = self._note_fds(procs, socks)
            self._note_exits(procs)
        self._connections.on_events(socks)
        if "jvm_events" in streams:
            dispatch_jvm_events(streams["jvm_events"].take(), self._gc,
                                self.processes.java_thread_started,
                                self.processes.java_thread_stopped)
        for name in ("slow_events", "block_events"):
            if name in streams:
                events = streams[name].take()
                if len(events):
                    self._stacked_events[name].append(events)
        if len(procs) and (procs["type"] == records.PROC_EXIT).any():
            self._write_stacked_events()  # resolve the stacks while the maps are fresh

    def _write_stacked_events(self) -> None:
        """Rows of the events with stacks, batched per drain: the columns cost a fixed
        ~0.3 ms per batch (pyarrow list building), most of it paid once a second."""
        assert self._stacks is not None
        slow, blocks = self._stacked_events["slow_events"], self._stacked_events["block_events"]
        if slow:
            self._writer.append("slow_syscalls", slow_syscall_columns(
                np.concatenate(slow), self._names, self._stacks))
        if blocks:
            self._writer.append("offcpu_blocks",
                                block_columns(np.concatenate(blocks), self._stacks))
        slow.clear()
        blocks.clear()

    def _take_deferred_blocks(self, bpf: Any) -> None:
        """Off-CPU blocks still waiting for their user stack (bpf/offcpu_defer.c) when the
        capture stops: written without one rather than lost."""
        if "block_events" not in self._streams or not has_table(bpf, "deferred_blocks"):
            return
        table = bpf[b"deferred_blocks"]
        raw = b"".join(bytes(value) for value in table.values())
        if raw:
            events = np.frombuffer(raw, dtype=records.BLOCK_EVENT).copy()
            events["ustack"] = records.USTACK_NOT_IN_SYSCALL
            self._stacked_events["block_events"].append(events)

    def _note_fds(self, procs: np.ndarray[Any, Any],
                  socks: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Forks and execs in time order with the fd events before them (a fork right after
        an accept must copy the accepted socket); returns the fd events still to handle."""
        socks = socks[np.argsort(socks["ts"], kind="stable")]
        done = 0
        for ev in procs[np.argsort(procs["ts"], kind="stable")]:
            kind = int(ev["type"])
            if kind in (records.PROC_FORK, records.PROC_EXEC):
                upto = int(np.searchsorted(socks["ts"], ev["ts"], side="right"))
                if upto > done:
                    self._connections.on_events(socks[done:upto])
                    done = upto
            if kind == records.PROC_FORK:
                self._fds.inherit(int(ev["ppid"]), int(ev["pid"]), int(ev["ts"]))
            elif kind == records.PROC_EXEC:
                self._fds.scan(int(ev["pid"]), int(ev["ts"]))
                self._forget_image(int(ev["pid"]))
        return socks[done:]

    def _forget_image(self, pid: int) -> None:
        """After an exec the pid maps other files: names cached from the old image (e.g.
        spark-class's bash before it execs java) would turn every frame into [unknown]."""
        if self._stacks is not None:
            self._stacks.forget_process(pid)
        self._boundary.process_execed(pid)

    def _note_exits(self, procs: np.ndarray[Any, Any]) -> None:
        exits = procs[procs["type"] == records.PROC_EXIT]
        for pid in exits["pid"]:
            self._exited.append((self._drains, int(pid)))
            self._boundary.process_exited(int(pid))
            self._oncpu_ns += self._take_oncpu(int(pid))

    def _take_oncpu(self, pid: int) -> int:
        assert self._program is not None
        table = self._program.bpf[b"oncpu_ns"] if "sched" in self._program.families else None
        if table is None:
            return 0
        key = table.Key(pid)
        try:
            value = int(table[key].value)
            del table[key]
        except KeyError:
            return 0
        return value

    def _forget_exited(self) -> None:
        keep = []
        for drained_at, pid in self._exited:
            if self._drains - drained_at >= _FORGET_AFTER_DRAINS:
                self._forget_fd_generations(pid, self._fds.forget_process(pid))
                if self._stacks is not None:
                    self._stacks.forget_process(pid)
            else:
                keep.append((drained_at, pid))
        self._exited = keep

    def _forget_fd_generations(self, pid: int, fds: list[int]) -> None:
        assert self._program is not None
        table = self._program.bpf[b"fd_gen"]
        for fd in fds:
            with contextlib.suppress(KeyError):
                del table[table.Key((pid << 32) | (fd & 0xFFFFFFFF))]

    def _write_aggregates(self, drained: dict[str, tuple[Any, Any]]) -> None:
        if "sys_agg" in drained:
            keys, vals = drained["sys_agg"]
            if len(keys):
                self.processes.see_threads(keys["pid"], keys["tid"])
                self._writer.append("syscalls", rows.syscall_columns(keys, vals, self._names))
        if "fdio_agg" in drained:
            keys, vals = drained["fdio_agg"]
            if len(keys):
                network, file_io = rows.fd_io_columns(keys, vals, self._fds.target)
                self._append("network", network)
                self._append("file_io", file_io)
        if "offcpu_agg" in drained:
            keys, vals = drained["offcpu_agg"]
            if len(keys):
                self.processes.see_threads(keys["pid"], keys["tid"])
                self._writer.append("offcpu", rows.offcpu_columns(keys, vals))

    def _write_entities(self) -> None:
        """Rows of the small event tables, batched per drain: an append costs a fixed
        0.15-0.5 ms inside a recording (a pyarrow array per column), and each poll appending
        its few rows cost the main thread ~90 ms a demo run."""
        self._append("connections", self._connections.take_columns())
        self._append("gc", self._gc.take_columns())
        procs, threads = self.processes.take_rows()
        self._append("processes", procs)
        self._append("threads", threads)

    def _append(self, table: str, columns: dict[str, Any] | None) -> None:
        if columns:
            self._writer.append(table, columns)

    # -- the end -----------------------------------------------------------------------------
    def stop(self) -> CaptureReport:
        """Stop counting, drain everything, detach; the report of the whole capture.

        Safe to call twice, or without start(): later calls return the same report. The
        BPF programs are detached and every fd is released even when draining fails."""
        if self._stopped or self._program is None:
            return self._report
        self._stopped = True
        bpf = self._program.bpf
        try:
            tracked = bpf[b"tracked"]
            still_tracked = [int(key.value) for key in tracked]
            tracked.clear()
            bits = bpf[b"tracked_bits"]
            for pid in still_tracked:  # no new counting; in-flight handlers finish in us
                bits[bits.Key(pid >> 6)] = bits.Leaf(0)
            time.sleep(0.01)
            self._rings.close()
            self._handle_events()
            self._take_deferred_blocks(bpf)
            self._write_stacked_events()
            assert self._drainer is not None
            self._write_aggregates(self._drainer.drain_all())
            self._boundary.stop(self._report)
            for pid in still_tracked:
                self._oncpu_ns += self._take_oncpu(pid)
            self._write_entities()
            self._finish_report(bpf)
        finally:
            self._release(bpf)
        return self._report

    def _release(self, bpf: Any) -> None:
        """Close everything this session opened, each exactly once."""
        self._rings.close()
        stats_fd, self._stats_fd = self._stats_fd, None
        selfcost.close_fd(stats_fd)
        self._fds.close()
        try:
            bpf.cleanup()
        except Exception as error:  # BCC raises bare Exceptions; exiting detaches anyway
            self._report.notices.append(f"detaching the BPF programs: {error}")
        for stream in self._streams.values():
            stream.close()

    def _finish_report(self, bpf: Any) -> None:
        report = self._report
        report.lost_events = {name: s.lost for name, s in self._streams.items()}
        report.events = {name: s.received for name, s in self._streams.items()}
        stats = bpf[b"stats"]
        for index, name in enumerate(records.STAT_NAMES):
            count = int(stats.sum(stats.Key(index)).value)
            if count:
                report.unmatched[name] = count
        if self._fds.unresolved:
            report.unmatched["fd_unresolved"] = self._fds.unresolved
        if self._gc.unmatched_ends:
            report.unmatched["gc_end_without_begin"] = self._gc.unmatched_ends
        if self._gc.nested_begins:
            report.unmatched["gc_nested_begin"] = self._gc.nested_begins
        if self._gc.open_begins:
            report.unmatched["gc_begin_without_end"] = self._gc.open_begins
        if self._stacks is not None:
            if self._stacks.missing_user:
                report.unmatched["user_stack_missing"] = self._stacks.missing_user
            if self._stacks.missing_kernel:
                report.unmatched["kernel_stack_missing"] = self._stacks.missing_kernel
        by_program = selfcost.bpf_run_by_program(
            {_text(name): func.fd for name, func in bpf.funcs.items()})
        cost = report.self_cost
        cost.bpf_run_ns = sum(ns for ns, _ in by_program.values())
        cost.bpf_run_count = sum(count for _, count in by_program.values())
        cost.bpf_run_by_program = {name: ns for name, (ns, _) in sorted(by_program.items())}
        cost.bpf_runs_by_program = {name: runs for name, (_, runs) in sorted(by_program.items())}
        cost.collector_cpu_ns = selfcost.collector_cpu_ns() - self._cpu_at_start
        cost.profiled_cpu_ns = self._oncpu_ns
        if self._stacks is not None:
            cost.symbol_tables_ns = self._stacks.user_symbols.tables_ns

    def _require_started(self) -> Any:
        if self._program is None:
            raise RuntimeError("CaptureSession.start() has not been called")
        return self._program.bpf


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name


def _libbcc() -> Any:
    from bcc.libbcc import lib

    return lib
