"""``sources_from_profile`` on real run directories: what was captured follows meta.json's
options (an empty schema table is not "captured"), and futex rows are read alone."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import profiler
from profiler.correlate import sources_from_profile, traced
from profiler.rundir import RunWriter
from profiler.rundir.schema import HIST_BUCKETS
from tests.unit.report_runs import MONO0, MS, REAL0_MS, make_run, write_eventlog


def _set_options(run: Path, **options: object) -> None:
    meta_path = run / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["options"] = {**meta["options"], **options}
    meta_path.write_text(json.dumps(meta))


def test_traced_follows_the_options() -> None:
    options = {"syscalls": ["net", "other"], "offcpu": False, "jni": True}
    assert [traced(options, f) for f in ("net", "io", "other", "offcpu", "jni", "sample")] \
        == [True, False, True, False, True, False]
    assert traced({"syscalls": ["io"]}, "gc")  # an options object from before the key
    assert not traced({}, "gc") and not traced({}, "net")


def test_jni_is_not_captured_unless_the_options_say_so(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")  # options without "jni": never traced
    absent = profiler.load(run)
    assert absent.jni.empty  # the schema table loads, empty
    assert sources_from_profile(absent).jni is None
    assert math.isnan(absent.breakdown().loc[(0, 0), "jni"])
    assert not absent.traced_jni()
    assert "jni" not in absent.correlation().present

    _set_options(run, jni=True)  # traced, and no native method was called: 0 ms
    traced_run = profiler.load(run)
    assert traced_run.traced_jni()
    assert traced_run.breakdown().loc[(0, 0), "jni"] == 0.0


def _futex_run(path: Path) -> Path:
    path.mkdir()
    writer = RunWriter(path)
    writer.update_meta(
        clock={"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0_MS * MS},
               "end": {"monotonic_ns": MONO0 + 5000 * MS, "realtime_ns": (REAL0_MS + 5000) * MS}},
        eventlog={"path": "eventlog", "app_id": "local-42"},
        options={"syscalls": ["net", "io", "other"], "offcpu": False, "gc": False})
    writer.append("processes", {
        "pid": [100], "ppid": [1], "start_ns": [MONO0], "exit_ns": [None],
        "exit_code": [None], "comm": ["java"], "exe": [None], "cmdline": ["java SparkSubmit"],
        "role": ["driver-jvm"], "executor_id": [None], "app_id": [None]})
    writer.append("threads", {  # roles as a capture without thread roles leaves them
        "pid": [100, 100], "tid": [101, 102], "name": ["Executor task l", "GC Thread#0"],
        "role": ["other", "other"], "start_ns": [None] * 2, "end_ns": [None] * 2})
    # stage 0's task runs 1000-2000 ms: 30 ms futex of the task thread at 1200 ms, 90 ms
    # of the GC worker (background), and a 50 ms read that is no futex
    rows = [(1200, 101, "futex", 30), (1500, 102, "futex", 90), (1300, 101, "read", 50)]
    writer.append("syscalls", {
        "bucket_ns": [MONO0 + r[0] * MS for r in rows], "pid": [100] * 3,
        "tid": [r[1] for r in rows], "syscall": [r[2] for r in rows],
        "family": ["other", "other", "io"], "calls": [1] * 3, "errors": [0] * 3,
        "total_ns": [r[3] * MS for r in rows], "max_ns": [r[3] * MS for r in rows],
        "bytes": [0] * 3, "hist": np.ones((3, HIST_BUCKETS), dtype=np.int64)})
    writer.close("complete")
    write_eventlog(path / "eventlog", 1000, 5000)
    return path


def test_futex_rows_are_read_alone_and_counted_on_task_threads(tmp_path: Path) -> None:
    run = profiler.load(_futex_run(tmp_path / "run"))
    futex = run.table_rows("syscalls", ["bucket_ns", "tid", "total_ns"], ("syscall", "futex"))
    assert list(futex.columns) == ["bucket_ns", "tid", "total_ns"]
    assert futex["total_ns"].tolist() == [30 * MS, 90 * MS]
    sources = sources_from_profile(run)
    assert sources.futex_captured and sources.syscalls is not None
    assert set(sources.syscalls["syscall"]) == {"futex"}
    assert "hist" not in sources.syscalls.columns
    assert any("roles taken from the names" in note for note in sources.notes)
    result = run.correlation()
    assert "syscalls" not in run._frames  # the whole table was never read
    assert result.ms.loc[(0, 0), "futex"] == pytest.approx(30.0)
    assert result.background_ms.loc[(0, 0), "futex"] == pytest.approx(90.0)
    # the same rows when the table is already cached
    run.syscalls  # noqa: B018
    again = run.table_rows("syscalls", ["bucket_ns", "tid", "total_ns"], ("syscall", "futex"))
    assert again.equals(futex)
