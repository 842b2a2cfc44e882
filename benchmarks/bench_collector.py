"""Sustained collector throughput: events/s streamed through the perf buffers with zero loss.

A static C producer (collector_producer.c, built at run time) makes a known number of
one-byte write()s to /dev/null; the capture runs with the slow-call threshold at 0 so every
write is streamed as a slow_syscalls event (stacks off, so the walk does not bound the rate).
Reported per run: events expected/received/lost, producer time, events/s, collector CPU.
Root needed. Example::

    sudo .venv/bin/python benchmarks/bench_collector.py --events 2000000 --producers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from profiler.capture.options import CaptureOptions
from profiler.capture.session import CaptureSession
from profiler.rundir.writer import RunWriter

HERE = Path(__file__).resolve().parent


def build_producer(tmp: Path) -> Path:
    binary = tmp / "producer"
    subprocess.run(["gcc", "-O2", "-static", "-o", str(binary),
                    str(HERE / "collector_producer.c")], check=True)
    return binary


def one_run(binary: Path, events: int, producers: int, wakeup: int, pages: int,
            poll_ms: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        writer = RunWriter(Path(run_dir))
        options = CaptureOptions(syscalls=frozenset({"io"}), slow_syscall_threshold_us=0,
                                 slow_syscall_stacks=False, offcpu=False, gc=False,
                                 jvm_threads=False, network_lifecycle=False,
                                 wakeup_events=wakeup, stream_buffer_pages=pages)
        session = CaptureSession(options, writer)
        session.start()
        per_producer = events // producers
        procs = [subprocess.Popen([str(binary), str(per_producer)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE) for _ in range(producers)]
        for proc in procs:
            session.track(proc.pid)
        cpu0 = time.process_time()
        wall0 = time.monotonic()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"g")
            proc.stdin.close()
        while any(proc.poll() is None for proc in procs):
            session.poll(poll_ms)
        report = session.stop()
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        writer.close("complete")
        producer_ns = max(int(proc.stdout.read() or 0) for proc in procs if proc.stdout)
    # Writes of the producers only; the other io syscalls (open, exit path) are few.
    received = report.events.get("slow_events", 0)
    lost = report.lost_events.get("slow_events", 0)
    return {"expected": per_producer * producers, "received": received, "lost": lost,
            "producer_s": producer_ns / 1e9, "wall_s": wall,
            "events_per_s": (received + lost) / (producer_ns / 1e9),
            "collector_cpu_s": cpu,
            # What one core of collector could sustain at this CPU cost per event.
            "collector_capacity_per_s": received / cpu if cpu else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--producers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wakeup", type=int, default=64)
    parser.add_argument("--pages", type=int, default=1024)
    parser.add_argument("--poll-ms", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (loads BPF programs)", file=sys.stderr)
        return 2
    if shutil.which("gcc") is None:
        print("needs gcc to build the producer", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_producer(Path(tmp))
        results = []
        for index in range(args.runs):
            result = one_run(binary, args.events, args.producers, args.wakeup, args.pages,
                             args.poll_ms)
            results.append(result)
            print(f"run {index + 1}: " + ", ".join(
                f"{key}={value:,.3f}" if isinstance(value, float) else f"{key}={value:,}"
                for key, value in result.items()))
    rates = [r["events_per_s"] for r in results]
    capacity = [r["collector_capacity_per_s"] for r in results]
    print(f"median events/s: {statistics.median(rates):,.0f}  "
          f"median collector capacity (events per collector CPU-second): "
          f"{statistics.median(capacity):,.0f}  "
          f"lost total: {sum(int(r['lost']) for r in results):,}  "
          f"(producers={args.producers}, wakeup_events={args.wakeup}, pages={args.pages})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
