"""``bench overhead``: each workload plain (A) and profiled (B), alternating A B A B, for each
probe set; summarized as paired ratios and the profiler's self-cost."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profiler.bench.probesets import PROBE_SETS
from profiler.bench.runs import RunResult, run_plain, run_profiled
from profiler.bench.stats import Spread, overhead_pct, ratio, spread
from profiler.bench.workloads import Workload

# Targets of issue 6 (reported, never asserted).
TARGET_MEDIAN_PCT = 1.0
TARGET_WORST_PCT = 2.0
TARGET_SELF_COST_PCT = 1.0


@dataclass
class Pair:
    workload: str
    probe_set: str
    plain: RunResult
    profiled: RunResult

    @property
    def wall_ratio(self) -> float:
        return ratio(self.profiled.wall_s, self.plain.wall_s)

    @property
    def job_ratio(self) -> float:
        return ratio(self.profiled.job_s, self.plain.job_s)

    @property
    def cpu_ratio(self) -> float:
        return ratio(self.profiled.cpu_s, self.plain.cpu_s)


@dataclass
class Summary:
    """One (probe set, workload) cell: spreads over its pairs."""

    workload: str
    probe_set: str
    wall_ratio: Spread | None
    job_ratio: Spread | None
    cpu_ratio: Spread | None
    self_cost_pct: Spread | None
    compile_s: Spread | None
    lost_events: int
    pairs: int


@dataclass
class OverheadResults:
    rows: int
    repeats: int
    probe_sets: list[str]
    workloads: list[str]
    pairs: list[Pair] = field(default_factory=list)
    interrupted: bool = False

    def summaries(self) -> list[Summary]:
        cells = []
        for probe_set in self.probe_sets:
            for workload in self.workloads:
                mine = [p for p in self.pairs
                        if p.probe_set == probe_set and p.workload == workload]
                if not mine:
                    continue
                costs = [p.profiled.self_cost_pct for p in mine
                         if p.profiled.self_cost_pct is not None]
                cells.append(Summary(
                    workload, probe_set, spread([p.wall_ratio for p in mine]),
                    spread([p.job_ratio for p in mine]), spread([p.cpu_ratio for p in mine]),
                    spread(costs), spread([p.profiled.compile_s for p in mine]),
                    sum(p.profiled.lost_events for p in mine), len(mine)))
        return cells

    def verdicts(self, probe_set: str = "default") -> list[str]:
        """The targets against the ``probe_set`` results: one line each, met or missed by how
        much; empty when that probe set has no results."""
        cells = [s for s in self.summaries() if s.probe_set == probe_set and s.wall_ratio]
        if not cells:
            return []
        walls = [overhead_pct(s.wall_ratio.median) for s in cells if s.wall_ratio]
        median_of_medians = spread(walls)
        assert median_of_medians is not None
        costs = [s.self_cost_pct.median for s in cells if s.self_cost_pct]
        worst_cost = max(costs) if costs else None
        lines = [_verdict("median wall overhead (median over workloads)",
                          median_of_medians.median, TARGET_MEDIAN_PCT),
                 _verdict("worst workload wall overhead (its median)",
                          median_of_medians.high, TARGET_WORST_PCT)]
        if worst_cost is not None:
            lines.append(_verdict("self-cost, worst workload (median)", worst_cost,
                                  TARGET_SELF_COST_PCT))
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "repeats": self.repeats, "probe_sets": self.probe_sets,
                "record_args": {name: PROBE_SETS[name] for name in self.probe_sets},
                "workloads": self.workloads, "interrupted": self.interrupted,
                "pairs": [asdict(p) | {"wall_ratio": p.wall_ratio, "job_ratio": p.job_ratio,
                                       "cpu_ratio": p.cpu_ratio} for p in self.pairs],
                "summaries": [asdict(s) for s in self.summaries()],
                "targets": self.verdicts()}


def _verdict(what: str, value_pct: float, target_pct: float) -> str:
    if round(value_pct, 2) <= target_pct:  # as shown: 1.0000001% meets a 1% target
        return f"MET {what}: {value_pct:+.2f}% <= {target_pct:.0f}%"
    return (f"MISSED {what}: {value_pct:+.2f}% > {target_pct:.0f}% "
            f"(by {value_pct - target_pct:.2f} points)")


def run_overhead(results: OverheadResults, workloads: list[Workload],
                 progress: Callable[[str], None],
                 on_pair: Callable[[OverheadResults], None]) -> None:
    """Fills ``results.pairs`` in A B order; ``on_pair`` after each pair (saves the results
    so far, so Ctrl-C loses at most the pair under way)."""
    with tempfile.TemporaryDirectory(prefix="sparkprof-bench-") as folder:
        work = Path(folder)
        for probe_set in results.probe_sets:
            for repeat in range(results.repeats):
                for workload in workloads:
                    progress(f"{probe_set} {workload.name} pair {repeat + 1}/{results.repeats}")
                    plain = run_plain(workload, "all", results.rows, work)
                    profiled = run_profiled(workload, "all", results.rows, work,
                                            PROBE_SETS[probe_set], work / "run")
                    results.pairs.append(Pair(workload.name, probe_set, plain, profiled))
                    on_pair(results)
