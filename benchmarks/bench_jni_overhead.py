"""What JNI method tracing at the default set costs on examples/demo_job.py.

Paired recordings (``--no-jni`` then default, both ``--no-sample``, repeated). The cost is
estimated from what the run counted, as a share of the profiled CPU time: every traced call
pays an entry uprobe and a return uprobe (trap and BPF program: 2.9 us a call measured with
``--micro-rounds`` on this machine, or the measured BPF run time when larger), plus the
collector's CPU for scanning (maps, ELF, attaching) and draining. Detaching is printed apart:
it is wall time spent waiting for RCU grace periods, not CPU. The job's paired CPU ratio is
printed too (noisy on a shared machine). Root needed::

    sudo .venv/bin/python benchmarks/bench_jni_overhead.py --pairs 2 [--rows 200000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from bench_sampling import BIN, REPO, record

PROGRAMS = REPO / "tests" / "integration" / "programs"

UPROBE_PAIR_NS = 2900  # entry uprobe + uretprobe per call here (--micro-rounds, 2026-11-21)


def micro(rounds: int, calls: int) -> None:
    """ns per Deflater.deflate call (DeflateMany.java: one JNI method call and two critical
    regions each) recorded with --no-jni, the default and --jni-interface, in rounds."""
    modes = {"no-jni": ["--no-jni"], "jni": [], "jni+interface": ["--jni-interface"]}
    per_call: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="bench-jni-micro-") as tmp:
        shutil.copy(PROGRAMS / "DeflateMany.java", tmp)
        subprocess.run(["javac", "DeflateMany.java"], cwd=tmp, check=True)
        for _ in range(rounds):
            for mode, flags in modes.items():
                done = subprocess.run(
                    [str(BIN / "sparkprof"), "record", "-o", f"{tmp}/run", "--force",
                     "--no-sample", *flags, "--", "java", "-cp", tmp, "DeflateMany",
                     str(calls), "2500"], capture_output=True, text=True, check=True)
                elapsed_ns = int(done.stdout.split()[-1])
                per_call[mode].append(elapsed_ns / calls)
    base = statistics.median(per_call["no-jni"])
    for mode, values in per_call.items():
        median = statistics.median(values)
        print(f"micro {mode}: {median:.0f} ns per deflate call (+{median - base:.0f} ns)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--micro-rounds", type=int, default=0,
                        help="also time Deflater calls under each JNI mode (needs javac)")
    parser.add_argument("--micro-calls", type=int, default=200_000)
    args = parser.parse_args()
    if args.micro_rounds:
        micro(args.micro_rounds, args.micro_calls)
    costs, ratios = [], []
    with tempfile.TemporaryDirectory(prefix="bench-jni-") as tmp:
        for _ in range(args.pairs):
            plain = record(Path(tmp) / "plain", ["--no-jni", "--no-sample"], args.rows)
            run = Path(tmp) / "jni"
            traced = record(run, ["--no-sample"], args.rows)
            cpu = traced["self_cost"]["profiled_cpu_ns"]
            if not cpu or not plain["self_cost"]["profiled_cpu_ns"]:
                print("pair skipped: a run has no profiled CPU time", flush=True)
                continue
            jni_dir = run / "jni"
            calls = int(pq.read_table(jni_dir).column("calls").to_numpy().sum()) \
                if jni_dir.exists() else 0
            by_program = traced["self_cost"].get("bpf_run_by_program", {})
            bpf_ns = by_program.get("jni_entry", 0) + by_program.get("jni_return", 0)
            probe_ns = max(calls * UPROBE_PAIR_NS, bpf_ns)
            jni = traced["jni"]
            collector_ns = (jni["scan_s"] + jni["drain_s"]) * 1e9
            costs.append(100.0 * (probe_ns + collector_ns) / cpu)
            ratios.append(cpu / plain["self_cost"]["profiled_cpu_ns"])
            methods = sum(jni["libraries"].values())
            print(f"pair: JNI cost {costs[-1]:.3f}% of job CPU ({calls} calls, probes "
                  f"{probe_ns / 1e6:.1f} ms, collector {collector_ns / 1e6:.0f} ms; detach wait "
                  f"{jni['detach_s']:.2f} s; {methods} methods in "
                  f"{sorted(jni['libraries'])}, {len(jni['skipped'])} skipped, "
                  f"{len(jni['detached'])} detached); job CPU ratio traced/plain "
                  f"{ratios[-1]:.3f}", flush=True)
    print(f"median JNI tracing cost {statistics.median(costs):.3f}% of job CPU (target <= 1%);"
          f" median job CPU ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
