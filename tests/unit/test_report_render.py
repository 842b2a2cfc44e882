"""Report renderers (parametrized over all of them), the JSON schema, the self-contained
HTML and the ``sparkprof report`` command."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import profiler
from profiler.cli import main
from profiler.report import RENDERERS, SCHEMA_VERSION, Report, build_report
from tests.unit.report_runs import UDF_STAGE, make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="module")
def report(run: Path) -> Report:
    return build_report(profiler.load(run), latency=True, flamegraph_stages=2)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_renderer_tells_the_same_story_without_touching_files(
        name: str, report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = RENDERERS[name].render(report)
    assert isinstance(out, str) and os.listdir(tmp_path) == []
    assert UDF_STAGE in out and "local-42" in out
    if name == "json":
        assert json.loads(out)["stages"][0]["breakdown_ms"]["futex"] is None
    else:
        assert "not captured" in out
        assert "waiting on the Python worker socket" in out  # the top finding
        assert "hotspot_jni" in out and "3 events were lost" in out


def test_json_schema(report: Report) -> None:
    data = json.loads(RENDERERS["json"].render(report))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["profiler"] == {
        "self_cost_pct": 1.5, "lost_events": 3, "lost_events_by_source": {"buffer": 3},
        "probes_failed": {"hotspot_jni": "no USDT"}, "probes_attached": ["syscalls", "sched"]}
    stage = data["stages"][0]
    assert {"stage_id", "attempt", "job_id", "name", "wall_ms", "task_ms", "breakdown_ms",
            "breakdown_pct", "spark", "coverage_pct", "unexplained_ms"} <= set(stage)
    assert stage["breakdown_ms"]["net_python_worker"] == pytest.approx(600)
    assert stage["breakdown_pct"]["net_python_worker"] == pytest.approx(60)
    assert stage["spark"]["executor_run_time"] == {"spark_ms": 950.0, "measured_ms": 1000.0,
                                                   "diff_ms": 50.0}
    assert [c["id"] for c in data["categories"] if not c["captured"]] == [
        "cpu_jvm", "cpu_python", "cpu_kernel", "jni", "futex"]
    assert data["findings"][0]["category"] == "net_python_worker"
    assert data["jni_methods"] is None
    assert data["latency"][0]["syscall"] == "recvfrom"


def test_html_is_one_self_contained_file(report: Report) -> None:
    html = RENDERERS["html"].render(report)
    assert html.count("data:image/png;base64,") >= 3  # timeline, breakdown, latency
    # nothing is fetched: no external scripts, styles, images or frames
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)
    assert "<link" not in html
    assert "Stage timeline" in html and "Syscall latency" in html
    # the run has no stacks: the flame-graph section says why instead of failing
    assert "no offcpu flame graph" in html


def test_cli_writes_text_to_stdout_and_progress_to_stderr(run: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("sparkprof report:")
    assert "sparkprof: correlating" in result.stderr and "correlating" not in result.stdout


def test_cli_refuses_to_overwrite_without_force(run: Path, tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    runner = CliRunner()
    first = runner.invoke(main, ["report", str(run), "--format", "json", "-o", str(target)])
    assert first.exit_code == 0, first.output
    assert json.loads(target.read_text())["schema_version"] == 1
    again = runner.invoke(main, ["report", str(run), "--format", "md", "-o", str(target)])
    assert again.exit_code == 2 and "already exists" in again.stderr
    forced = runner.invoke(main, ["report", str(run), "--format", "md", "-o", str(target),
                                  "--force"])
    assert forced.exit_code == 0 and target.read_text().startswith("# sparkprof report")


def test_cli_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr and "Traceback" not in result.output
