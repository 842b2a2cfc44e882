"""The report model and the notebook API (Profile.stages/tasks/breakdown/findings) on a
hand-made run with known answers (tests/unit/report_runs.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import profiler
from profiler.eventlog import COLUMNS
from profiler.report import build_report
from tests.unit.report_runs import SQL_STAGE, UDF_STAGE, make_run


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_stages_carry_the_known_breakdown(run: Path) -> None:
    report = build_report(profiler.load(run))
    udf, sql = report.stages
    assert (udf.stage_id, udf.job_id, udf.name, sql.name) == (0, 0, UDF_STAGE, SQL_STAGE)
    assert udf.task_ms == pytest.approx(1000) and udf.wall_ms == pytest.approx(1000)
    assert udf.breakdown_ms["net_python_worker"] == pytest.approx(600)
    assert udf.breakdown_ms["net_unknown"] == pytest.approx(200)
    assert udf.unexplained_ms == pytest.approx(200)
    assert udf.coverage_pct == pytest.approx(80)
    # GC claims its 50 ms from the 100 ms the task thread was off-CPU
    assert sql.breakdown_ms["gc"] == pytest.approx(50)
    assert sql.breakdown_ms["offcpu_other"] == pytest.approx(50)
    assert sql.start_ms == pytest.approx(3000)
    gc = sql.spark["jvm_gc_time"]
    assert gc.spark_ms == 40
    assert gc.measured_ms == pytest.approx(50) and gc.diff_ms == pytest.approx(10)


def test_missing_sources_are_not_captured_never_zero(run: Path) -> None:
    report = build_report(profiler.load(run))
    missing = {c.id for c in report.not_captured()}
    assert missing == {"cpu_jvm", "cpu_python", "cpu_kernel", "jni", "futex"}
    for stage in report.stages:
        assert all(stage.breakdown_ms[c] is None for c in missing)
        assert stage.pct("futex") is None
    assert report.totals_ms["futex"] is None
    assert report.totals_ms["net_shuffle"] == 0.0  # captured, and nothing happened
    assert report.jni_methods is None


def test_categories_never_sum_to_more_than_task_time(tmp_path: Path) -> None:
    # 1 s on the worker bridge + the worker's 200 ms wait in a 1 s task: scaled down to fit
    report = build_report(profiler.load(make_run(tmp_path / "r", worker_wait_ms=1000)))
    udf = report.stages[0]
    measured = sum(v for v in udf.breakdown_ms.values() if v is not None)
    assert measured <= udf.task_ms + 1e-6
    assert udf.overcommitted and udf.unexplained_ms == 0


def test_headline_shows_self_cost_losses_probes_and_warnings(run: Path) -> None:
    h = build_report(profiler.load(run)).headline
    assert (h.app_id, h.app_name, h.stage_count, h.task_count) == ("local-42", "report-test",
                                                                   2, 2)
    assert (h.self_cost_pct, h.lost_events, h.probes_failed) == (1.5, 3,
                                                                 {"hotspot_jni": "no USDT"})
    assert h.duration_ms == 5000
    assert any("3 events were lost" in w for w in h.warnings)


def test_findings_are_ranked_by_time(run: Path) -> None:
    report = build_report(profiler.load(run), top_findings=2)
    assert [(f.stage_id, f.category) for f in report.findings] == [
        (0, "net_python_worker"), (0, "net_unknown")]
    assert "Python worker socket" in report.findings[0].text


def test_latency_histograms_sum_the_run(run: Path) -> None:
    latency = build_report(profiler.load(run), latency=True).latency
    assert latency is not None
    recvfrom, read = latency
    assert (recvfrom.syscall, recvfrom.calls, recvfrom.counts[28]) == ("recvfrom", 1, 1)
    assert (read.syscall, read.family, read.counts[12], sum(read.counts)) == ("read", "io", 5, 5)


def test_profile_notebook_api(run: Path) -> None:
    p = profiler.load(run)
    assert list(p.stages.columns) == list(COLUMNS["stages"])
    assert len(p.tasks) == 2
    table = p.breakdown()
    assert table.loc[(0, 0), "net_python_worker"] == pytest.approx(600)
    assert math.isnan(table["futex"].iloc[0])
    assert "task_time_ms" in p.breakdown(coverage=True).columns
    found = p.findings(top=1)
    assert list(found["category"]) == ["net_python_worker"]


def test_a_run_without_an_event_log_has_empty_stage_tables(tmp_path: Path) -> None:
    p = profiler.load(make_run(tmp_path / "r", eventlog=False))
    assert p.stages.empty and list(p.tasks.columns) == list(COLUMNS["tasks"])
    assert p.breakdown().empty
    report = build_report(p)
    assert report.stages == []
    assert any("no Spark event log" in w for w in report.notes)
