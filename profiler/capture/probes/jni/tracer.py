"""JNI native-method tracing: find native methods (``Java_*`` and registered ones, see
jni_names.RegisteredNatives) in tracked JVMs, attach uprobes to them
(bpf/jni.c), drain the per-call aggregates into the ``jni`` table, enforce the cost guard.

Uprobes work on a file's inode, so each library file is attached once (through
/proc/PID/map_files, which opens even a deleted temp copy) and counts every JVM that maps
it; the BPF side reports the function address, and each process's mappings say which method
that address is in that process.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler.capture.probes.jni import names as jni_names
from profiler.capture.probes.jni.discovery import (
    JniSymbol,
    Mapping,
    java_symbols,
    map_files_path,
    parse_maps,
    read_library_lines,
    runtime_address,
    shared_libraries,
)
from profiler.capture.probes.jni.guard import (
    RateBudget,
    describe_first_instruction,
    emulated_first_instruction,
)
from profiler.capture.probes.jni.uprobe_multi import link_uprobes, load_for_multi
from profiler.capture.stream.mapdrain import batch_lookup_and_delete, merge_rows
from profiler.rundir.writer import RunWriter

JNI_KEY = np.dtype({"names": ["bucket", "pid", "tid", "ip"],
                    "formats": ["<u8", "<u4", "<u4", "<u8"],
                    "offsets": [0, 8, 12, 16], "itemsize": 24})
JNI_VAL = np.dtype({"names": ["calls", "total_ns", "max_ns", "hist"],
                    "formats": ["<u8", "<u8", "<u8", ("<u8", 32)],
                    "offsets": [0, 8, 16, 24], "itemsize": 24 + 8 * 32})
_CAPACITY = 4096  # rows per drain; more stay in the map for the next one
STAT_NAMES = ("jni_too_deep", "jni_return_without_entry", "jni_map_full")
FileKey = tuple[str, int]


@dataclass(frozen=True)
class JniOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    calls_per_s: float = 3_000


@dataclass(frozen=True)
class _Method:
    library: str
    symbol: str
    file: FileKey


@dataclass
class _AttachedFile:
    path: str            # the map_files path the probes were attached through
    library: str         # the path the process maps it under
    symbols: list[JniSymbol]


@dataclass
class JniReport:
    libraries: dict[str, int] = field(default_factory=dict)  # library -> methods attached
    skipped: dict[str, str] = field(default_factory=dict)    # symbol -> why
    detached: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    unknown_address_calls: int = 0
    scan_s: float = 0.0    # collector CPU spent reading maps and ELF files, and attaching
    drain_s: float = 0.0   # collector CPU spent draining and writing rows
    detach_s: float = 0.0

    def as_meta(self) -> dict[str, Any]:
        return {"libraries": dict(self.libraries), "skipped": dict(self.skipped),
                "detached": dict(self.detached), "failed": dict(self.failed),
                "stats": dict(self.stats),
                "unknown_address_calls": self.unknown_address_calls,
                "scan_s": round(self.scan_s, 3), "drain_s": round(self.drain_s, 3),
                "detach_s": round(self.detach_s, 3)}


class JniTracer:
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter, options: JniOptions,
                 jvm_pids: Callable[[], Sequence[int]]) -> None:
        self._bpf = bpf
        self._lib = lib
        self._writer = writer
        self._options = options
        self._jvm_pids = jvm_pids
        self._files: dict[FileKey, _AttachedFile] = {}
        self._seen_files: set[FileKey] = set()
        self._methods: dict[tuple[int, int], _Method] = {}  # (pid, address) -> method
        self._mapped: dict[int, set[FileKey]] = {}
        self._events: dict[tuple[FileKey, str], list[bytes]] = {}
        self._links: dict[FileKey, list[int]] = {}
        self._last_maps: dict[int, str] = {}
        self._programs = _multi_programs(bpf)
        self._budget = RateBudget(options.calls_per_s)
        self._active = 0
        self._drained_at = time.monotonic()
        self.report = JniReport()

    # -- discovery ---------------------------------------------------------------------------
    def scan(self) -> None:
        """Attach to newly mapped libraries of every live JVM and learn where they are."""
        started = time.thread_time()
        for pid in self._jvm_pids():
            self._scan_process(pid)
        self.report.scan_s += time.thread_time() - started

    def _scan_process(self, pid: int) -> None:
        text = read_library_lines(pid)
        if self._last_maps.get(pid) == text:
            return  # no library mapped or unmapped since the last scan
        self._last_maps[pid] = text
        libraries = shared_libraries(parse_maps(text))
        known = self._mapped.setdefault(pid, set())
        for key, mappings in libraries.items():
            if key in known:
                continue
            known.add(key)
            if key not in self._seen_files:
                self._seen_files.add(key)
                if jni_names.library_selected(mappings[0].path, self._options.include,
                                              self._options.exclude):
                    self._attach_file(pid, key, mappings)
            attached = self._files.get(key)
            if attached is not None:
                self._learn_addresses(pid, key, attached, mappings)

    def _attach_file(self, pid: int, key: FileKey, mappings: list[Mapping]) -> None:
        path = map_files_path(pid, mappings[0])
        library = mappings[0].path
        methods = jni_names.default_methods(library, self._options.include)
        chosen = [s for s in java_symbols(path, library) if self._wanted(library, s, methods)]
        if self._programs is not None:
            attached = self._link_all(key, path, chosen)
        else:
            attached = self._attach_each(key, path, chosen)
        if attached:
            self._files[key] = _AttachedFile(path, library, attached)
            self.report.libraries[jni_names.library_key(library)] = len(attached)

    def _link_all(self, key: FileKey, path: str, chosen: list[JniSymbol]) -> list[JniSymbol]:
        """Entry and return probes on every chosen method of a file: two links."""
        if not chosen:
            return []
        offsets = [symbol.file_offset for symbol in chosen]
        assert self._programs is not None
        entry, ret = self._programs
        links = self._links.setdefault(key, [])
        try:
            links.append(link_uprobes(entry, path, offsets, returns=False))
            links.append(link_uprobes(ret, path, offsets, returns=True))
        except OSError as error:
            for symbol in chosen:
                self.report.failed[symbol.name] = str(error)[:200]
            return []
        return chosen

    def _attach_each(self, key: FileKey, path: str,
                     chosen: list[JniSymbol]) -> list[JniSymbol]:
        """One BCC uprobe per probe (kernels without multi-uprobe links)."""
        attached = []
        for symbol in chosen:
            before = set(self._bpf.uprobe_fds)
            try:
                self._bpf.attach_uprobe(name=path.encode(), addr=symbol.vaddr,
                                        fn_name=b"jni_entry")
                self._bpf.attach_uretprobe(name=path.encode(), addr=symbol.vaddr,
                                           fn_name=b"jni_return")
                attached.append(symbol)
            except Exception as error:  # BCC raises bare Exceptions
                self.report.failed[symbol.name] = str(error).splitlines()[0][:200]
            # BCC names the probe events; remember them to detach them at the end
            self._events[(key, symbol.name)] = sorted(set(self._bpf.uprobe_fds) - before)
        return attached

    def _wanted(self, library: str, symbol: JniSymbol,
                methods: tuple[str, ...] | None) -> bool:
        options = self._options
        forced = jni_names.symbol_included(symbol.name, options.include)
        if jni_names.symbol_excluded(symbol.name, options.exclude):
            return False
        if methods is not None and not forced and not any(
                fnmatch.fnmatchcase(symbol.name, glob) for glob in methods):
            return False  # outside the default set: not counted as skipped
        if emulated_first_instruction(symbol.first_bytes):
            return True
        if forced:
            return True
        self.report.skipped[symbol.name] = (
            f"first instruction {describe_first_instruction(symbol.first_bytes)} is "
            f"single-stepped by uprobes (~20x dearer); --jni-include to trace it anyway "
            f"({jni_names.library_key(library)})")
        return False

    def _learn_addresses(self, pid: int, key: FileKey, attached: _AttachedFile,
                         mappings: list[Mapping]) -> None:
        for symbol in attached.symbols:
            address = runtime_address(mappings, symbol.file_offset)
            if address is not None:
                self._methods[(pid, address)] = _Method(mappings[0].path, symbol.name, key)

    # -- draining ----------------------------------------------------------------------------
    def drain(self) -> None:
        """Write the quiet copy's calls, then detach methods over the call-rate budget (the
        quiet copy holds the calls of one whole drain interval)."""
        quiet = 1 - self._active
        now = time.monotonic()
        interval, self._drained_at = now - self._drained_at, now
        cpu = time.thread_time()
        methods, vals = self._drain_copy(quiet)
        self._enforce_budget(vals, methods, interval)
        self.report.drain_s += time.thread_time() - cpu
        table = self._bpf[b"jni_copy"]
        table[table.Key(0)] = table.Leaf(quiet)
        self._active = quiet

    def stop(self) -> JniReport:
        """Final drains, then every uprobe detached (in parallel: see _close_all)."""
        for copy in (1 - self._active, self._active):
            self._drain_copy(copy)
        started = time.monotonic()
        self._close_all()
        self.report.detach_s = time.monotonic() - started
        stats = self._bpf[b"jni_stats"]
        for index, name in enumerate(STAT_NAMES):
            count = int(stats.sum(stats.Key(index)).value)
            if count:
                self.report.stats[name] = count
        self.report.detached = dict(self._budget.detached)
        return self.report

    def _drain_copy(self, copy: int) -> tuple[list[_Method | None], np.ndarray[Any, Any]]:
        table = self._bpf[f"jni_agg{copy}".encode()]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, JNI_KEY, JNI_VAL,
                                             _CAPACITY)
        if not len(keys):
            return [], vals
        keys, vals = merge_rows(keys, vals)
        methods = [self._method_of(int(k["pid"]), int(k["ip"])) for k in keys]
        self._write(keys, vals, methods)
        return methods, vals

    def _method_of(self, pid: int, address: int) -> _Method | None:
        method = self._methods.get((pid, address))
        if method is None and pid in self._mapped:
            self._mapped[pid].clear()  # mapped after the last scan: learn it again
            self._last_maps.pop(pid, None)
            self._scan_process(pid)
            method = self._methods.get((pid, address))
        return method

    def _write(self, keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any],
               methods: list[_Method | None]) -> None:
        names = [jni_names.native_name(m.symbol) if m else ("[unknown]", f"0x{int(k['ip']):x}")
                 for m, k in zip(methods, keys, strict=True)]
        self.report.unknown_address_calls += int(sum(
            int(v["calls"]) for m, v in zip(methods, vals, strict=True) if m is None))
        self._writer.append("jni", {
            "bucket_ns": keys["bucket"].astype(np.int64),
            "pid": keys["pid"].astype(np.int32),
            "tid": keys["tid"].astype(np.int32),
            "library": [m.library if m else "[unknown]" for m in methods],
            "class_name": [c for c, _ in names],
            "method": [n for _, n in names],
            "symbol": [m.symbol if m else "[unknown]" for m in methods],
            "calls": vals["calls"].astype(np.int64),
            "total_ns": vals["total_ns"].astype(np.int64),
            "max_ns": vals["max_ns"].astype(np.int64),
            "hist": vals["hist"].astype(np.int64),
        })

    def _enforce_budget(self, vals: np.ndarray[Any, Any], methods: list[_Method | None],
                        interval_s: float) -> None:
        calls: dict[str, int] = {}
        by_symbol: dict[str, _Method] = {}
        for method, val in zip(methods, vals, strict=True):
            if method is not None:
                calls[method.symbol] = calls.get(method.symbol, 0) + int(val["calls"])
                by_symbol[method.symbol] = method
        for symbol in self._budget.over_budget(calls, interval_s):
            self._mute(by_symbol[symbol])
            self._detach(by_symbol[symbol])

    def _detach(self, method: _Method) -> None:
        """Remove a busy method's probes: a muted probe still costs its trap. With links,
        the library's two links are replaced by ones without it (calls to the library's
        other methods in the ~0.1 s between are missed)."""
        for event in self._events.pop((method.file, method.symbol), []):
            close_uprobes(self._bpf, self._lib, [event])
        attached = self._files.get(method.file)
        if attached is None or method.file not in self._links:
            return
        close_links(self._links.pop(method.file))
        attached.symbols = [s for s in attached.symbols if s.name != method.symbol]
        if attached.symbols and not self._link_all(method.file, attached.path,
                                                   attached.symbols):
            attached.symbols = []

    def _close_all(self) -> None:
        """Close the perf events of every uprobe from a pool of threads.

        Removing a uprobe waits for an RCU grace period and BCC's own detach also reads
        tracefs' uprobe_events under the kernel's event mutex: one at a time, 500 probes
        took 100 s on a busy machine. Closing the fds concurrently lets the grace periods
        overlap. The probes were created through the uprobe PMU (perf_event_open), so there
        is no tracefs event left to remove."""
        names = [name for events in self._events.values() for name in events]
        self._events.clear()
        close_uprobes(self._bpf, self._lib, names)
        links, self._links = self._links, {}
        close_links([fd for fds in links.values() for fd in fds])

    def _mute(self, method: _Method) -> None:
        """Stop counting a method in every process at once (its probes go in _detach)."""
        table = self._bpf[b"jni_muted"]
        for (pid, address), known in self._methods.items():
            if known.symbol == method.symbol:
                table[table.Key(address, pid)] = table.Leaf(1)


def _multi_programs(bpf: Any) -> tuple[int, int] | None:
    """The fds of jni_entry/jni_return loaded for multi-uprobe links; () when the kernel
    cannot (then each probe is a BCC uprobe)."""
    try:
        return (load_for_multi(bpf, b"jni_entry").fd, load_for_multi(bpf, b"jni_return").fd)
    except Exception:  # BCC raises bare Exceptions when the kernel refuses the program
        return None


def close_links(fds: Sequence[int]) -> None:
    """Close BPF link fds concurrently: each waits for its own RCU grace periods."""
    if fds:
        with ThreadPoolExecutor(max_workers=len(fds)) as pool:
            list(pool.map(os.close, fds))


def close_uprobes(bpf: Any, lib: Any, names: Sequence[bytes]) -> None:
    """Close the perf events of BCC uprobe events ``names`` concurrently (see
    JniTracer._close_all) and forget them, so BPF.cleanup() does not detach them again."""
    fds = [bpf.uprobe_fds.pop(name) for name in names if name in bpf.uprobe_fds]
    if fds:
        with ThreadPoolExecutor(max_workers=min(64, len(fds))) as pool:
            list(pool.map(lib.bpf_close_perf_event_fd, fds))
