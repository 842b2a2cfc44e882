"""Benchmark report rendering (markdown, PNG, JSON) on hand-made results, and the results
directory's refusal to overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.bench.collector import CollectorResults
from profiler.bench.compare import CompareResults, VariantComparison
from profiler.bench.figures import collector_figure, overhead_figure, variants_figure
from profiler.bench.markdown import collector_markdown, compare_markdown, overhead_markdown
from profiler.bench.overhead import OverheadResults, Pair
from profiler.bench.results import create_results_dir, write_json
from profiler.bench.runs import RunResult
from profiler.errors import OutputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(wall: float, profiled: bool, errors: dict[str, str] | None = None) -> RunResult:
    return RunResult(profiled=profiled, wall_s=wall, job_s=wall / 2, cpu_s=wall * 1.5,
                     variants={"sql": wall / 2}, errors=errors or {},
                     self_cost_pct=0.7 if profiled else None, compile_s=2.0 if profiled else 0,
                     lost_events=3 if profiled else 0)


def overhead_results() -> OverheadResults:
    results = OverheadResults(rows=1000, repeats=2, probe_sets=["default", "jni"],
                              workloads=["aggregation", "client_paths"])
    for probe_set, extra in (("default", 0.1), ("jni", 0.5)):
        for plain in (10.0, 12.0):
            results.pairs.append(Pair("aggregation", probe_set, run(plain, False),
                                      run(plain + extra, True)))
    results.pairs.append(Pair("client_paths", "default", run(20, False),
                              run(21, True, {"connect": "ImportError: No module named grpc"})))
    return results


def test_overhead_markdown_has_a_row_per_cell_targets_and_errors() -> None:
    text = overhead_markdown(overhead_results())
    assert "| default | aggregation | 2 | +0.9% (+0.8% / +1.0%) |" in text
    assert "| jni | aggregation | 2 |" in text
    assert "| default | client_paths | 1 | +5.0% (+5.0% / +5.0%) |" in text
    assert "MISSED worst workload wall overhead (its median): +5.00% > 2%" in text
    assert "- client_paths/connect: ImportError: No module named grpc" in text
    assert "- default: `sparkprof record`" in text
    assert "- jni: `sparkprof record --jni --offcpu-block-ms 3600000`" in text


def test_results_json_round_trips(tmp_path: Path) -> None:
    write_json(tmp_path / "results.json", overhead_results().to_json())
    loaded = json.loads((tmp_path / "results.json").read_text())
    assert len(loaded["pairs"]) == 5
    assert loaded["pairs"][0]["wall_ratio"] == pytest.approx(1.01)
    assert loaded["summaries"][0]["wall_ratio"]["median"] == pytest.approx(1.0091, abs=1e-4)
    assert loaded["targets"][0].startswith("MISSED median")


def test_figures_are_png(tmp_path: Path) -> None:
    overhead_figure(overhead_results(), tmp_path / "o.png")
    compare = CompareResults(rows=10, probe_set="default",
                             runs={"bridge/sql": run(4, True), "bridge/python-udf": run(9, True)})
    variants_figure(compare, tmp_path / "v.png")
    collector = CollectorResults(events=10, producers=1, runs=[
        {"expected": 10, "received": 10, "lost": 0, "events_per_s": 9e5,
         "collector_cpu_s": 0.1}])
    collector_figure(collector, tmp_path / "c.png")
    for name in ("o.png", "v.png", "c.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_compare_and_collector_markdown() -> None:
    compare = CompareResults(rows=10, probe_set="default",
                             runs={"bridge/sql": run(4, True), "bridge/python-udf": run(9, True)})
    compare.comparisons.append(VariantComparison("bridge", "sql", "python-udf",
                                                 "+120% end to end", "compare-x.md"))
    compare.errors.append("client_paths: classic vs connect skipped: no grpc")
    text = compare_markdown(compare)
    assert "| bridge/python-udf | 4.50 | 0.70 | 3 |" in text
    assert "- bridge, sql -> python-udf: +120% end to end ([report](compare-x.md))" in text
    assert "no grpc" in text
    collector = CollectorResults(events=10, producers=1, runs=[
        {"expected": 10, "received": 8, "lost": 2, "events_per_s": 800_000.0,
         "collector_cpu_s": 0.1}])
    assert collector.verdict() == ("MISSED 800,000 events/s is 200,000 (20%) short of "
                                   "1,000,000; 2 events lost")
    assert "| 1 | 10 | 8 | 2 | 800,000 | 0.10 | 0 |" in collector_markdown(collector)


def test_results_dir_is_never_overwritten_without_force(tmp_path: Path) -> None:
    target = create_results_dir(tmp_path / "r", force=False)
    (target / "report.md").write_text("x")
    with pytest.raises(OutputError, match="not empty"):
        create_results_dir(target, force=False)
    assert create_results_dir(target, force=True) == target
    assert not (target / "report.md").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="not a directory"):
        create_results_dir(tmp_path / "file", force=True)
