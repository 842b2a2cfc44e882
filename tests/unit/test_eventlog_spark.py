"""The event-log reader against logs written by real Spark runs (see conftest.py).

Every count is checked against an independent scan: Spark's own reader decompressed each log
(``decoded`` files) and the test parses those lines with the stdlib json module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import profiler
from profiler.errors import InputError
from profiler.eventlog import COLUMNS

pytestmark = pytest.mark.spark


def _raw_events(app: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for decoded in app["decoded"]:
        with open(decoded, encoding="utf-8") as fh:
            events.extend(json.loads(line) for line in fh if line.strip())
    return events


def _raw_counts(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What a plain scan of the JSON lines says, with no help from the reader."""
    submitted = set()
    per_stage: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    jobs_failed = jobs = queries = 0
    for event in events:
        kind = event["Event"]
        if kind == "SparkListenerStageSubmitted":
            info = event["Stage Info"]
            submitted.add((info["Stage ID"], info["Stage Attempt ID"]))
        elif kind == "SparkListenerTaskEnd":
            key = (event["Stage ID"], event["Stage Attempt ID"])
            stats = per_stage[key]
            stats[0] += 1
            stats[1] += event["Task End Reason"]["Reason"] != "Success"
            stats[2] += event["Task Metrics"]["Executor Run Time"]
            stats[3] += event["Task Metrics"]["Executor CPU Time"]
        elif kind == "SparkListenerJobStart":
            jobs += 1
        elif kind == "SparkListenerJobEnd":
            jobs_failed += event["Job Result"]["Result"] != "JobSucceeded"
        elif kind.endswith("SparkListenerSQLExecutionStart"):
            queries += 1
    return {
        "stages": submitted,
        "per_stage": dict(per_stage),
        "jobs": jobs,
        "failed_jobs": jobs_failed,
        "queries": queries,
    }


def _reader_per_stage(log: profiler.EventLog) -> dict[tuple[int, int], list[float]]:
    result = {}
    for (stage, attempt), group in log.tasks.groupby(["stage_id", "stage_attempt"]):
        result[(int(stage), int(attempt))] = [
            len(group),
            int(group["failed"].sum() + group["killed"].sum()),
            float(group["executor_run_time"].sum()),
            float(group["executor_cpu_time"].sum()),
        ]
    return result


def test_every_layout_and_codec_was_generated(spark_eventlogs):
    combos = {(app["layout"], app["codec"]) for app in spark_eventlogs}
    assert combos == {
        (layout, codec)
        for layout in ("rolling", "single")
        for codec in ("none", "zstd", "lz4", "snappy")
    }


def test_counts_match_an_independent_scan(spark_eventlogs):
    for app in spark_eventlogs:
        log = profiler.read_eventlog(app["log"])
        raw = _raw_counts(_raw_events(app))
        label = f"{app['layout']}/{app['codec']}"
        assert log.bad_lines == 0 and log.warnings == [], label
        assert log.app_id == app["app_id"], label
        assert log.source.codec == app["codec"], label
        ran = log.stages[log.stages["status"] != "skipped"]
        assert set(zip(ran["stage_id"], ran["attempt"], strict=True)) == raw["stages"], label
        reader = _reader_per_stage(log)
        assert reader.keys() == raw["per_stage"].keys(), label
        for key, (attempts, failed, run_ms, cpu_ns) in raw["per_stage"].items():
            got = reader[key]
            assert got[:3] == [attempts, failed, float(run_ms)], (label, key)
            assert got[3] == pytest.approx(cpu_ns / 1e6), (label, key)
        assert len(log.tasks) == sum(v[0] for v in raw["per_stage"].values()), label
        assert len(log.jobs) == raw["jobs"], label
        assert int((log.jobs["status"] == "failed").sum()) == raw["failed_jobs"], label
        assert len(log.sql) == raw["queries"], label


def _shape(log: profiler.EventLog) -> list[tuple[Any, ...]]:
    """What must not depend on timing: stages, their task attempts and failures."""
    per_stage = _reader_per_stage(log)
    return [
        (
            s.stage_id,
            s.attempt,
            s.num_tasks,
            s.status,
            *per_stage.get((s.stage_id, s.attempt), [0, 0])[:2],
        )
        for s in log.stages.itertuples()
    ]


def test_same_jobs_read_the_same_in_every_layout_and_codec(spark_eventlogs):
    shapes = {
        (app["layout"], app["codec"]): _shape(profiler.read_eventlog(app["log"]))
        for app in spark_eventlogs
    }
    reference = shapes[("single", "none")]
    for combo, shape in shapes.items():
        assert shape == reference, combo


