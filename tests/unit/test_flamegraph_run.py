"""Flame graphs from a hand-made run directory: stack building, filters, the stage window and
the ``sparkprof flamegraph`` command."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import profiler
from profiler.cli import main
from profiler.errors import InputError, UsageError
from profiler.flamegraph import (
    SAMPLES_COLUMNS,
    StackFilter,
    build_stacks,
    default_kind,
    flamegraph,
    parse_folded,
)
from profiler.rundir import RunWriter
from profiler.rundir.schema import TABLES

MONO0 = 5_000_000_000
REAL0_MS = 1_790_000_000_000
SECOND = 1_000_000_000
MS = 1_000_000
EXEC_IO = ("executor 1", "task-runner", "io", "java.lang.Thread.run [jit]",
           "LZ4_compress [liblz4.so]", "do_sys_poll_[k]", "io_schedule_[k]")
EXEC_MISSING = ("executor 1", "shuffle", "sleeping", "[missing user stack]",
                "[missing kernel stack]")
WORKER = ("python-worker", "python-main", "sleeping", "[python] [python3.11]",
          "futex_wait_[k]")
UNKNOWN = ("pid 999", "other", "preempted", "main [a.out]", "schedule_[k]")


def _eventlog(folder: Path) -> None:
    """Stage 3 ran from REAL0 + 1 s to REAL0 + 2 s; stage 4 was never submitted."""
    info = {"Stage ID": 3, "Stage Attempt ID": 0, "Stage Name": "s", "Number of Tasks": 1,
            "Parent IDs": [], "Submission Time": REAL0_MS + 1000}
    events: list[dict[str, Any]] = [
        {"Event": "SparkListenerLogStart", "Spark Version": "4.0.0"},
        {"Event": "SparkListenerApplicationStart", "App Name": "t", "App ID": "app-1",
         "Timestamp": REAL0_MS, "User": "u"},
        {"Event": "SparkListenerStageSubmitted", "Stage Info": info},
        {"Event": "SparkListenerStageCompleted",
         "Stage Info": {**info, "Completion Time": REAL0_MS + 2000}},
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": REAL0_MS,
         "Stage Infos": [{**info, "Stage ID": 4, "Submission Time": None}], "Stage IDs": [4]},
    ]
    folder.mkdir()
    (folder / "app-1").write_text("".join(json.dumps(e) + "\n" for e in events))


def _samples(run_dir: Path) -> None:
    """Plain Parquet, the way the sampling capture will write its table."""
    (run_dir / "samples").mkdir()
    rows = {"ts_ns": [MONO0 + SECOND, MONO0 + SECOND + 10, MONO0 + 3 * SECOND],
            "pid": [100, 100, 300], "tid": [101, 101, 300], "cpu": [0, 1, 0],
            "user_stack": [["hot [libfoo.so]", "java.lang.Thread.run [perf-100.map]"],
                           ["hot [libfoo.so]", "java.lang.Thread.run [perf-100.map]"], []],
            "kernel_stack": [[], [], ["page_fault"]], "count": [1, 2, 4]}
    schema = pa.schema([("ts_ns", pa.int64()), ("pid", pa.int32()), ("tid", pa.int32()),
                        ("cpu", pa.int32()), ("user_stack", pa.list_(pa.string())),
                        ("kernel_stack", pa.list_(pa.string())), ("count", pa.int64())])
    assert tuple(schema.names) == SAMPLES_COLUMNS
    pq.write_table(pa.table(rows, schema=schema), run_dir / "samples" / "part-00000.parquet")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    writer = RunWriter(path)
    writer.update_meta(clock={"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0_MS * MS},
                              "end": {"monotonic_ns": MONO0 + 10 * SECOND,
                                      "realtime_ns": (REAL0_MS + 10_000) * MS}},
                       eventlog={"path": "eventlog", "app_id": "app-1"})
    writer.append("processes", {
        "pid": [100, 200, 300], "ppid": [1, 1, 250], "start_ns": [MONO0] * 3,
        "exit_ns": [None] * 3, "exit_code": [None] * 3, "comm": ["java", "java", "python3"],
        "exe": [None] * 3, "cmdline": ["java ...", "java ...", "python3 -m pyspark.daemon"],
        "role": ["executor-jvm", "driver-jvm", "python-worker"],
        "executor_id": ["1", None, None], "app_id": [None] * 3})
    writer.append("threads", {
        "pid": [100, 100, 200, 300], "tid": [101, 102, 201, 300],
        "name": ["Executor task launch worker for task 0", "shuffle-client-1", "main",
                 "python3"],
        "role": ["task-runner", "shuffle", "other", "python-main"],
        "start_ns": [None] * 4, "end_ns": [None] * 4})
    user_io = ["LZ4_compress [liblz4.so]", "java.lang.Thread.run [perf-100.map]"]
    kernel_io = ["io_schedule", "do_sys_poll"]
    writer.append("offcpu_blocks", {
        "start_ns": [MONO0 + SECOND // 2, MONO0 + 3 * SECOND // 2, MONO0 + 3 * SECOND,
                     MONO0 + SECOND - MS, MONO0 + 5 * SECOND],
        "pid": [100, 100, 100, 300, 999], "tid": [101, 101, 102, 300, 999],
        "state": ["io", "io", "sleeping", "sleeping", "preempted"],
        "duration_ns": [2 * MS, 3 * MS, 7 * MS, 11 * MS, 1 * MS],
        "user_stack": [user_io, user_io, [], ["[python] [python3.11]"], ["main [a.out]"]],
        "kernel_stack": [kernel_io, kernel_io, [], ["futex_wait"], ["schedule"]]})
    writer.close("complete")
    _eventlog(path / "eventlog")
    return path


def folded(table: Any) -> dict[tuple[str, ...], int]:
    return dict(zip(table.stacks, table.weights, strict=True))


def test_offcpu_stacks_carry_roles_state_and_placeholders(run_dir: Path) -> None:
    stacks = build_stacks(profiler.load(run_dir), "offcpu")
    assert folded(stacks) == {EXEC_IO: 5 * MS, EXEC_MISSING: 7 * MS, WORKER: 11 * MS,
                              UNKNOWN: 1 * MS}
    assert stacks.unit == "nanoseconds" and stacks.label_depth == 3
    assert stacks.total == 24 * MS


def test_pid_and_role_filters(run_dir: Path) -> None:
    loaded = profiler.load(run_dir)
    assert set(build_stacks(loaded, "offcpu", StackFilter(pids=frozenset({300}))).stacks) == \
        {WORKER}
    by_role = build_stacks(loaded, "offcpu", StackFilter(roles=frozenset({"executor-jvm"})))
    assert set(by_role.stacks) == {EXEC_IO, EXEC_MISSING}
    both = StackFilter(roles=frozenset({"executor 1", "shuffle"}))
    assert set(build_stacks(loaded, "offcpu", both).stacks) == {EXEC_MISSING}
    with pytest.raises(UsageError, match="unknown role"):
        build_stacks(loaded, "offcpu", StackFilter(roles=frozenset({"executr-jvm"})))
    with pytest.raises(InputError, match="no offcpu stacks match"):
        build_stacks(loaded, "offcpu", StackFilter(pids=frozenset({4242})))


def test_stage_window_clips_blocks_to_the_stage(run_dir: Path) -> None:
    graph = flamegraph(profiler.load(run_dir), kind="offcpu", stage=3)
    # in [1 s, 2 s): the 3 ms block at 1.5 s and the last 10 of the 11 ms block at 0.999 s
    assert folded(graph.stacks) == {EXEC_IO: 3 * MS, WORKER: 10 * MS}
    assert "stage 3" in graph.stacks.title
    with pytest.raises(UsageError, match="no stage 7"):
        flamegraph(profiler.load(run_dir), kind="offcpu", stage=7)
    with pytest.raises(UsageError, match="never ran"):
        flamegraph(profiler.load(run_dir), kind="offcpu", stage=4)


def test_a_run_without_an_eventlog_cannot_take_a_stage(run_dir: Path) -> None:
    for part in (run_dir / "eventlog").iterdir():
        part.unlink()
    (run_dir / "eventlog").rmdir()
    with pytest.raises(InputError, match="no Spark event log"):
        flamegraph(profiler.load(run_dir), kind="offcpu", stage=3)


def test_cpu_needs_samples_and_reads_them_when_present(run_dir: Path) -> None:
    loaded = profiler.load(run_dir)
    assert default_kind(loaded) == "offcpu"
    with pytest.raises(InputError, match="no cpu samples") as caught:
        build_stacks(loaded, "cpu")
    assert caught.value.remedy == "record with --sample"
    _samples(run_dir)
    loaded = profiler.load(run_dir)
    assert default_kind(loaded) == "cpu"
    stacks = build_stacks(loaded, "cpu")
    assert folded(stacks) == {
        ("executor 1", "task-runner", "java.lang.Thread.run [jit]", "hot [libfoo.so]"): 3,
        ("python-worker", "python-main", "[missing user stack]", "page_fault_[k]"): 4}
    window = StackFilter(start_ns=MONO0 + SECOND, end_ns=MONO0 + SECOND + 5)
    assert build_stacks(loaded, "cpu", window).total == 1


def test_jni_stacks_from_a_jni_table(run_dir: Path) -> None:
    with pytest.raises(InputError, match="no JNI"):
        build_stacks(profiler.load(run_dir), "jni")
    (run_dir / "jni").mkdir()
    pq.write_table(pa.table({
        "bucket_ns": [MONO0, MONO0], "pid": [100, 100], "tid": [101, 101],
        "library": ["/tmp/libzstd-jni-1.5.7-71234567.so (deleted)"] * 2,
        "class_name": ["com.github.luben.zstd.Zstd"] * 2,
        "method": ["compressByteArray"] * 2,
        "symbol": ["Java_com_github_luben_zstd_Zstd_compressByteArray"] * 2,
        "calls": [3, 4], "total_ns": [30, 40], "max_ns": [20, 20],
        "hist_first_bucket": pa.array([3, 3], pa.int32()), "hist": [[3], [4]]},
        schema=TABLES["jni"]),
        run_dir / "jni" / "part-00000.parquet")
    stacks = build_stacks(profiler.load(run_dir), "jni")
    assert folded(stacks) == {("executor 1", "task-runner", "libzstd-jni-1.5.7-*.so",
                               "com.github.luben.zstd.Zstd", "compressByteArray"): 70}


def test_cli_writes_the_default_file_and_refuses_to_overwrite(run_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["flamegraph", str(run_dir)])
    assert result.exit_code == 0, result.output
    target = run_dir / "flamegraph-offcpu.svg"
    root = ET.fromstring(target.read_text())
    assert root.get("data-total") == str(24 * MS)
    again = runner.invoke(main, ["flamegraph", str(run_dir)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(main, ["flamegraph", str(run_dir), "--force"]).exit_code == 0
    staged = runner.invoke(main, ["flamegraph", str(run_dir), "--stage", "3",
                                  "--format", "speedscope"])
    assert staged.exit_code == 0, staged.output
    document = json.loads((run_dir / "flamegraph-offcpu-stage3.speedscope.json").read_text())
    assert sum(document["profiles"][0]["weights"]) == 13 * MS


def test_cli_prints_folded_to_stdout(run_dir: Path) -> None:
    result = CliRunner().invoke(main, ["flamegraph", str(run_dir), "--format", "folded",
                                       "-o", "-", "--role", "python-worker"])
    assert result.exit_code == 0, result.output
    assert parse_folded(result.stdout) == [(WORKER, 11 * MS)]


def test_cli_turns_bad_input_into_one_line_errors(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, message in (
        ([str(tmp_path / "absent")], "is not a directory"),
        ([str(run_dir), "--kind", "cpu"], "no cpu samples"),
        ([str(run_dir), "--stage", "x"], "not a stage id"),
        ([str(run_dir), "--pid", "12a"], "not a process id"),
        ([str(run_dir), "--role", "nope"], "unknown role"),
    ):
        result = runner.invoke(main, ["flamegraph", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
