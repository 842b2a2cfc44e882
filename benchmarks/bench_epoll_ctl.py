"""What tracking epoll registrations costs: ns per epoll_ctl ADD+DEL pair (both streamed on
sock_events) and per MOD (filtered at sys_enter) of a static producer
(epoll_ctl_producer.c), plain and tracked by the default capture, in paired rounds; and the
collector's CPU per streamed event (its process time over the tracked rounds / events).
Root needed::

    sudo .venv/bin/python benchmarks/bench_epoll_ctl.py --calls 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_syscall_overhead import run_producer

from profiler.capture import selfcost
from profiler.capture.options import CaptureOptions
from profiler.capture.session import CaptureSession
from profiler.rundir.writer import RunWriter

HERE = Path(__file__).resolve().parent


def timed(binary: Path, calls: int, session: CaptureSession | None) -> tuple[int, int]:
    """(ns per ADD+DEL pair, ns per MOD) as the producer measured them."""
    pair, mod = (int(word) for word in run_producer([str(binary), str(calls)], session).split())
    return pair, mod


def syscall_probe_ns(session: CaptureSession) -> int:
    """Run time so far of the raw sys_enter/sys_exit programs (kernel BPF stats)."""
    bpf = session._program.bpf if session._program is not None else None
    if bpf is None:
        return 0
    by_program = selfcost.bpf_run_by_program(
        {name.decode(): func.fd for name, func in bpf.funcs.items()})
    return sum(ns for name, (ns, _) in by_program.items() if "sys_e" in name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (loads BPF programs)", file=sys.stderr)
        return 2
    plain: list[tuple[int, int]] = []
    tracked: list[tuple[int, int]] = []
    collector_s = 0.0
    probe_ns = 0
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "producer"
        subprocess.run(["gcc", "-O2", "-static", "-o", str(binary),
                        str(HERE / "epoll_ctl_producer.c")], check=True)
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        writer = RunWriter(run_dir)
        session = CaptureSession(CaptureOptions(sample=False, jni=False), writer)
        session.start()
        try:
            for _ in range(args.rounds):
                plain.append(timed(binary, args.calls, None))
                before, probes_before = time.process_time(), syscall_probe_ns(session)
                tracked.append(timed(binary, args.calls, session))
                collector_s += time.process_time() - before
                probe_ns += syscall_probe_ns(session) - probes_before
            for _ in range(3):
                session.poll(400)
        finally:
            report = session.stop()
            writer.close("complete")
    for name, index in (("ADD+DEL pair", 0), ("MOD", 1)):
        base = statistics.median(p[index] for p in plain)
        under = statistics.median(t[index] for t in tracked)
        print(f"{name:>12}: plain {base:5.0f} ns, tracked {under:5.0f} ns (+{under - base:.0f} ns)"
              f"  runs: {[t[index] for t in tracked]} vs {[p[index] for p in plain]}")
    events = 2 * args.calls * args.rounds
    print(f"BPF: {probe_ns / (3 * args.calls * args.rounds):.0f} ns of sys_enter+sys_exit run "
          "time per tracked epoll_ctl (ADD, DEL and MOD alike; the host's other syscalls in "
          "those rounds included)")
    print(f"collector: {collector_s * 1e9 / events:.0f} ns of CPU per streamed event "
          f"({events} events, lost {report.lost_events.get('sock_events', 0)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
