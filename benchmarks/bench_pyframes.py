"""How many Python-worker samples get named Python frames, and what naming them costs.

Records examples/demo_job.py (its Python workers run only the UDF stage) and a CPU-bound UDF
job (tests/integration/programs/pyframes_job.py), each ``--runs`` times, and prints per run:
the share of python-worker samples with at least one ``py::`` frame, the share whose stack
holds the UDF's own function, the user-space CPU spent on Python stacks, and the sampling BPF
program's run time per sample. The cost of sampling as a whole (with and without this) is
benchmarks/bench_sampling.py's. Root needed::

    sudo .venv/bin/python benchmarks/bench_pyframes.py [--runs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench_sampling import record_command

import profiler

REPO = Path(__file__).resolve().parent.parent
JOBS = {  # name -> (program and arguments, the UDF's function frame prefix)
    "demo": ([str(REPO / "examples" / "demo_job.py")], "py::main.<locals>.scaled ("),
    "cpu-udf": ([str(REPO / "tests" / "integration" / "programs" / "pyframes_job.py")],
                "py::burn_cpu_sparkprof_test ("),
}


def shares(run: Path, udf_prefix: str) -> dict[str, float]:
    profile = profiler.load(run)
    processes = profile.processes
    workers = set(processes.loc[processes["role"] == "python-worker", "pid"])
    samples = profile.samples
    rows = samples[samples["pid"].isin(workers)]
    total = int(rows["count"].sum())
    named = udf = 0
    for stack, count in zip(rows["user_stack"], rows["count"], strict=True):
        named += int(count) * any(frame.startswith("py::") for frame in stack)
        udf += int(count) * any(frame.startswith(udf_prefix) for frame in stack)
    meta = profile.meta
    bpf_ns = meta["self_cost"].get("bpf_run_by_program", {}).get("on_cpu_sample", 0)
    all_samples = meta["sampling"]["samples"] or 1
    return {"worker_samples": total, "named": 100 * named / total if total else 0.0,
            "udf": 100 * udf / total if total else 0.0,
            "python_collector_ms": 1000 * meta["sampling"]["python"]["collector_s"],
            "collector_ms": 1000 * meta["sampling"]["collector_s"],
            "bpf_ns_per_sample": bpf_ns / all_samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pyframes-") as tmp:
        for name, (job, udf_prefix) in JOBS.items():
            results = []
            for _ in range(args.runs):
                run = Path(tmp) / name
                record_command(run, ["--no-jni"], job)
                results.append(shares(run, udf_prefix))
                r = results[-1]
                print(f"{name}: {r['worker_samples']} python-worker samples, "
                      f"{r['named']:.1f}% with a named Python frame, {r['udf']:.1f}% in the "
                      f"UDF's function; Python stacks {r['python_collector_ms']:.0f} ms of "
                      f"the collector's {r['collector_ms']:.0f} ms; BPF "
                      f"{r['bpf_ns_per_sample']:.0f} ns per sample", flush=True)
            print(f"{name} median: {statistics.median(r['named'] for r in results):.1f}% named"
                  f", {statistics.median(r['udf'] for r in results):.1f}% in the UDF",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
