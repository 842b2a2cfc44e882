"""``bench compare``: each variant of the comparison workloads as its own profiled run, then
``profiler.compare`` on the (baseline, other) pairs: e.g. what a Python UDF costs over SQL and
in which categories the difference lies."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profiler.bench.probesets import PROBE_SETS
from profiler.bench.runs import RunResult, run_profiled
from profiler.bench.workloads import Workload


@dataclass
class VariantComparison:
    workload: str
    baseline: str
    other: str
    summary: str
    report_file: str


@dataclass
class CompareResults:
    rows: int
    probe_set: str
    runs: dict[str, RunResult] = field(default_factory=dict)  # "workload/variant" -> run
    comparisons: list[VariantComparison] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "probe_set": self.probe_set,
                "record_args": PROBE_SETS[self.probe_set], "interrupted": self.interrupted,
                "runs": {key: asdict(run) for key, run in self.runs.items()},
                "comparisons": [asdict(c) for c in self.comparisons], "errors": self.errors}


def _compare_runs(run_a: Path, run_b: Path, a_label: str, b_label: str) -> tuple[str, str]:
    """(one-line summary, markdown report) of ``sparkprof compare A B``."""
    from profiler.comparison import RENDERERS, compare

    comparison = compare(run_a, run_b, a_label, b_label)
    return comparison.summary, RENDERERS["md"].render(comparison)


def run_compare(results: CompareResults, workloads: list[Workload], out: Path,
                progress: Callable[[str], None],
                on_step: Callable[[CompareResults], None]) -> None:
    runs_dir = out / "runs"
    runs_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sparkprof-bench-") as folder:
        for workload in workloads:
            needed = sorted({v for pair in workload.comparisons for v in pair},
                            key=workload.variants.index)
            for variant in needed:
                key = f"{workload.name}/{variant}"
                progress(f"profiling {key}")
                run = run_profiled(workload, variant, results.rows, Path(folder),
                                   PROBE_SETS[results.probe_set],
                                   runs_dir / f"{workload.name}-{variant}")
                results.runs[key] = run
                on_step(results)
            for baseline, other in workload.comparisons:
                a, b = results.runs[f"{workload.name}/{baseline}"], results.runs[
                    f"{workload.name}/{other}"]
                if a.errors.get(baseline) or b.errors.get(other):
                    results.errors.append(f"{workload.name}: {baseline} vs {other} skipped: "
                                          f"{a.errors.get(baseline) or b.errors.get(other)}")
                    continue
                progress(f"comparing {workload.name}: {baseline} -> {other}")
                summary, text = _compare_runs(runs_dir / f"{workload.name}-{baseline}",
                                              runs_dir / f"{workload.name}-{other}",
                                              baseline, other)
                name = f"compare-{workload.name}-{baseline}-vs-{other}.md"
                (out / name).write_text(text)
                results.comparisons.append(
                    VariantComparison(workload.name, baseline, other, summary, name))
                on_step(results)
