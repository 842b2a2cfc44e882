"""The pure maths of sparkprof bench: spreads, paired ratios, target verdicts."""

from __future__ import annotations

import math

import pytest

from profiler.bench.overhead import OverheadResults, Pair
from profiler.bench.probesets import PROBE_SETS, parse_probe_sets
from profiler.bench.runs import RunResult
from profiler.bench.stats import overhead_pct, ratio, spread
from profiler.bench.workloads import select
from profiler.errors import UsageError


def run(wall: float, job: float, cpu: float, profiled: bool = False,
        cost: float | None = None) -> RunResult:
    return RunResult(profiled=profiled, wall_s=wall, job_s=job, cpu_s=cpu,
                     self_cost_pct=cost, compile_s=1.5 if profiled else 0.0)


def test_spread_is_median_min_max_of_finite_values() -> None:
    result = spread([1.10, 0.98, math.nan, 1.02, 1.50])
    assert result is not None
    assert (result.median, result.low, result.high, result.count) == (1.06, 0.98, 1.50, 4)
    assert spread([math.nan]) is None
    assert spread([]) is None


def test_ratio_and_percent() -> None:
    assert ratio(10.5, 10.0) == pytest.approx(1.05)
    assert math.isnan(ratio(1.0, 0.0))
    assert overhead_pct(1.05) == pytest.approx(5.0)
    shown = spread([1.008, 0.988, 1.03])
    assert shown is not None and shown.percent() == "+0.8% (-1.2% / +3.0%)"


def results_with(pairs: list[tuple[str, str, float, float]]) -> OverheadResults:
    """pairs of (workload, probe set, plain wall, profiled wall); CPU and job follow wall."""
    results = OverheadResults(rows=100, repeats=1, probe_sets=["default", "jni"],
                              workloads=sorted({p[0] for p in pairs}))
    for workload, probe_set, plain, profiled in pairs:
        results.pairs.append(Pair(workload, probe_set, run(plain, plain / 2, plain),
                                  run(profiled, profiled / 2, profiled, True, 0.4)))
    return results


def test_summaries_group_by_probe_set_and_workload() -> None:
    results = results_with([("a", "default", 10, 10.1), ("a", "default", 10, 10.3),
                            ("a", "default", 10, 10.2), ("b", "jni", 20, 22)])
    cells = {(s.probe_set, s.workload): s for s in results.summaries()}
    assert set(cells) == {("default", "a"), ("jni", "b")}
    a = cells[("default", "a")]
    assert a.pairs == 3 and a.wall_ratio is not None and a.job_ratio is not None
    assert a.wall_ratio.median == pytest.approx(1.02)
    assert (a.wall_ratio.low, a.wall_ratio.high) == (pytest.approx(1.01), pytest.approx(1.03))
    assert a.job_ratio.median == pytest.approx(1.02)
    assert cells[("jni", "b")].wall_ratio.median == pytest.approx(1.1)  # type: ignore[union-attr]


def test_verdicts_say_met_or_missed_by_how_much() -> None:
    met = results_with([("a", "default", 10, 10.05), ("b", "default", 10, 10.15)])
    lines = met.verdicts()
    assert lines[0].startswith("MET median wall overhead") and "+1.00%" in lines[0]
    assert lines[1].startswith("MET worst workload") and "+1.50%" in lines[1]
    assert lines[2].startswith("MET self-cost")
    missed = results_with([("a", "default", 10, 10.5)])
    assert missed.verdicts()[1] == ("MISSED worst workload wall overhead (its median): "
                                    "+5.00% > 2% (by 3.00 points)")
    assert results_with([("a", "jni", 10, 11)]).verdicts() == []


def test_probe_sets_and_workload_selection() -> None:
    assert parse_probe_sets("default, all") == ["default", "all"]
    assert PROBE_SETS["default"] == []  # record's own defaults, nothing added
    assert "--no-jni" in PROBE_SETS["lean"]
    with pytest.raises(UsageError, match="nope"):
        parse_probe_sets("default,nope")
    assert [w.name for w in select("all", comparisons_only=True)] == [
        "bridge", "codecs", "client_paths"]
    assert all(w.script.is_file() for w in select("all"))
    with pytest.raises(UsageError):
        select("aggregation,unknown")
