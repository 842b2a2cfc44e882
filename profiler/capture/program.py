"""The BPF program of a capture: which bpf/*.c files, which -D flags, and loading it with BCC.

One BPF object is built from ``common.h`` and the family files concatenated; switches are
-D cflags (and the ``sys_flags`` map), never string replacement. A family whose probes fail to
compile or attach is dropped and reported; the others load.
"""

from __future__ import annotations

import glob
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler.bpf_sources import read_bpf_source
from profiler.capture.options import CaptureOptions

# Concatenation order: procs.c last because its exit handler clears the others' per-thread
# state.
FAMILY_FILES: dict[str, str] = {
    "syscalls": "syscalls.c", "sched": "sched.c", "net": "net.c", "jvm": "jvm.c",
    "stacks": "stacks.c", "jni": "jni.c", "jni_iface": "jni_iface.c",  # see probes.boundary
    "procs": "procs.c",
}
BASE_FAMILIES: tuple[str, ...] = ("syscalls", "procs")
GC_PROBES: tuple[tuple[str, str], ...] = (
    ("gc__begin", "jvm_gc_begin"), ("gc__end", "jvm_gc_end"),
    ("mem__pool__gc__begin", "jvm_pool_begin"), ("mem__pool__gc__end", "jvm_pool_end"),
)
THREAD_PROBES: tuple[tuple[str, str], ...] = (
    ("thread__start", "jvm_thread_start"), ("thread__stop", "jvm_thread_stop"),
)
# What each family attaches, for the report (USDT probes are listed per library).
FAMILY_PROBES: dict[str, tuple[str, ...]] = {
    "syscalls": ("raw_tracepoint:sys_enter", "raw_tracepoint:sys_exit"),
    "procs": ("tracepoint:task:task_newtask", "tracepoint:sched:sched_process_exec",
              "tracepoint:task:task_rename", "tracepoint:sched:sched_process_exit"),
    "sched": ("tracepoint:sched:sched_switch",),
    "net": ("tracepoint:sock:inet_sock_set_state", "tracepoint:tcp:tcp_retransmit_skb"),
    # the perf event itself is attached by probes.sampling; these follow Python processes
    "stacks": ("tracepoint:sched:sched_process_fork", "raw_tracepoint:sched_process_exec"),
}


def find_libjvm(java_home: str | None = None, path: str | None = None) -> str | None:
    """The libjvm.so the run will load: ``java_home``'s, else JAVA_HOME's, else that of the
    ``java`` on ``path`` (default PATH), else the system's first JDK."""
    homes = [java_home or "", os.environ.get("JAVA_HOME", "")]
    java = shutil.which("java", path=path)
    if java:
        homes.append(str(Path(java).resolve().parent.parent))
    candidates = [os.path.join(home, "lib", "server", "libjvm.so") for home in homes if home]
    candidates.extend(sorted(glob.glob("/usr/lib/jvm/*/lib/server/libjvm.so")))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.realpath(candidate)
    return None


def pid_max() -> int:
    """The kernel's largest pid + 1: the size of the per-pid bitmaps."""
    try:
        with open("/proc/sys/kernel/pid_max") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return 4194304  # the kernel's upper limit on 64-bit


def cflags_for(options: CaptureOptions, families: Sequence[str]) -> list[str]:
    flags = [
        f"-DBUCKET_NS={options.bucket_ns}ULL",
        f"-DSLOW_NS={options.slow_syscall_threshold_us * 1000}ULL",
        f"-DOFFCPU_BLOCK_NS={options.offcpu_block_threshold_us * 1000}ULL",
        f"-DPID_MAX={pid_max()}",
    ]
    if "syscalls" in families:
        flags.append("-DWITH_SYSCALLS")
        if options.syscalls:
            flags.append("-DWITH_SLOW")
            if options.slow_syscall_stacks:
                flags.append("-DWITH_SLOW_STACKS")
    if "sched" in families:
        flags.append("-DWITH_SCHED")
        if options.offcpu:
            flags.append("-DWITH_OFFCPU")
            if options.offcpu_stacks:
                flags.append("-DWITH_OFFCPU_STACKS")
                if "syscalls" in families:  # the user stack waits for the syscall exit
                    flags.append("-DWITH_DEFERRED_USTACK")
    return flags


