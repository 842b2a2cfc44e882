"""``bench collector``: the synthetic producer of benchmarks/bench_collector.py (imported from
the source checkout, not duplicated), a few runs, events/s and loss per run."""

from __future__ import annotations

import importlib.util
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from profiler.bench.workloads import REPO
from profiler.errors import HostNotReadyError, InputError

TARGET_EVENTS_PER_S = 1_000_000
_SCRIPT = REPO / "benchmarks" / "bench_collector.py"


@dataclass
class CollectorResults:
    events: int
    producers: int
    runs: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False

    def median_rate(self) -> float | None:
        rates = [r["events_per_s"] for r in self.runs]
        return statistics.median(rates) if rates else None

    def lost(self) -> int:
        return sum(int(r["lost"]) for r in self.runs)

    def verdict(self) -> str | None:
        rate = self.median_rate()
        if rate is None:
            return None
        lost = self.lost()
        if rate >= TARGET_EVENTS_PER_S and lost == 0:
            return f"MET {rate:,.0f} events/s >= {TARGET_EVENTS_PER_S:,} with zero loss"
        misses = []
        if rate < TARGET_EVENTS_PER_S:
            misses.append(f"{rate:,.0f} events/s is {TARGET_EVENTS_PER_S - rate:,.0f} "
                          f"({(1 - rate / TARGET_EVENTS_PER_S) * 100:.0f}%) short of "
                          f"{TARGET_EVENTS_PER_S:,}")
        if lost:
            misses.append(f"{lost:,} events lost")
        return "MISSED " + "; ".join(misses)

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "producers": self.producers, "runs": self.runs,
                "median_events_per_s": self.median_rate(), "lost": self.lost(),
                "target": self.verdict(), "interrupted": self.interrupted}


def _load_bench_collector() -> ModuleType:
    if not _SCRIPT.is_file():
        raise InputError(f"{_SCRIPT} not found", "run sparkprof bench from a source checkout")
    spec = importlib.util.spec_from_file_location("bench_collector", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_collector(results: CollectorResults, repeats: int, progress: Callable[[str], None],
                  on_run: Callable[[CollectorResults], None]) -> None:
    if shutil.which("gcc") is None:
        raise HostNotReadyError("gcc not found (it builds the synthetic producer)",
                                "apt-get install gcc")
    bench = _load_bench_collector()
    with tempfile.TemporaryDirectory(prefix="sparkprof-bench-") as folder:
        binary = bench.build_producer(Path(folder))
        for index in range(repeats):
            progress(f"collector run {index + 1}/{repeats}")
            # wakeup/pages/poll: bench_collector.py's defaults.
            results.runs.append(bench.one_run(binary, results.events, results.producers,
                                              64, 1024, 50))
            on_run(results)
