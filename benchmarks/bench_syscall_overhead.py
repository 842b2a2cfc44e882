"""What the default capture adds to each syscall: ns per write() of the static producer
(collector_producer.c) run plain, run while the capture is loaded but not tracking it, and
run tracked. Paired rounds (plain, untracked, tracked, ...), medians reported. Root needed::

    sudo .venv/bin/python benchmarks/bench_syscall_overhead.py --writes 1000000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_collector import build_producer

from profiler.capture.options import CaptureOptions
from profiler.capture.session import CaptureSession
from profiler.rundir.writer import RunWriter


def run_producer(argv: list[str], session: CaptureSession | None, track: bool = True) -> bytes:
    """Start a producer that waits for "g" on stdin (so it can be tracked before it works),
    poll the capture until it exits, return what it printed (its own timings)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if session is not None and track:
        session.track(proc.pid)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"g")
    proc.stdin.close()
    while proc.poll() is None:
        if session is not None:
            session.poll(50)
        else:
            proc.wait()
    return proc.stdout.read()


def timed_writes(binary: Path, writes: int, session: CaptureSession | None,
                 track: bool) -> float:
    """ns per write() as the producer measured it."""
    return int(run_producer([str(binary), str(writes)], session, track)) / writes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (loads BPF programs)", file=sys.stderr)
        return 2
    results: dict[str, list[float]] = {"plain": [], "loaded, untracked": [], "tracked": []}
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_producer(Path(tmp))
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        writer = RunWriter(run_dir)
        session = CaptureSession(CaptureOptions(), writer)
        session.start()
        try:
            for _ in range(args.rounds):
                results["plain"].append(timed_writes(binary, args.writes, None, False))
                results["loaded, untracked"].append(
                    timed_writes(binary, args.writes, session, False))
                results["tracked"].append(timed_writes(binary, args.writes, session, True))
        finally:
            session.stop()
            writer.close("complete")
    plain = statistics.median(results["plain"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:>18}: median {median:7.0f} ns/write  (+{median - plain:5.0f} ns)  "
              f"runs: {', '.join(f'{v:.0f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
