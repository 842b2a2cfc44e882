"""What `sparkprof record` costs a PySpark job: paired runs (A B A B ...) of
examples/demo_job.py plain (A) and under `sparkprof record` (B). Root needed::

    sudo .venv/bin/python benchmarks/bench_record_overhead.py --repeats 3
    sudo .venv/bin/python benchmarks/bench_record_overhead.py --record-args="--no-sample --no-jni"

Reported per pair and as medians (min/max):
- wall ratio B/A of the job itself (timed inside the command, so BCC's compile time and the
  recorder's finalization are not in it; compile time is reported apart);
- self-cost from the run's meta.json: BPF program run time + collector CPU as % of the
  profiled processes' CPU time. The BPF run time counts every process of the host that hits
  a probe (other users' jobs too), so on a shared machine it is an upper bound;
- CPU ratio: the job's CPU time under record (profiled_cpu_ns, from sched_switch) / plain
  (rusage of the whole process tree; this script is their subreaper).

The machine is shared and noisy: wall ratios scatter; CPU times are the fairer numbers.
Markdown goes to stdout, the raw numbers to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from profiler.bench.procs import become_subreaper, children_cpu_s, reap_all

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
JOB = REPO / "examples" / "demo_job.py"


@dataclass
class Pair:
    plain_wall_s: float
    plain_cpu_s: float
    record_wall_s: float
    record_job_cpu_s: float
    bpf_run_s: float
    collector_cpu_s: float
    self_cost_pct: float | None
    compile_s: float
    lost_events: int

    @property
    def wall_ratio(self) -> float:
        return self.record_wall_s / self.plain_wall_s

    @property
    def cpu_ratio(self) -> float:
        return self.record_job_cpu_s / self.plain_cpu_s if self.plain_cpu_s else float("nan")


def timed_command(rows: int, wall_file: Path) -> list[str]:
    """The job wrapped in a shell that writes its own wall time (ns) to ``wall_file``."""
    job = shlex.join([str(VENV_BIN / "python"), str(JOB), "--rows", str(rows)])
    script = (f"s=$(date +%s%N); {job} >/dev/null 2>&1; c=$?; e=$(date +%s%N); "
              f"echo $((e - s)) > {shlex.quote(str(wall_file))}; exit $c")
    return ["/bin/sh", "-c", script]


def job_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUDO_") and k not in ("SPARK_SUBMIT_OPTS", "PYSPARK_SUBMIT_ARGS")}
    env["PYSPARK_PYTHON"] = str(VENV_BIN / "python")
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def run_plain(rows: int, work: Path) -> tuple[float, float]:
    """(job wall s, job CPU s: the whole process tree) of one plain run."""
    wall_file = work / "plain.wall"
    before = children_cpu_s()
    subprocess.run(timed_command(rows, wall_file), env=job_env(), check=True)
    reap_all()
    return int(wall_file.read_text()) / 1e9, children_cpu_s() - before


def run_recorded(rows: int, work: Path, record_args: list[str]) -> tuple[float, dict[str, object]]:
    """(job wall s, meta.json) of one run under `sparkprof record`."""
    wall_file = work / "record.wall"
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    argv = [str(VENV_BIN / "sparkprof"), "record", "-o", str(run_dir), *record_args, "--",
            *timed_command(rows, wall_file)]
    done = subprocess.run(argv, env=job_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    reap_all()
    if done.returncode != 0:
        raise SystemExit(f"sparkprof record failed ({done.returncode}):\n{done.stderr[-3000:]}")
    meta = json.loads((run_dir / "meta.json").read_text())
    return int(wall_file.read_text()) / 1e9, meta


def one_pair(rows: int, work: Path, record_args: list[str]) -> Pair:
    plain_wall, plain_cpu = run_plain(rows, work)
    record_wall, meta = run_recorded(rows, work, record_args)
    cost = meta.get("self_cost") or {}
    assert isinstance(cost, dict)
    lost = meta.get("lost_events") or {}
    assert isinstance(lost, dict)
    return Pair(plain_wall_s=plain_wall, plain_cpu_s=plain_cpu, record_wall_s=record_wall,
                record_job_cpu_s=int(cost.get("profiled_cpu_ns") or 0) / 1e9,
                bpf_run_s=int(cost.get("bpf_run_ns") or 0) / 1e9,
                collector_cpu_s=int(cost.get("collector_cpu_ns") or 0) / 1e9,
                self_cost_pct=cost.get("pct"), compile_s=float(meta.get("compile_s") or 0.0),
                lost_events=sum(int(n) for n in lost.values()))


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3f} ({min(values):.3f} / {max(values):.3f})"


def markdown(pairs: list[Pair], record_args: list[str]) -> str:
    lines = [f"`sparkprof record {' '.join(record_args)}` on examples/demo_job.py, "
             f"{len(pairs)} pairs (A plain, B recorded)", "",
             "| pair | A wall s | B wall s | wall B/A | A CPU s | B job CPU s | BPF s | "
             "collector CPU s | self-cost % | compile s | lost |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for index, p in enumerate(pairs, 1):
        pct = f"{p.self_cost_pct:.2f}" if p.self_cost_pct is not None else "n/a"
        lines.append(f"| {index} | {p.plain_wall_s:.2f} | {p.record_wall_s:.2f} | "
                     f"{p.wall_ratio:.3f} | {p.plain_cpu_s:.2f} | {p.record_job_cpu_s:.2f} | "
                     f"{p.bpf_run_s:.3f} | {p.collector_cpu_s:.3f} | {pct} | "
                     f"{p.compile_s:.2f} | {p.lost_events} |")
    pcts = [p.self_cost_pct for p in pairs if p.self_cost_pct is not None]
    lines += ["", "median (min / max):",
              f"- wall ratio B/A: {spread([p.wall_ratio for p in pairs])}",
              f"- self-cost %: {spread(pcts)}",
              f"- BPF run s: {spread([p.bpf_run_s for p in pairs])}; collector CPU s: "
              f"{spread([p.collector_cpu_s for p in pairs])}",
              f"- job CPU ratio B/A: {spread([p.cpu_ratio for p in pairs])}",
              f"- BCC compile s (not in the wall ratio): {spread([p.compile_s for p in pairs])}"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="A B pairs (default 3)")
    parser.add_argument("--rows", type=int, default=200_000, help="demo_job.py --rows")
    parser.add_argument("--record-args", default="",
                        help="extra `sparkprof record` options, e.g. '--no-sample --no-jni'")
    parser.add_argument("--json", type=Path, default=Path("bench_record_overhead.json"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (sparkprof record loads BPF programs)", file=sys.stderr)
        return 2
    record_args = shlex.split(args.record_args)
    become_subreaper()
    pairs = []
    with tempfile.TemporaryDirectory(prefix="bench-record-") as folder:
        work = Path(folder)
        for index in range(args.repeats):
            began = time.monotonic()
            pairs.append(one_pair(args.rows, work, record_args))
            print(f"pair {index + 1}/{args.repeats} done in {time.monotonic() - began:.0f} s",
                  file=sys.stderr, flush=True)
    print(markdown(pairs, record_args))
    args.json.write_text(json.dumps({"record_args": record_args, "rows": args.rows,
                                     "pairs": [asdict(p) | {"wall_ratio": p.wall_ratio,
                                                            "cpu_ratio": p.cpu_ratio}
                                               for p in pairs]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
