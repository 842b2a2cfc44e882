"""One workload run, plain or under ``sparkprof record``, reduced to its numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler.bench.procs import children_cpu_s, job_env, reap_all, timed_command
from profiler.bench.workloads import Workload
from profiler.errors import SparkprofError


class WorkloadFailed(SparkprofError):
    """A workload script or ``sparkprof record`` exited non-zero."""


@dataclass
class RunResult:
    """``wall_s``: the workload process, JVM start-up included; ``job_s``: the workload's own
    timing of its queries (its JSON line); ``cpu_s``: plain: the whole process tree (rusage),
    profiled: the tracked processes' CPU from meta.json."""

    profiled: bool
    wall_s: float
    job_s: float
    cpu_s: float
    variants: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    bpf_run_s: float = 0.0
    collector_cpu_s: float = 0.0
    self_cost_pct: float | None = None
    compile_s: float = 0.0
    lost_events: int = 0


def workload_argv(workload: Workload, variant: str, rows: int) -> list[str]:
    return [sys.executable, str(workload.script), "--rows", str(rows), "--variant", variant]


def _last_json_line(path: Path) -> dict[str, Any]:
    for line in reversed(path.read_text(errors="replace").splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise WorkloadFailed(f"workload printed no JSON result line ({path})")


def _fail(what: str, code: int, log: Path) -> WorkloadFailed:
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    return WorkloadFailed(f"{what} exited with status {code}: {tail.strip()[-600:]}",
                          f"full log: {log}")


def _base(profiled: bool, wall_s: float, cpu_s: float, output: dict[str, Any]) -> RunResult:
    variants = {name: float(v["wall_s"]) for name, v in output.get("variants", {}).items()}
    return RunResult(profiled=profiled, wall_s=wall_s, job_s=float(output.get("wall_s", 0.0)),
                     cpu_s=cpu_s, variants=variants, errors=dict(output.get("errors", {})))


def run_plain(workload: Workload, variant: str, rows: int, work: Path) -> RunResult:
    files = [work / name for name in ("plain.wall", "plain.out", "plain.err")]
    before = children_cpu_s()
    done = subprocess.run(timed_command(workload_argv(workload, variant, rows), *files),
                          env=job_env(), check=False)
    reap_all()
    if done.returncode != 0:
        raise _fail(f"{workload.name} --variant {variant}", done.returncode, files[2])
    wall_s = int(files[0].read_text()) / 1e9
    return _base(False, wall_s, children_cpu_s() - before, _last_json_line(files[1]))


def run_profiled(workload: Workload, variant: str, rows: int, work: Path,
                 record_args: list[str], run_dir: Path) -> RunResult:
    """One run under ``sparkprof record -o run_dir`` (replaced if present)."""
    files = [work / name for name in ("record.wall", "record.out", "record.err")]
    record_log = work / "record.log"
    shutil.rmtree(run_dir, ignore_errors=True)
    argv = [str(Path(sys.executable).parent / "sparkprof"), "record", "-o", str(run_dir),
            *record_args, "--", *timed_command(workload_argv(workload, variant, rows), *files)]
    with record_log.open("w") as log:
        recorder = subprocess.Popen(argv, env=job_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            returncode = recorder.wait()
        except KeyboardInterrupt:
            # The recorder got the Ctrl-C too: let it finalize (and BPF detach) before we go.
            recorder.wait(timeout=120)
            raise
    reap_all()
    if returncode != 0:
        failed_log = files[2] if files[2].exists() and files[2].stat().st_size else record_log
        raise _fail(f"sparkprof record of {workload.name} --variant {variant}",
                    returncode, failed_log)
    meta = json.loads((run_dir / "meta.json").read_text())
    cost = meta.get("self_cost") or {}
    lost = meta.get("lost_events") or {}
    result = _base(True, int(files[0].read_text()) / 1e9,
                   int(cost.get("profiled_cpu_ns") or 0) / 1e9, _last_json_line(files[1]))
    result.bpf_run_s = int(cost.get("bpf_run_ns") or 0) / 1e9
    result.collector_cpu_s = int(cost.get("collector_cpu_ns") or 0) / 1e9
    pct = cost.get("pct")
    result.self_cost_pct = float(pct) if pct is not None else None
    result.compile_s = float(meta.get("compile_s") or 0.0)
    result.lost_events = sum(int(n) for n in lost.values())
    return result
