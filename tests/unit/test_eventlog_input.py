"""The event-log reader on small hand-made logs and on bad input (no Spark needed).

The compressed files are written here in the exact stream formats Spark's codecs produce
(lz4-java LZ4BlockOutputStream, snappy-java SnappyOutputStream, zstd frames per flush).
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import cramjam
import pytest
import zstandard
from click.testing import CliRunner

import profiler
from profiler.cli import main
from profiler.errors import InputError

APP_ID = "app-20261121120000-0001"


def _task(task_id: int, stage: int, index: int, attempt: int, reason: str, **extra) -> dict:
    info = {
        "Task ID": task_id,
        "Index": index,
        "Attempt": attempt,
        "Partition ID": index,
        "Launch Time": 1_700_000_001_000 + task_id,
        "Executor ID": "1",
        "Host": "h1",
        "Locality": "PROCESS_LOCAL",
        "Speculative": False,
        "Getting Result Time": 0,
        "Finish Time": 1_700_000_002_000 + task_id,
        "Failed": reason == "ExceptionFailure",
        "Killed": reason == "TaskKilled",
        "Accumulables": [],
    }
    metrics = {
        "Executor Deserialize Time": 3,
        "Executor Deserialize CPU Time": 2_000_000,
        "Executor Run Time": 100 + task_id,
        "Executor CPU Time": 50_000_000,
        "Peak Execution Memory": 1024,
        "Result Size": 10,
        "JVM GC Time": 7,
        "Result Serialization Time": 1,
        "Memory Bytes Spilled": 0,
        "Disk Bytes Spilled": 0,
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": 1,
            "Local Blocks Fetched": 2,
            "Fetch Wait Time": 5,
            "Remote Bytes Read": 100,
            "Remote Bytes Read To Disk": 0,
            "Local Bytes Read": 50,
            "Total Records Read": 9,
        },
        "Shuffle Write Metrics": {
            "Shuffle Bytes Written": 77,
            "Shuffle Write Time": 3_500_000,
            "Shuffle Records Written": 4,
        },
        "Input Metrics": {"Bytes Read": 4096, "Records Read": 8},
        "Output Metrics": {"Bytes Written": 0, "Records Written": 0},
    }
    end_reason = {"Reason": reason}
    if reason == "ExceptionFailure":
        end_reason["Description"] = "boom"
    event = {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage,
        "Stage Attempt ID": 0,
        "Task Type": "ResultTask",
        "Task End Reason": end_reason,
        "Task Info": info,
        "Task Metrics": metrics,
    }
    event.update(extra)
    return event


def _stage_info(stage: int, **extra) -> dict:
    return {
        "Stage ID": stage,
        "Stage Attempt ID": 0,
        "Stage Name": f"stage {stage}",
        "Number of Tasks": 2,
        "Parent IDs": [],
        **extra,
    }


def synthetic_events() -> list[dict]:
    """A tiny application: one job, one stage, a failed and retried task, a running task."""
    t0 = 1_700_000_000_000
    return [
        {"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"},
        {
            "Event": "SparkListenerApplicationStart",
            "App Name": "tiny",
            "App ID": APP_ID,
            "Timestamp": t0,
            "User": "alice",
        },
        {
            "Event": "SparkListenerExecutorAdded",
            "Timestamp": t0 + 10,
            "Executor ID": "1",
            "Executor Info": {"Host": "h1", "Total Cores": 4},
        },
        {"Event": "SparkListenerBlockUpdated", "Block Updated Info": {"x": 1}},
        {
            "Event": "SparkListenerJobStart",
            "Job ID": 0,
            "Submission Time": t0 + 500,
            "Stage Infos": [_stage_info(0)],
            "Stage IDs": [0],
            "Properties": {"callSite.short": "count at tiny.py:1"},
        },
        {
            "Event": "SparkListenerStageSubmitted",
            "Stage Info": _stage_info(0, **{"Submission Time": t0 + 600}),
        },
        _task(1, 0, 0, 0, "ExceptionFailure"),
        _task(2, 0, 1, 0, "Success"),
        _task(3, 0, 0, 1, "Success"),
        {
            "Event": "SparkListenerTaskStart",
            "Stage ID": 0,
            "Stage Attempt ID": 0,
            "Task Info": {
                "Task ID": 4,
                "Index": 0,
                "Attempt": 2,
                "Launch Time": t0 + 3000,
                "Executor ID": "1",
                "Host": "h1",
                "Speculative": True,
            },
        },
        {
            "Event": "SparkListenerStageCompleted",
            "Stage Info": _stage_info(
                0, **{"Submission Time": t0 + 600, "Completion Time": t0 + 4000}
            ),
        },
        {
            "Event": "SparkListenerJobEnd",
            "Job ID": 0,
            "Completion Time": t0 + 4100,
            "Job Result": {"Result": "JobSucceeded"},
        },
        {
            "Event": "SparkListenerExecutorRemoved",
            "Timestamp": t0 + 5000,
            "Executor ID": "1",
            "Removed Reason": "idle",
        },
        {"Event": "SparkListenerApplicationEnd", "Timestamp": t0 + 6000},
    ]


def log_bytes(events: list[dict]) -> bytes:
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


def lz4_java(data: bytes, block: int = 4096, raw_every: int = 3) -> bytes:
    """lz4-java LZ4BlockOutputStream bytes; every ``raw_every``-th block stored raw."""
    out = bytearray()
    for n, start in enumerate(range(0, len(data), block)):
        chunk = data[start : start + block]
        if n % raw_every == raw_every - 1:
            token, body = 0x10, chunk
        else:
            token, body = 0x25, bytes(cramjam.lz4.compress_block(chunk, store_size=False))
        out += b"LZ4Block" + struct.pack("<Biii", token, len(body), len(chunk), 0) + body
    out += b"LZ4Block" + struct.pack("<Biii", 0x10, 0, 0, 0)  # end of stream
    return bytes(out)


def snappy_java(data: bytes, block: int = 4096) -> bytes:
    out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
    for start in range(0, len(data), block):
        body = bytes(cramjam.snappy.compress_raw(data[start : start + block]))
        out += struct.pack(">i", len(body)) + body
    return bytes(out)


def zstd_frames(data: bytes, block: int = 4096) -> bytes:
    compressor = zstandard.ZstdCompressor()
    return b"".join(compressor.compress(data[i : i + block]) for i in range(0, len(data), block))


ENCODERS = {"": lambda d: d, ".zstd": zstd_frames, ".lz4": lz4_java, ".snappy": snappy_java}


@pytest.fixture
def tiny_log(tmp_path: Path) -> Path:
    path = tmp_path / APP_ID
    path.write_bytes(log_bytes(synthetic_events()))
    return path


def test_synthetic_log_tables(tiny_log):
    log = profiler.read_eventlog(tiny_log)
    assert log.bad_lines == 0 and log.spark_version == "3.5.1"
    assert log.app_id == APP_ID and log.app["user"].item() == "alice"
    assert log.app["duration"].item() == 6000.0
    tasks = log.tasks.set_index("task_id")
    assert tasks["status"].to_dict() == {1: "FAILED", 2: "SUCCESS", 3: "SUCCESS", 4: "RUNNING"}
    assert tasks.loc[1, "error"] == "boom" and tasks.loc[2, "error"] is None
    assert tasks.loc[4, "speculative"] and tasks.loc[4, "end_reason"] is None
    assert tasks.loc[2, "executor_cpu_time"] == 50.0  # ns -> ms
    assert tasks.loc[2, "shuffle_write_time"] == 3.5
    assert tasks.loc[2, "executor_deserialize_cpu_time"] == 2.0
    assert tasks.loc[2, "shuffle_total_bytes_read"] == 150
    assert tasks.loc[2, "duration"] == 1000.0
    assert tasks.loc[4, "executor_run_time"] != tasks.loc[4, "executor_run_time"]  # NaN
    assert log.tasks["bytes_read"].isna().tolist() == [False, False, False, True]
    stage = log.stages.iloc[0]
    assert (stage["status"], stage["job_id"], stage["duration"]) == ("complete", 0, 3400.0)
    assert log.jobs.iloc[0]["name"] == "count at tiny.py:1"
    executor = log.executors.iloc[0]
    assert (executor["cores"], executor["removed_reason"]) == (4, "idle")
    assert log.event_counts["SparkListenerBlockUpdated"] == 1


@pytest.mark.parametrize("suffix", list(ENCODERS))
def test_codecs_decode_to_the_same_tables(tmp_path, suffix):
    data = log_bytes(synthetic_events())
    path = tmp_path / f"{APP_ID}{suffix}"
    path.write_bytes(ENCODERS[suffix](data))
    log = profiler.read_eventlog(path)
    plain = tmp_path / "plain" / APP_ID
    plain.parent.mkdir()
    plain.write_bytes(data)
    assert log.bad_lines == 0 and log.warnings == []
    assert log.source.uncompressed_bytes == len(data)
    assert log.tasks.equals(profiler.read_eventlog(plain).tasks)


def test_concatenated_streams_are_read_through(tmp_path):
    data = log_bytes(synthetic_events())
    half = data.index(b"\n", len(data) // 2) + 1
    for suffix in (".lz4", ".snappy", ".zstd"):
        encode = ENCODERS[suffix]
        path = tmp_path / f"{APP_ID}{suffix}"
        path.write_bytes(encode(data[:half]) + encode(data[half:]))
        log = profiler.read_eventlog(path)
        assert (len(log.tasks), log.bad_lines, log.warnings) == (4, 0, []), suffix


def test_renamed_compressed_file_is_sniffed(tmp_path):
    path = tmp_path / APP_ID  # no suffix, zstd inside
    path.write_bytes(zstd_frames(log_bytes(synthetic_events())))
    assert profiler.read_eventlog(path).source.codec == "zstd"


def test_malformed_events_are_counted_not_fatal(tmp_path):
    events = synthetic_events()
    lines = log_bytes(events).splitlines(keepends=True)
    bad_task = _task(9, 0, 1, 1, "Success")
    bad_task["Task Info"]["Task ID"] = "nine"  # wrong type
    no_info = {"Event": "SparkListenerTaskEnd", "Stage ID": 0}
    huge = _task(10, 0, 1, 2, "Success")
    huge["Task Metrics"]["Result Size"] = 2**70
    bad = [
        log_bytes([bad_task, no_info, huge]),
        b"[1, 2, 3]\n",
        b'{"no": "event"}\n',
        b"\n",
        b'{"Event":"SparkListenerExecutorMetricsUpdate","cut',
        b"\n",
        b'{"Event":"SparkListenerJobStart","Job ID":"x"}\n',
    ]
    path = tmp_path / APP_ID
    path.write_bytes(b"".join(lines[:7] + bad + lines[7:]))
    log = profiler.read_eventlog(path)
    assert log.bad_lines == 7
    assert sorted(log.tasks["task_id"]) == [1, 2, 3, 4]


@pytest.mark.parametrize("suffix", [".zstd", ".lz4", ".snappy"])
def test_damaged_compressed_streams_never_raise_unexpectedly(tmp_path, suffix):
    data = ENCODERS[suffix](log_bytes(synthetic_events()))
    rng = random.Random(7)
    for trial in range(40):
        damaged = bytearray(data)
        if trial % 2:
            del damaged[rng.randrange(1, len(damaged)) :]
        else:
            for _ in range(3):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path = tmp_path / f"{trial}{suffix}"
        path.write_bytes(bytes(damaged))
        try:
            log = profiler.read_eventlog(path)
        except InputError:
            continue
        assert len(log.tasks) <= 4


def _cli(*args: str):
    return CliRunner().invoke(main, ["eventlog", *args])


def _assert_input_error(path: Path, *extra: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        profiler.read_eventlog(path, *extra)
    result = _cli(str(path), *(("--app-id", extra[0]) if extra else ()))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("sparkprof: error:")
    assert len(result.output.strip().splitlines()) <= 2  # the error and its remedy


def test_bad_inputs_are_one_line_errors(tmp_path):
    _assert_input_error(tmp_path / "missing", match="no such file")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _assert_input_error(empty, match="not a Spark event log")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(random.Random(1).randbytes(5000))
    _assert_input_error(garbage, match="not a Spark event log")
    random_json = tmp_path / "random.json"
    random_json.write_text("\n".join(json.dumps({"k": i, "v": [i]}) for i in range(50)))
    random_json.write_text(random_json.read_text() + '\n{"Event": "MyOwnEvent"}\n')
    _assert_input_error(random_json, match="not a Spark event log")
    lzf = tmp_path / f"{APP_ID}.lzf"
    lzf.write_bytes(b"ZV\x00\x01x")
    _assert_input_error(lzf, match="unsupported event-log codec 'lzf'")
    fake_zstd = tmp_path / f"{APP_ID}.zstd"
    fake_zstd.write_bytes(b"this is not zstd")
    _assert_input_error(fake_zstd, match="not zstd data")
    cut_zstd = tmp_path / f"cut-{APP_ID}.zstd"
    cut_zstd.write_bytes(zstd_frames(b'{"Event":"SparkListenerLogStart"}\n')[:6])
    _assert_input_error(cut_zstd, match="cut short")
    empty_dir = tmp_path / "nothing-here"
    empty_dir.mkdir()
    _assert_input_error(empty_dir, match="no Spark event logs")
    junk_dir = tmp_path / "junk"
    junk_dir.mkdir()
    (junk_dir / "README.txt").write_text("hello\n")
    (junk_dir / "other.bin").write_bytes(b"\x00\x01")
    _assert_input_error(junk_dir, match="no Spark event logs|not a Spark event log")
    empty_rolling = tmp_path / f"eventlog_v2_{APP_ID}"
    empty_rolling.mkdir()
    _assert_input_error(empty_rolling, match="no events_<n>_<app> files")


def test_directory_picks_newest_application_start_and_app_id(tmp_path):
    older, newer = synthetic_events(), synthetic_events()
    newer[1] = dict(newer[1], **{"App ID": "app-2", "Timestamp": 1_800_000_000_000})
    older[1] = dict(older[1], **{"App ID": "app-1"})
    (tmp_path / "app-2").write_bytes(log_bytes(newer))
    (tmp_path / "app-1.lz4").write_bytes(lz4_java(log_bytes(older)))
    (tmp_path / "app-1.lz4").touch()  # the older app has the newer mtime: start time wins
    (tmp_path / ".app-1.lz4.crc").write_bytes(b"crc")
    (tmp_path / "notes.txt").write_text("not a log\n")
    assert profiler.read_eventlog(tmp_path).app_id == "app-2"
    assert profiler.read_eventlog(tmp_path, app_id="app-1").app_id == "app-1"
    result = _cli(str(tmp_path), "--app-id", "app-1", "--json")
    assert json.loads(result.output)["app"]["app_id"] == "app-1"


def test_rolling_directory_with_compacted_part(tmp_path):
    data = log_bytes(synthetic_events()).splitlines(keepends=True)
    rolled = tmp_path / f"eventlog_v2_{APP_ID}"
    rolled.mkdir()
    (rolled / f"events_1_{APP_ID}").write_bytes(b"garbage that compaction replaced\n")
    (rolled / f"events_2_{APP_ID}.compact").write_bytes(b"".join(data[:6]))
    (rolled / f"events_3_{APP_ID}.snappy").write_bytes(snappy_java(b"".join(data[6:])))
    (rolled / f"appstatus_{APP_ID}.inprogress").write_bytes(b"")
    log = profiler.read_eventlog(rolled)
    assert [p.name for p in log.source.files] == [
        f"events_2_{APP_ID}.compact",
        f"events_3_{APP_ID}.snappy",
    ]
    assert log.bad_lines == 0 and len(log.tasks) == 4 and log.source.in_progress


def test_cli_text_and_json(tiny_log):
    text = _cli(str(tiny_log))
    assert text.exit_code == 0, text.output
    assert "tiny" in text.output and APP_ID in text.output and "Bad lines" not in text.output
    tiny_log.write_bytes(tiny_log.read_bytes() + b'{"Event":"SparkListenerTaskEnd","cut')
    text = _cli(str(tiny_log))
    assert "Bad lines   1" in text.output
    summary = json.loads(_cli(str(tiny_log), "--json").output)
    assert list(summary) == [
        "schema",
        "source",
        "app",
        "bad_lines",
        "warnings",
        "counts",
        "jobs",
        "stages",
        "executors",
    ]
    assert summary["bad_lines"] == 1
    assert summary["counts"]["task_attempts"] == 4
    assert summary["counts"]["failed_task_attempts"] == 1
    stage = summary["stages"][0]
    assert (stage["task_attempts"], stage["failed_task_attempts"]) == (4, 1)
    assert stage["executor_run_time_ms"] == 101 + 102 + 103


def _spark_ordered_task_end() -> dict:
    event = _task(5, 0, 1, 0, "Success")
    event["Task Info"]["Accumulables"] = [
        {"ID": 1, "Name": 'tricky ]},"Task Metrics":{', "Update": 1, "Value": 2},
        {"ID": 2, "Name": "internal.metrics.executorRunTime", "Update": 105, "Value": 105},
    ]
    metrics = event.pop("Task Metrics")
    event["Task Executor Metrics"] = {"JVMHeapMemory": 5, "MinorGCCount": 1}
    event["Task Metrics"] = metrics
    return event


def test_lean_task_end_parse_drops_only_repeated_metrics():
    from profiler.eventlog.reader import _without_repeated_metrics

    spark = _spark_ordered_task_end()
    old = {k: v for k, v in spark.items() if k != "Task Executor Metrics"}
    for event in (spark, old):
        line = json.dumps(event, separators=(",", ":")).encode()
        lean = _without_repeated_metrics(line)
        assert len(lean) < len(line)
        expected = json.loads(line)
        del expected["Task Info"]["Accumulables"]
        expected.pop("Task Executor Metrics", None)
        assert json.loads(lean) == expected
    # Other key orders are left whole.
    for line in (
        json.dumps(spark, separators=(",", ":"), sort_keys=True).encode(),
        json.dumps(spark).encode(),
    ):
        assert _without_repeated_metrics(line) == line


def test_task_end_lines_in_other_key_orders_read_the_same(tmp_path):
    events = [*synthetic_events(), _spark_ordered_task_end()]
    spark_order, sorted_keys = tmp_path / "a" / APP_ID, tmp_path / "b" / APP_ID
    for path in (spark_order, sorted_keys):
        path.parent.mkdir()
    spark_order.write_bytes(log_bytes(events))
    sorted_keys.write_bytes(
        b"".join(
            json.dumps(e, separators=(",", ":"), sort_keys=True).encode() + b"\n" for e in events
        )
    )
    a, b = profiler.read_eventlog(spark_order), profiler.read_eventlog(sorted_keys)
    assert a.bad_lines == b.bad_lines == 0
    assert len(a.tasks) == 5
    assert a.tasks.sort_values("task_id", ignore_index=True).equals(
        b.tasks.sort_values("task_id", ignore_index=True)
    )


def _scramble(value, rng: random.Random):
    """``value`` with some leaves replaced by values of the wrong type."""
    if isinstance(value, dict):
        return {k: _scramble(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_scramble(v, rng) for v in value]
    if rng.random() < 0.15:
        return rng.choice([None, "text", -1, 2**65, 1.5, True, [], {}, {"a": [1]}])
    return value


def test_wrongly_typed_fields_never_escape_as_tracebacks(tmp_path):
    from profiler.eventlog.summary import render_text, summarize

    rng = random.Random(11)
    for trial in range(60):
        events = [_scramble(e, rng) for e in [*synthetic_events(), _spark_ordered_task_end()]]
        path = tmp_path / f"{trial}-{APP_ID}"
        path.write_bytes(log_bytes(events))
        try:
            log = profiler.read_eventlog(path)
        except InputError:
            continue
        summary = summarize(log)
        json.dumps(summary)
        render_text(summary)
        assert log.bad_lines <= len(events)
