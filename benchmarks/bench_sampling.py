"""What on-CPU sampling costs and how much of it is named, on examples/demo_job.py.

Paired recordings (``--no-sample`` then default, repeated). Two costs, as shares of the
profiled CPU time (from meta.json; the job's own CPU time is too noisy on a shared 2-core
machine to resolve 0.5 %, its paired ratio is printed as well):

- *drains*: the sampling BPF program's run time plus all the CPU of the sampler's drains,
  including the symbol tables and maps it happened to load first;
- *added*: what turning sampling on adds. Those tables serve off-CPU and slow-syscall stacks
  too (the run without sampling loads most of them), so only the growth of the run's total
  table cost counts: BPF + the drains' own work + max(0, tables(sampled) - tables(plain)).

Named: the share of on-CPU samples in JVM processes whose leaf frame has a name (not
``[unknown]``/``[missing ...]``), and the share whose every frame has one. Root needed::

    sudo .venv/bin/python benchmarks/bench_sampling.py --pairs 2 [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import profiler

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
JOB = REPO / "examples" / "demo_job.py"
JVM_ROLES = ("driver-jvm", "executor-jvm")


def record(out: Path, flags: list[str], rows: int) -> dict[str, Any]:
    """examples/demo_job.py recorded with ``flags``; its meta.json."""
    return record_command(out, flags, [str(JOB), "--rows", str(rows)])


def record_command(out: Path, flags: list[str], job: list[str]) -> dict[str, Any]:
    """``python JOB...`` recorded into ``out`` with ``flags``; its meta.json."""
    done = subprocess.run([str(BIN / "sparkprof"), "record", "-o", str(out), "--force", *flags,
                           "--", str(BIN / "python"), *job],
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sparkprof record failed ({done.returncode}):\n{done.stderr[-3000:]}")
    meta: dict[str, Any] = json.loads((out / "meta.json").read_text())
    return meta


def named_shares(run: Path) -> tuple[float, float]:
    profile = profiler.load(run)
    processes = profile.processes
    jvms = set(processes.loc[processes["role"].isin(JVM_ROLES), "pid"])
    samples = profile.samples
    samples = samples[samples["pid"].isin(jvms)]
    counts = samples["count"].to_numpy()
    leaf = [not _unnamed(stack[0]) for stack in samples["user_stack"]]
    whole = [not any(_unnamed(frame) for frame in stack) for stack in samples["user_stack"]]
    total = counts.sum()
    return (float(counts[leaf].sum() / total) if total else 0.0,
            float(counts[whole].sum() / total) if total else 0.0)


def _unnamed(frame: str) -> bool:
    return frame.startswith("[unknown]") or frame.startswith("[missing")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    drains, added, ratios, leaf_named, all_named = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-sampling-") as tmp:
        for _ in range(args.pairs):
            plain = record(Path(tmp) / "plain", ["--no-sample", "--no-jni"], args.rows)
            run = Path(tmp) / "sampled"
            sampled = record(run, ["--no-jni"], args.rows)
            cpu = sampled["self_cost"]["profiled_cpu_ns"]
            if not cpu or not plain["self_cost"]["profiled_cpu_ns"]:
                print("pair skipped: a run has no profiled CPU time", flush=True)
                continue
            bpf_ns = sampled["self_cost"].get("bpf_run_by_program", {}).get("on_cpu_sample", 0)
            # jcmd processes asking a running JVM for its perf map count as the sampler's
            collector_ns = (sampled["sampling"]["collector_s"]
                            + sampled["sampling"]["helper_cpu_s"]) * 1e9
            own_ns = collector_ns - sampled["sampling"]["symbol_tables_s"] * 1e9
            more_tables_ns = max(0, sampled["self_cost"]["symbol_tables_ns"]
                                 - plain["self_cost"]["symbol_tables_ns"])
            drains.append(100.0 * (bpf_ns + collector_ns) / cpu)
            added.append(100.0 * (bpf_ns + own_ns + more_tables_ns) / cpu)
            ratios.append(cpu / plain["self_cost"]["profiled_cpu_ns"])
            leaf, whole = named_shares(run)
            leaf_named.append(100 * leaf)
            all_named.append(100 * whole)
            print(f"pair: sampling adds {added[-1]:.3f}% of job CPU, its drains "
                  f"{drains[-1]:.3f}% (bpf {bpf_ns / 1e6:.1f} ms, drains {collector_ns / 1e6:.0f}"
                  f" ms of which tables {(collector_ns - own_ns) / 1e6:.0f} ms, tables beyond "
                  f"the plain run {more_tables_ns / 1e6:.0f} ms, job CPU {cpu / 1e9:.1f} s); "
                  f"job CPU ratio sampled/plain {ratios[-1]:.3f}; JVM samples "
                  f"{sampled['sampling']['samples']}, leaf named {leaf_named[-1]:.1f}%, "
                  f"all frames named {all_named[-1]:.1f}%", flush=True)
            phases = sampled["sampling"].get("phases_s", {})
            print("  drains by phase (ms): " + ", ".join(
                f"{phase} {seconds * 1e3:.0f}" for phase, seconds in
                sorted(phases.items(), key=lambda item: -item[1])), flush=True)
    print(f"median: sampling adds {statistics.median(added):.3f}% of job CPU (target <= 0.5%),"
          f" its drains {statistics.median(drains):.3f}%; job CPU ratio "
          f"{statistics.median(ratios):.3f}; JVM samples with a named leaf "
          f"{statistics.median(leaf_named):.1f}% (target >= 90%), with every frame named "
          f"{statistics.median(all_named):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