def test_the_failed_and_retried_task_and_the_failed_job(spark_eventlogs):
    log = profiler.read_eventlog(spark_eventlogs[0]["log"])
    tasks = log.tasks
    flaky = tasks[tasks["stage_id"] == 0].sort_values("task_id")
    first, retry = flaky[flaky["index"] == 0].itertuples()
    assert (first.attempt, first.status, first.end_reason) == (0, "FAILED", "ExceptionFailure")
    assert "deliberate failure on the first attempt" in first.error
    assert (retry.attempt, retry.status, retry.end_reason) == (1, "SUCCESS", "Success")
    assert log.jobs.loc[log.jobs["job_id"] == 0, "status"].item() == "succeeded"

    shuffle_job = log.jobs[log.jobs["job_id"] == 1].iloc[0]
    assert shuffle_job["stage_ids"] == [1, 2]
    assert tasks.loc[tasks["stage_id"] == 1, "shuffle_bytes_written"].sum() > 0
    written = tasks.loc[tasks["stage_id"] == 1, "shuffle_records_written"].sum()
    assert tasks.loc[tasks["stage_id"] == 2, "shuffle_records_read"].sum() == written

    failing = tasks[tasks["stage_id"] == 3]
    assert list(failing["attempt"]) == [0, 1] and failing["failed"].all()
    stage = log.stages[log.stages["stage_id"] == 3].iloc[0]
    assert stage["status"] == "failed"
    assert "deliberate failure on every attempt" in stage["failure_reason"]
    failed_job = log.jobs[log.jobs["job_id"] == 2].iloc[0]
    assert failed_job["status"] == "failed" and failed_job["failure_reason"]


def test_tables_have_documented_columns_and_types(spark_eventlogs):
    log = profiler.read_eventlog(spark_eventlogs[0]["log"])
    for table, columns in COLUMNS.items():
        assert list(getattr(log, table).columns) == list(columns), table
    assert str(log.tasks["launch_time"].dtype) == "datetime64[ns, UTC]"
    assert str(log.tasks["executor_cpu_time"].dtype) == "float64"
    app = log.app.iloc[0]
    assert app["complete"] and app["spark_version"] == log.spark_version
    assert app["start_time"] <= log.tasks["launch_time"].min()
    assert app["end_time"] >= log.tasks["finish_time"].max()
    # A unit slip (ns read as ms) would make CPU time a million times the run time.
    assert (log.tasks["executor_cpu_time"] <= log.tasks["executor_run_time"] + 50).all()
    sql = log.sql.iloc[0]
    assert sql["job_ids"] and sql["start_time"] < sql["end_time"]
    assert log.executors["executor_id"].tolist() == ["driver"]
    assert log.executors["cores"].tolist() == [2]


def _single(spark_eventlogs, codec: str) -> dict[str, Any]:
    return next(a for a in spark_eventlogs if a["layout"] == "single" and a["codec"] == codec)


def test_directory_of_apps_picks_by_app_id_or_newest(spark_eventlogs):
    singles = [a for a in spark_eventlogs if a["layout"] == "single"]
    directory = Path(singles[0]["log"]).parent
    newest = max(singles, key=lambda a: int(a["app_id"].split("-")[1]))
    assert profiler.read_eventlog(directory).app_id == newest["app_id"]
    for app in singles:
        assert profiler.read_eventlog(directory, app_id=app["app_id"]).app_id == app["app_id"]
    rolling_dir = Path(spark_eventlogs[0]["log"]).parent
    rolling_apps = [a for a in spark_eventlogs if a["layout"] == "rolling"]
    picked = profiler.read_eventlog(rolling_dir, app_id=rolling_apps[2]["app_id"])
    assert picked.source.layout == "rolling" and picked.source.codec == rolling_apps[2]["codec"]
    with pytest.raises(InputError, match="no event log for application"):
        profiler.read_eventlog(directory, app_id="local-0")
    with pytest.raises(InputError, match="holds application"):
        profiler.read_eventlog(singles[0]["log"], app_id=singles[1]["app_id"])


