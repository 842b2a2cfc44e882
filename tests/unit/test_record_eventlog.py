"""Finding the run's Spark event log."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from profiler.record.eventlog_locate import (
    app_id_from_log_name,
    eventlog_dirs_in_cmdline,
    local_log_dir,
    newest_log,
)


@pytest.mark.parametrize(
    ("name", "app_id"),
    [("eventlog_v2_local-1795264232131", "local-1795264232131"),
     ("app-20261121122800-0001", "app-20261121122800-0001"),
     ("app-20261121122800-0001.lz4.inprogress", "app-20261121122800-0001"),
     ("local-17.zstd", "local-17"),
     ("application_1_0001_1.snappy", "application_1_0001_1")],
)
def test_app_id_from_log_name(name: str, app_id: str) -> None:
    assert app_id_from_log_name(name) == app_id


def test_local_log_dir() -> None:
    assert local_log_dir("file:/tmp/spark-events") == Path("/tmp/spark-events")
    assert local_log_dir("file:///var/log/spark") == Path("/var/log/spark")
    assert local_log_dir("/x/y") == Path("/x/y")
    assert local_log_dir("hdfs://nn:8020/logs") is None


def test_eventlog_dirs_in_cmdline() -> None:
    cmdline = ["java", "-Dspark.eventLog.dir=/a", "Main", "--conf", "spark.eventLog.dir=/b"]
    assert eventlog_dirs_in_cmdline(cmdline) == ["/a", "/b"]


def test_newest_log_written_since(tmp_path: Path) -> None:
    now = time.time()
    old = tmp_path / "local-1"
    old.write_text("x")
    os.utime(old, (now - 600, now - 600))
    rolling = tmp_path / "eventlog_v2_local-2"
    rolling.mkdir()
    part = rolling / "events_1_local-2"
    part.write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "link").symlink_to(part)
    assert newest_log(tmp_path, now - 60) == rolling
    assert newest_log(tmp_path, now + 600) is None
    assert newest_log(tmp_path / "missing", 0) is None
    newer = tmp_path / "app-3"
    newer.write_text("x")
    os.utime(newer, (now + 5, now + 5))
    assert newest_log(tmp_path, now - 60) == newer
