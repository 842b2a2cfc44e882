"""JNI interface tracing (``--jni-interface``): native code calling into the VM, through the
``hotspot_jni`` USDT sites of libjvm (bpf/jni_iface.c).

The sites are unguarded nops (no semaphore), so plain uprobes at their addresses work without
a pid; each libjvm file is attached once, and every JVM's site addresses go into the
``jnii_sites`` map with what each site measures (profiler.capture.probes.jni.functions) and where
its USDT arguments are (profiler.capture.probes.jni.usdt_args). Rows go to ``jni_interface`` (per
bucket, thread, function, with bytes copied) and, at the end, ``jni_globalrefs`` (global
references created and deleted per process), ``jni_global_ref_sites`` (per creating
stack, with the references still live: probes.jni.global_refs) and ``jni_local_ref_sites``
(local references per creating stack and function: probes.jni.local_refs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from profiler.capture.probes.jni.discovery import (
    file_offsets,
    map_files_path,
    read_maps,
    runtime_address,
    shared_libraries,
)
from profiler.capture.probes.jni.functions import (
    FUNCTIONS,
    INDEX,
    SitePlan,
    array_length_offset,
    plan_site,
)
from profiler.capture.probes.jni.global_refs import GlobalRefTracker
from profiler.capture.probes.jni.local_refs import LocalRefTracker
from profiler.capture.probes.jni.tracer import close_links, close_uprobes
from profiler.capture.probes.jni.uprobe_multi import link_uprobes, load_for_multi
from profiler.capture.probes.jni.usdt_args import NO_ARG, ArgLocation, argument
from profiler.capture.procfs import read_cmdline
from profiler.capture.stream.mapdrain import batch_lookup_and_delete, merge_rows
from profiler.capture.symbols.stacks import StackResolver
from profiler.host.elf import usdt_probes
from profiler.rundir.writer import RunWriter

PROVIDER = "hotspot_jni"
JNII_KEY = np.dtype({"names": ["bucket", "pid", "tid", "fn"],
                     "formats": ["<u8", "<u4", "<u4", "<u4"],
                     "offsets": [0, 8, 12, 16], "itemsize": 24})
JNII_VAL = np.dtype({"names": ["calls", "total_ns", "max_ns", "held_ns", "held_max_ns",
                               "bytes"],
                     "formats": ["<u8"] * 6, "offsets": [0, 8, 16, 24, 32, 40],
                     "itemsize": 48})
STAT_NAMES = ("jnii_return_without_entry", "jnii_map_full", "jnii_array_length_unread",
              "jnii_ref_map_full", "jnii_delete_of_unseen_ref", "jnii_ref_site_map_full",
              "jnii_argument_unread", "jnii_local_site_map_full",
              "jnii_delete_of_unseen_local_ref", "jnii_local_map_update_failed")
_CAPACITY = 16384
FileKey = tuple[str, int]


@dataclass
class _Site:
    file_offset: int
    plan: SitePlan
    value: ArgLocation = NO_ARG
    extra: ArgLocation = NO_ARG


def _arg_leaf(location: ArgLocation) -> tuple[int, int, int, int, int]:
    return (location.offset, location.kind, location.reg, location.size,
            int(location.signed))


@dataclass
class JniInterfaceReport:
    libjvms: dict[str, int] = field(default_factory=dict)  # libjvm path -> sites attached
    failed: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    global_refs: dict[str, int] = field(default_factory=dict)  # sites, live
    local_refs: dict[str, int] = field(default_factory=dict)  # sites, created, deleted
    collector_s: float = 0.0

    def as_meta(self) -> dict[str, Any]:
        return {"libjvms": dict(self.libjvms), "failed": dict(self.failed),
                "stats": dict(self.stats), "global_refs": dict(self.global_refs),
                "local_refs": dict(self.local_refs),
                "collector_s": round(self.collector_s, 3)}


class JniInterfaceTracer:
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter,
                 jvm_pids: Callable[[], Sequence[int]], stacks: StackResolver) -> None:
        self._bpf = bpf
        self._lib = lib
        self._writer = writer
        self._jvm_pids = jvm_pids
        self._sites: dict[FileKey, list[_Site]] = {}
        self._done_pids: set[int] = set()
        self._events: list[bytes] = []
        self._links: list[int] = []
        try:
            self._program: int | None = load_for_multi(bpf, b"jnii_site").fd
        except Exception:  # BCC raises bare Exceptions: no multi-uprobe links here
            self._program = None
        self._active = 0
        self._refs: dict[int, list[int]] = {}  # pid -> [created, deleted]
        self._ref_sites = GlobalRefTracker(bpf, lib, writer, stacks)
        self._local_sites = LocalRefTracker(bpf, lib, writer, stacks)
        self.report = JniInterfaceReport()

    def scan(self) -> None:
        started = time.thread_time()
        for pid in self._jvm_pids():
            if pid not in self._done_pids:
                self._scan_process(pid)
        self.report.collector_s += time.thread_time() - started

    def _scan_process(self, pid: int) -> None:
        for key, mappings in shared_libraries(read_maps(pid)).items():
            if os.path.basename(mappings[0].path.removesuffix(" (deleted)")) != "libjvm.so":
                continue
            if key not in self._sites:
                self._sites[key] = self._attach(map_files_path(pid, mappings[0]),
                                                mappings[0].path)
            table = self._bpf[b"jnii_sites"]
            length_offset = array_length_offset(read_cmdline(pid) or [])
            for site in self._sites[key]:
                address = runtime_address(mappings, site.file_offset)
                if address is not None:
                    table[table.Key(address, pid)] = table.Leaf(
                        INDEX[site.plan.function], site.plan.flags, _arg_leaf(site.value),
                        _arg_leaf(site.extra), site.plan.element_bytes, length_offset)
            self._done_pids.add(pid)  # libjvm is mapped once, at start-up

    def _attach(self, path: str, library: str) -> list[_Site]:
        wanted: list[tuple[int, _Site]] = []
        for probe in usdt_probes(path):
            plan = plan_site(probe.name) if probe.provider == PROVIDER else None
            if plan is not None:
                wanted.append((probe.pc, _Site(0, plan, argument(probe.arguments, plan.value),
                                               argument(probe.arguments, plan.extra))))
        offsets = file_offsets(path, [pc for pc, _ in wanted])
        sites = [replace(site, file_offset=offsets[pc]) for pc, site in wanted if pc in offsets]
        if self._program is not None and sites:
            try:  # one link for every site: cheap to attach and to detach
                self._links.append(link_uprobes(self._program, path,
                                                [site.file_offset for site in sites], False))
            except OSError as error:
                self.report.failed[library] = str(error)[:200]
                sites = []
        else:
            sites = self._attach_each(path, wanted, offsets)
        self.report.libjvms[library] = len(sites)
        return sites

    def _attach_each(self, path: str, wanted: list[tuple[int, _Site]],
                     offsets: dict[int, int]) -> list[_Site]:
        sites = []
        for pc, site in wanted:
            if pc not in offsets:
                continue
            before = set(self._bpf.uprobe_fds)
            try:
                self._bpf.attach_uprobe(name=path.encode(), addr=pc, fn_name=b"jnii_site")
                sites.append(replace(site, file_offset=offsets[pc]))
            except Exception as error:  # BCC raises bare Exceptions
                self.report.failed[site.plan.function] = str(error).splitlines()[0][:200]
            self._events.extend(set(self._bpf.uprobe_fds) - before)
        return sites

    def drain(self) -> None:
        started = time.thread_time()
        quiet = 1 - self._active
        self._drain_copy(quiet)
        table = self._bpf[b"jnii_copy"]
        table[table.Key(0)] = table.Leaf(quiet)
        self._active = quiet
        self._ref_sites.name_new_sites()
        self._local_sites.name_new_sites()
        self.report.collector_s += time.thread_time() - started

    def stop(self) -> JniInterfaceReport:
        for copy in (1 - self._active, self._active):
            self._drain_copy(copy)
        close_uprobes(self._bpf, self._lib, self._events)
        self._events = []
        links, self._links = self._links, []
        close_links(links)
        self.report.global_refs = self._ref_sites.stop()
        self.report.local_refs = self._local_sites.stop()
        if self._refs:
            pids = sorted(self._refs)
            created = np.array([self._refs[p][0] for p in pids], dtype=np.int64)
            deleted = np.array([self._refs[p][1] for p in pids], dtype=np.int64)
            self._writer.append("jni_globalrefs", {
                "pid": np.array(pids, dtype=np.int32), "created": created,
                "deleted": deleted, "live": created - deleted})
        stats = self._bpf[b"jnii_stats"]
        for index, name in enumerate(STAT_NAMES):
            count = int(stats.sum(stats.Key(index)).value)
            if count:
                self.report.stats[name] = count
        return self.report

    def _drain_copy(self, copy: int) -> None:
        table = self._bpf[f"jnii_agg{copy}".encode()]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, JNII_KEY, JNII_VAL,
                                             _CAPACITY)
        if not len(keys):
            return
        keys, vals = merge_rows(keys, vals, ("max_ns", "held_max_ns"))
        functions = [FUNCTIONS[int(fn)] for fn in keys["fn"]]
        for pid, function, calls in zip(keys["pid"], functions, vals["calls"], strict=True):
            if function in ("NewGlobalRef", "DeleteGlobalRef"):
                counts = self._refs.setdefault(int(pid), [0, 0])
                counts[function == "DeleteGlobalRef"] += int(calls)
        self._writer.append("jni_interface", {
            "bucket_ns": keys["bucket"].astype(np.int64), "pid": keys["pid"].astype(np.int32),
            "tid": keys["tid"].astype(np.int32), "function": functions,
            "calls": vals["calls"].astype(np.int64), "total_ns": vals["total_ns"].astype(np.int64),
            "max_ns": vals["max_ns"].astype(np.int64), "held_ns": vals["held_ns"].astype(np.int64),
            "held_max_ns": vals["held_max_ns"].astype(np.int64),
            "bytes": vals["bytes"].astype(np.int64)})