def test_rolling_parts_are_read_in_numeric_order(spark_eventlogs, tmp_path):
    import zstandard

    app = _single(spark_eventlogs, "none")
    lines = Path(app["log"]).read_bytes().splitlines(keepends=True)
    rolled = tmp_path / f"eventlog_v2_{app['app_id']}"
    rolled.mkdir()
    thirds = [
        lines[: len(lines) // 3],
        lines[len(lines) // 3 : 2 * len(lines) // 3],
        lines[2 * len(lines) // 3 :],
    ]
    for index, part in zip((1, 2, 10), thirds, strict=True):
        data = zstandard.ZstdCompressor().compress(b"".join(part))
        (rolled / f"events_{index}_{app['app_id']}.zstd").write_bytes(data)
    (rolled / f"appstatus_{app['app_id']}").write_bytes(b"")
    (rolled / f".appstatus_{app['app_id']}.crc").write_bytes(b"junk")
    whole = profiler.read_eventlog(app["log"])
    split = profiler.read_eventlog(rolled)
    assert split.bad_lines == 0 and len(split.source.files) == 3
    assert split.tasks.equals(whole.tasks)
    assert split.stages.equals(whole.stages)
    assert split.jobs.equals(whole.jobs)


def test_in_progress_log_cut_inside_a_line(spark_eventlogs, tmp_path):
    app = _single(spark_eventlogs, "none")
    data = Path(app["log"]).read_bytes()
    lines = data.splitlines(keepends=True)
    cut_line = next(i for i, line in enumerate(lines) if b'"SparkListenerTaskEnd"' in line)
    kept = b"".join(lines[:cut_line]) + lines[cut_line][: len(lines[cut_line]) // 2]
    path = tmp_path / f"{app['app_id']}.inprogress"
    path.write_bytes(kept)
    log = profiler.read_eventlog(path)
    assert log.bad_lines == 1
    assert log.source.in_progress and not log.app["complete"].item()
    assert (log.tasks["status"] == "RUNNING").any()
    assert log.tasks.loc[log.tasks["status"] == "RUNNING", "finish_time"].isna().all()
    assert log.jobs["status"].tolist() == ["running"]


def test_garbage_line_in_the_middle_is_counted_and_skipped(spark_eventlogs, tmp_path):
    app = _single(spark_eventlogs, "none")
    lines = Path(app["log"]).read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    garbage = [b'{"Event":"SparkListenerTaskEnd","Stage ID":\x00\xff\n', b"not json at all\n"]
    damaged = [*lines[:middle], *garbage, *lines[middle:]]
    path = tmp_path / app["app_id"]
    path.write_bytes(b"".join(damaged))
    log = profiler.read_eventlog(path)
    whole = profiler.read_eventlog(app["log"])
    assert log.bad_lines == 2
    assert log.tasks.equals(whole.tasks) and log.stages.equals(whole.stages)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "snappy"])
def test_truncated_compressed_log_keeps_what_decoded(spark_eventlogs, tmp_path, codec):
    app = _single(spark_eventlogs, codec)
    source = Path(app["log"])
    data = source.read_bytes()
    full = profiler.read_eventlog(source)
    decoded_tasks = [0]
    for fraction in (0.3, 0.6, 0.97):
        path = tmp_path / f"{fraction}-{source.name}.inprogress"
        path.write_bytes(data[: int(len(data) * fraction)])
        log = profiler.read_eventlog(path)
        assert log.bad_lines <= 1, fraction
        assert log.warnings and "cut short" in log.warnings[0], fraction
        ended = log.tasks[log.tasks["status"] != "RUNNING"]
        assert decoded_tasks[-1] <= len(ended) <= len(full.tasks), fraction
        decoded_tasks.append(len(ended))
        # What did decode is exactly the beginning of the full log.
        assert ended["task_id"].tolist() == full.tasks["task_id"].tolist()[: len(ended)]
    assert decoded_tasks[-1] > 0


def test_cli_summarizes_a_real_log(spark_eventlogs):
    from click.testing import CliRunner

    from profiler.cli import main

    app = spark_eventlogs[1]
    text = CliRunner().invoke(main, ["eventlog", app["log"]])
    assert text.exit_code == 0, text.output
    assert app["app_id"] in text.output and "Stages" in text.output
    result = CliRunner().invoke(main, ["eventlog", app["log"], "--json"])
    summary = json.loads(result.output)
    raw = _raw_counts(_raw_events(app))
    assert summary["app"]["app_id"] == app["app_id"]
    assert summary["counts"]["task_attempts"] == sum(v[0] for v in raw["per_stage"].values())
    by_stage = {(s["stage_id"], s["attempt"]): s for s in summary["stages"]}
    for key, (attempts, failed, run_ms, _) in raw["per_stage"].items():
        entry = by_stage[key]
        assert (entry["task_attempts"], entry["failed_task_attempts"]) == (attempts, failed)
        assert entry["executor_run_time_ms"] == run_ms