def wanted_families(options: CaptureOptions) -> list[str]:
    # sched is always on: its per-process on-CPU time is the self-cost denominator.
    families = ["syscalls", "sched"]
    if options.network_lifecycle:
        families.append("net")
    if options.gc or options.jvm_threads:
        families.append("jvm")
    if options.sample:
        families.append("stacks")
    if options.jni:
        families.append("jni")
    if options.jni_interface:
        families.append("jni_iface")
    families.append("procs")
    return families


def program_text(families: Sequence[str]) -> str:
    parts = [read_bpf_source("common.h"), read_bpf_source("offcpu_defer.c")]
    parts.extend(read_bpf_source(FAMILY_FILES[name]) for name in FAMILY_FILES
                 if name in families)
    return "\n".join(parts)


@dataclass
class LoadedProgram:
    bpf: Any
    families: list[str]
    libjvm: str | None
    attached: list[str]
    failed: dict[str, str] = field(default_factory=dict)
    compile_s: float = 0.0
    cflags: list[str] = field(default_factory=list)


def _usdt_context(options: CaptureOptions, libjvm: str) -> tuple[Any, list[str]]:
    from bcc import USDT

    attached = []
    probes = (GC_PROBES if options.gc else ()) + (THREAD_PROBES if options.jvm_threads else ())
    context = USDT(path=libjvm)
    for probe, handler in probes:
        context.enable_probe(probe=probe, fn_name=handler)
        attached.append(f"usdt:hotspot:{probe}")
    return context, attached


def _compile(options: CaptureOptions, families: Sequence[str], libjvm: str | None,
             ) -> tuple[Any, list[str], list[str]]:
    from bcc import BPF

    contexts = []
    usdt_attached: list[str] = []
    if "jvm" in families and libjvm:
        context, usdt_attached = _usdt_context(options, libjvm)
        contexts.append(context)
    cflags = cflags_for(options, families)
    bpf = BPF(text=program_text(families).encode(), cflags=cflags, usdt_contexts=contexts)
    attached = [probe for name in families for probe in FAMILY_PROBES.get(name, ())]
    return bpf, attached + usdt_attached, cflags


def load_program(options: CaptureOptions) -> LoadedProgram:
    """Compile and attach every wanted family; on failure find the failing families by
    loading each with the base, and load the rest. Raises when the base itself fails."""
    families = wanted_families(options)
    libjvm = find_libjvm(options.java_home) if "jvm" in families else None
    failed: dict[str, str] = {}
    if "jvm" in families and not libjvm:
        failed["jvm"] = "no libjvm.so found (JAVA_HOME, java on PATH, /usr/lib/jvm)"
        families.remove("jvm")
    started = time.monotonic()
    try:
        bpf, attached, cflags = _compile(options, families, libjvm)
    except Exception as first_error:  # BCC raises bare Exceptions for compile/attach errors
        base = [name for name in families if name in BASE_FAMILIES]
        optional = [name for name in families if name not in BASE_FAMILIES]
        working = list(base)
        for name in optional:
            trial = [f for f in FAMILY_FILES if f in (*base, name)]
            try:
                trial_bpf, _, _ = _compile(options, trial, libjvm)
                trial_bpf.cleanup()
                working.append(name)
            except Exception as error:
                failed[name] = _one_line(error)
        if working == families:
            raise first_error
        families = [f for f in FAMILY_FILES if f in working]
        bpf, attached, cflags = _compile(options, families, libjvm)
    return LoadedProgram(bpf=bpf, families=families,
                         libjvm=libjvm if "jvm" in families else None,
                         attached=attached, failed=failed,
                         compile_s=time.monotonic() - started, cflags=cflags)


def source_with_flags(options: CaptureOptions) -> str:
    """The generated C and the -D flags it is compiled with (``record --print-bpf``)."""
    families = wanted_families(options)
    libjvm = find_libjvm(options.java_home) if "jvm" in families else None
    flags = cflags_for(options, families)
    header = "/* sparkprof capture program\n * cflags: " + " ".join(flags) + "\n"
    if libjvm:
        header += f" * USDT hotspot probes in: {libjvm}\n"
    return header + " */\n" + program_text(families)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
