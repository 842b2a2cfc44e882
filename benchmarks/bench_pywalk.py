"""What the in-kernel Python frame walk costs per sample (bpf/stacks.c ``py_stack_of``).

Loads the sampling program, samples a Python process that burns CPU 23 frames deep at 499 Hz,
and alternates 3 s phases in which the process is walked or skipped; prints the sampling
program's mean run time per invocation in each phase (BPF run-time statistics) and the
walk's cost per walked sample. Root needed::

    sudo .venv/bin/python benchmarks/bench_pywalk.py [--phases 6]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import statistics
import subprocess
import sys
import time
from typing import Any

from profiler.capture import selfcost
from profiler.capture.options import CaptureOptions
from profiler.capture.probes.pystacks import PythonStacks
from profiler.capture.program import cflags_for, program_text

FAMILIES = ["syscalls", "sched", "stacks", "procs"]
BURNER = """
def leaf(n):
    return sum(range(n))
def mid(depth):
    return leaf(1000) if depth == 0 else mid(depth - 1)
while True:
    mid(20)
"""


def run_totals(fd: int) -> tuple[int, int]:
    return selfcost.bpf_run_by_program({"sample": fd}).get("sample", (0, 0))


def main() -> int:
    from bcc import BPF, PerfSWConfig, PerfType

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=6)
    args = parser.parse_args()
    bpf: Any = BPF(text=program_text(FAMILIES).encode(),
                   cflags=cflags_for(CaptureOptions(), FAMILIES))
    stats_fd = selfcost.enable_bpf_stats()
    child = subprocess.Popen([sys.executable, "-c", BURNER])
    try:
        time.sleep(0.5)
        pid = child.pid
        bpf[b"tracked"][bpf[b"tracked"].Key(pid)] = bpf[b"tracked"].Leaf(1)
        bits = bpf[b"tracked_bits"]
        bits[bits.Key(pid >> 6)] = bits.Leaf(1 << (pid & 63))
        python = PythonStacks(bpf, ctypes.CDLL("libbcc.so.0", use_errno=True))
        bpf.attach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK,
                              fn_name=b"on_cpu_sample", sample_freq=499)
        fd = bpf.funcs[b"on_cpu_sample"].fd
        skip = bpf[b"py_skip"]
        stats = bpf[b"sample_stats"]
        means: dict[bool, list[float]] = {True: [], False: []}
        walked_share = []
        for phase in range(args.phases):
            walked = phase % 2 == 0
            if walked:
                with contextlib.suppress(KeyError):
                    del skip[skip.Key(pid)]
                python.forget_process(pid)
                python.look_ahead(0)  # registers it from the tracked map
            else:
                python.forget_process(pid)
                skip[skip.Key(pid)] = skip.Leaf(1)
            walks0 = stats.sum(stats.Key(4)).value
            ns0, runs0 = run_totals(fd)
            time.sleep(3)
            ns1, runs1 = run_totals(fd)
            means[walked].append((ns1 - ns0) / max(1, runs1 - runs0))
            if walked:
                walked_share.append((stats.sum(stats.Key(4)).value - walks0)
                                    / max(1, runs1 - runs0))
        walked_ns, skipped_ns = statistics.median(means[True]), statistics.median(means[False])
        share = statistics.median(walked_share)
        print(f"mean run time per sample: walked phases {walked_ns:.0f} ns, skipped "
              f"{skipped_ns:.0f} ns; {100 * share:.0f}% of the runs walked a stack; "
              f"walk cost ~{(walked_ns - skipped_ns) / max(share, 1e-9):.0f} ns per walked "
              f"sample (23 frames)")
    finally:
        child.kill()
        child.wait()
        selfcost.close_fd(stats_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
