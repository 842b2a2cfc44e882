"""Stage matching, deltas and the renderers of ``profiler.compare`` / ``sparkprof compare``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import profiler
from profiler.cli import main
from profiler.comparison import RENDERERS, Comparison, StageTotal, match_stages
from tests.unit.report_runs import SQL_STAGE, UDF_STAGE, make_run


def _stage(stage_id: int, job_id: int | None, name: str) -> StageTotal:
    return StageTotal(stage_id, 1, job_id, name, 100.0, 100.0, {}, 0.0)


def test_stages_match_by_job_order_then_by_name_order() -> None:
    a = [_stage(0, 0, "scan"), _stage(1, 0, "agg"), _stage(2, 1, "scan"), _stage(3, 2, "x")]
    # B's first job has an extra stage (ids shift, "agg" is 3rd in its job, not 2nd) and
    # its last job differs
    b = [_stage(0, 0, "scan"), _stage(1, 0, "extra"), _stage(2, 0, "agg"),
         _stage(3, 1, "scan"), _stage(4, 2, "y")]
    pairs = match_stages(a, b)
    found = [(p.a.stage_id if p.a else None, p.b.stage_id if p.b else None, p.matched_by)
             for p in pairs]
    assert found == [(0, 0, "job-order"), (1, 2, "name-order"), (2, 3, "job-order"),
                     (3, None, None), (None, 1, None), (None, 4, None)]
    same = match_stages(a, a)
    assert [(p.a.stage_id, p.b.stage_id, p.matched_by) for p in same if p.a and p.b] == [
        (0, 0, "job-order"), (1, 1, "job-order"), (2, 2, "job-order"), (3, 3, "job-order")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    # B: the UDF task takes 300 ms longer, all of it waiting on the Python worker
    return make_run(root / "a"), make_run(root / "b", worker_wait_ms=900, udf_task_ms=1300)


@pytest.fixture(scope="module")
def comparison(runs: tuple[Path, Path]) -> Comparison:
    return profiler.compare(profiler.load(runs[0]), runs[1])


def test_deltas_and_where_they_come_from(comparison: Comparison) -> None:
    assert comparison.wall_a_ms == 5000 and comparison.wall_b_ms == 5300
    assert comparison.wall_delta_pct == pytest.approx(6.0)
    worker = next(c for c in comparison.categories if c.category == "net_python_worker")
    assert worker.delta_ms == pytest.approx(300)
    assert worker.pct_of_a_task == pytest.approx(20.0)  # of A's 1.5 s task time
    futex = next(c for c in comparison.categories if c.category == "futex")
    assert futex.delta_ms is None  # not captured in either run
    assert comparison.summary.startswith(
        "+6.0% end to end (5.0 s -> 5.3 s): +20.0% network: Python worker bridge")
    udf, sql = comparison.stages
    assert (udf.name, udf.pair.matched_by) == (UDF_STAGE, "job-order")
    assert udf.wall_delta_ms == pytest.approx(300)
    assert sql.name == SQL_STAGE and sql.wall_delta_ms == pytest.approx(0)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_renderer(name: str, comparison: Comparison) -> None:
    out = RENDERERS[name].render(comparison)
    if name == "json":
        data = json.loads(out)
        assert data["kind"] == "compare" and data["schema_version"] == 1
        assert data["end_to_end"]["delta_ms"] == pytest.approx(300)
        assert data["stages"][0]["matched_by"] == "job-order"
    else:
        assert comparison.summary in out.replace("&gt;", ">")
        assert UDF_STAGE in out


def test_cli_compare(runs: tuple[Path, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["compare", str(runs[0]), str(runs[1]), "-q"])
    assert result.exit_code == 0, result.output
    assert "+6.0% end to end" in result.stdout and result.stderr == ""
    target = tmp_path / "diff.html"
    args = ["compare", str(runs[0]), str(runs[1]), "--format", "html", "-o", str(target)]
    assert runner.invoke(main, args).exit_code == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert runner.invoke(main, args).exit_code == 2
