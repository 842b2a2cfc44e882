"""What the capture costs: BPF program run time (kernel BPF stats), the collector's CPU time,
and the profiled processes' on-CPU time (from bpf/sched.c) as the denominator."""

from __future__ import annotations

import ctypes
import os
import resource
from collections.abc import Iterable, Mapping

_SYS_BPF = 321  # x86_64
_BPF_ENABLE_STATS = 32
_BPF_STATS_RUN_TIME = 0


def enable_bpf_stats() -> int | None:
    """Turn on run-time stats for as long as the returned fd is open (BPF_ENABLE_STATS: no
    global sysctl to restore, even after a crash). None when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint8 * 128)()
    ctypes.memmove(attr, ctypes.byref(ctypes.c_uint32(_BPF_STATS_RUN_TIME)), 4)
    fd = libc.syscall(_SYS_BPF, _BPF_ENABLE_STATS, attr, ctypes.sizeof(attr))
    return fd if fd >= 0 else None


def parse_fdinfo(text: str) -> tuple[int, int]:
    """(run_time_ns, run_cnt) from /proc/PID/fdinfo/<bpf prog fd>."""
    run_ns = run_cnt = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "run_time_ns":
            run_ns = int(value)
        elif key == "run_cnt":
            run_cnt = int(value)
    return run_ns, run_cnt


def bpf_run_totals(prog_fds: Iterable[int]) -> tuple[int, int]:
    run_ns = run_cnt = 0
    for ns, cnt in bpf_run_by_program({str(fd): fd for fd in prog_fds}).values():
        run_ns += ns
        run_cnt += cnt
    return run_ns, run_cnt


def bpf_run_by_program(prog_fds: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """name -> (run_time_ns, run_cnt) of each loaded program (missing when unreadable)."""
    found = {}
    for name, fd in prog_fds.items():
        try:
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as handle:
                found[name] = parse_fdinfo(handle.read())
        except OSError:
            continue
    return found


def collector_cpu_ns() -> int:
    """User + system CPU time of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def close_fd(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
