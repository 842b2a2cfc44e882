"""RunWriter -> profiler.load round trips with known rows, dtypes, validation and crashes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import profiler
from profiler.rundir import TABLES, RunWriter
from profiler.rundir.histogram import histogram_matrix
from profiler.rundir.schema import HIST_BUCKETS, append_columns

REPO = Path(__file__).resolve().parents[2]


def sample_columns(table: str, rows: int, start: int = 0) -> dict[str, Any]:
    """Deterministic rows for any table: value i of a column depends on i and the column."""
    schema = TABLES[table]
    columns: dict[str, Any] = {}
    for name in append_columns(table):
        column = schema.field(name)
        index = range(start, start + rows)
        if name == "hist":
            matrix = np.zeros((rows, HIST_BUCKETS), dtype=np.uint32)
            for row, i in enumerate(index):
                matrix[row, (i % 30) + 1] = i + 1
                matrix[row, (i % 30) + 2] = 2
            columns[name] = matrix
        elif pa.types.is_integer(column.type):
            values: list[Any] = [i * 1000 + len(name) for i in index]
            if column.nullable:
                values = [None if i % 3 == 1 else v for i, v in zip(index, values, strict=True)]
            columns[name] = np.array(values) if not column.nullable else values
        elif pa.types.is_string(column.type):
            columns[name] = [None if column.nullable and i % 3 == 2 else f"{name}-{i}"
                             for i in index]
        else:  # list<string> stacks, leaf first
            columns[name] = [[f"leaf{i}", "caller", "main"][: 1 + i % 3] for i in index]
    return columns


def write_run(run_dir: Path, tables: dict[str, int], **meta: Any) -> None:
    run_dir.mkdir(exist_ok=True)
    with RunWriter(run_dir) as writer:
        for table, rows in tables.items():
            half = rows // 2
            writer.append(table, sample_columns(table, half))
            writer.flush()  # two parts per table
            writer.append(table, sample_columns(table, rows - half, start=half))
        writer.update_meta(**meta)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_round_trips_value_for_value(tmp_path: Path, table: str) -> None:
    write_run(tmp_path / "run", {table: 7})
    frame = profiler.load(tmp_path / "run").table(table)
    expected = sample_columns(table, 7)
    assert len(frame) == 7
    for name, values in expected.items():
        if name == "hist":
            assert (histogram_matrix(frame) == values).all()
            continue
        got = frame[name].tolist()
        if pa.types.is_list(TABLES[table].field(name).type):
            got = [list(stack) for stack in got]
        want = values.tolist() if isinstance(values, np.ndarray) else list(values)
        assert [None if v is pd.NA else v for v in got] == want, name
    assert sorted(os.listdir(tmp_path / "run" / table)) == ["part-00000.parquet",
                                                          "part-00001.parquet"]


def test_dtypes_follow_the_schema_for_full_and_empty_tables(tmp_path: Path) -> None:
    write_run(tmp_path / "full", dict.fromkeys(TABLES, 4))
    (tmp_path / "empty").mkdir()
    RunWriter(tmp_path / "empty").close("complete")
    full, empty = profiler.load(tmp_path / "full"), profiler.load(tmp_path / "empty")
    for table in TABLES:
        assert len(empty.table(table)) == 0
        assert list(empty.table(table).columns) == TABLES[table].names
        assert empty.table(table).dtypes.to_dict() == full.table(table).dtypes.to_dict(), table
    processes = full.processes.dtypes
    assert processes["pid"] == np.int32 and processes["start_ns"] == np.int64
    assert str(processes["exit_ns"]) == "Int64" and str(processes["exit_code"]) == "Int32"
    assert processes["comm"] == pd.StringDtype("pyarrow")
    assert isinstance(full.slow_syscalls.dtypes["user_stack"], pd.ArrowDtype)


def test_frames_can_be_modified(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with RunWriter(tmp_path / "run") as writer:  # one part: the zero-copy case
        writer.append("gc", sample_columns("gc", 2))
    gc = profiler.load(tmp_path / "run").gc
    gc.loc[0, "pid"] = 42
    gc["duration_ns"] += 1
    gc.loc[1, "pool"] = "young"
    assert gc["pid"].tolist()[0] == 42 and gc.loc[1, "pool"] == "young"


def test_last_row_per_pid_and_tid_wins(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with RunWriter(tmp_path / "run") as writer:
        first = sample_columns("processes", 2)
        writer.append("processes", first)
        writer.flush()
        update = sample_columns("processes", 1)
        update["exit_ns"], update["exit_code"] = [99_000], [3]
        writer.append("processes", update)
        threads = sample_columns("threads", 1)
        writer.append("threads", threads)
        writer.append("threads", {**threads, "name": ["Executor task launch worker-0"]})
    loaded = profiler.load(tmp_path / "run")
    assert loaded.processes["pid"].tolist() == [first["pid"][1], first["pid"][0]]
    updated = loaded.processes.set_index("pid").loc[first["pid"][0]]
    assert (updated["exit_ns"], updated["exit_code"]) == (99_000, 3)
    assert loaded.threads["name"].tolist() == ["Executor task launch worker-0"]


def test_parts_are_read_in_write_order(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with RunWriter(tmp_path / "run") as writer:
        for part in range(25):  # 25 parts each rewriting process 7: the 25th must win
            row = sample_columns("processes", 1)
            row["pid"], row["exit_code"] = [7], [part]
            writer.append("processes", row)
            writer.append("gc", {**sample_columns("gc", 1), "pid": [part]})
            writer.flush()
    loaded = profiler.load(tmp_path / "run")
    assert loaded.processes["exit_code"].tolist() == [24]
    assert loaded.gc["pid"].tolist() == list(range(25))


def test_hist_is_stored_trimmed_and_expands_back(tmp_path: Path) -> None:
    matrix = np.zeros((4, HIST_BUCKETS), dtype=np.int64)
    matrix[1, 0] = 5                      # only the first bucket
    matrix[2, 31] = 6                     # only the last bucket
    matrix[3, [10, 12]] = [7, 8]          # a gap inside stays stored as 0
    columns = sample_columns("syscalls", 4)
    columns["hist"] = matrix
    (tmp_path / "run").mkdir()
    with RunWriter(tmp_path / "run") as writer:
        writer.append("syscalls", columns)
    frame = profiler.load(tmp_path / "run").syscalls
    assert frame["hist_first_bucket"].tolist() == [0, 0, 31, 10]
    assert [list(h) for h in frame["hist"]] == [[], [5], [6], [7, 0, 8]]
    assert (histogram_matrix(frame) == matrix).all()
    assert (histogram_matrix(frame[frame["hist_first_bucket"] > 0]) == matrix[2:]).all()


@pytest.mark.parametrize(("change", "message"), [
    ({"calls": None}, "missing column(s) ['calls']"),
    ({"stack": [1]}, "extra column(s) ['stack']"),
    ({"pid": ["x", "y"]}, "column 'pid'"),
    ({"syscall": ["read", None]}, "column 'syscall': null values not allowed"),
    ({"hist": np.zeros((2, 8))}, "column 'hist'"),
    ({"tid": [1, 2, 3]}, "differ in length"),
])
def test_bad_columns_are_a_value_error_naming_the_column(tmp_path: Path, change: dict[str, Any],
                                                        message: str) -> None:
    columns = {**sample_columns("syscalls", 2), **change}
    columns = {k: v for k, v in columns.items() if v is not None}
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run")
    with pytest.raises(ValueError, match=re.escape(message)):
        writer.append("syscalls", columns)
    with pytest.raises(ValueError, match="unknown run-directory table 'nope'"):
        writer.append("nope", {})
    writer.close("complete")


def test_flush_policy_interval_and_size(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run", flush_interval_s=3600, max_buffered_rows=5)
    writer.append("gc", sample_columns("gc", 3))
    writer.maybe_flush()  # young and small: stays buffered
    assert not (tmp_path / "run" / "gc").exists()
    writer.append("gc", sample_columns("gc", 2))  # reaches max_buffered_rows: written now
    assert [p.name for p in (tmp_path / "run" / "gc").iterdir()] == ["part-00000.parquet"]
    writer.close("complete")
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["tables"] == {"gc": {"parts": 1, "rows": 5}}
    assert meta["status"] == "complete" and meta["format_version"] == 1

    (tmp_path / "run2").mkdir()
    writer = RunWriter(tmp_path / "run2", flush_interval_s=0.0)
    writer.append("gc", sample_columns("gc", 1))
    writer.maybe_flush()  # old enough at once
    assert len(list((tmp_path / "run2" / "gc").iterdir())) == 1
    writer.close("complete")


def test_update_meta_merges_top_level_keys(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run")
    writer.update_meta(host="h1", probes={"attached": ["a"]}, eventlog={"path": Path("eventlog")})
    writer.update_meta(probes={"attached": ["a", "b"], "failed": {}})
    meta = profiler.load(tmp_path / "run").meta
    assert meta["host"] == "h1" and meta["status"] == "recording"
    assert meta["probes"] == {"attached": ["a", "b"], "failed": {}}
    assert meta["eventlog"] == {"path": "eventlog"}
    writer.close("incomplete")
    assert profiler.load(tmp_path / "run").meta["status"] == "incomplete"
    writer.close("complete")  # a second close does nothing
    assert profiler.load(tmp_path / "run").meta["status"] == "incomplete"
    with pytest.raises(RuntimeError):
        writer.append("gc", sample_columns("gc", 1))


def test_kill_9_loses_only_the_unflushed_rows(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from test_rundir_roundtrip import sample_columns
        from profiler.rundir import RunWriter
        writer = RunWriter(Path({str(run_dir)!r}), flush_interval_s=3600)
        writer.append("syscalls", sample_columns("syscalls", 10))
        writer.append("gc", sample_columns("gc", 2))
        writer.flush()
        writer.append("syscalls", sample_columns("syscalls", 5, start=10))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert result.returncode == -signal.SIGKILL
    loaded = profiler.load(run_dir)
    assert len(loaded.syscalls) == 10 and len(loaded.gc) == 2
    assert loaded.meta["status"] == "recording"
    assert any("cut short" in warning for warning in loaded.warnings)


def test_a_truncated_part_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write_run(tmp_path / "run", {"gc": 6})
    part = tmp_path / "run" / "gc" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:100])  # as a crash mid-write would leave it
    (tmp_path / "run" / "gc" / ".part-00002.parquet.tmp").write_bytes(b"half")  # ignored
    loaded = profiler.load(tmp_path / "run")
    assert loaded.gc["pid"].tolist() == sample_columns("gc", 3, start=3)["pid"].tolist()
    assert len(loaded.warnings) == 1 and "gc/part-00000.parquet" in loaded.warnings[0]


def test_readable_with_plain_pyarrow_and_pandas(tmp_path: Path) -> None:
    write_run(tmp_path / "run", {"network": 6, "processes": 3})
    (tmp_path / "run" / "network" / ".part-00002.parquet.tmp").write_bytes(b"crash leftover")
    network = pq.read_table(tmp_path / "run" / "network")
    assert network.num_rows == 6 and network.schema.field("peer_class").type == pa.string()
    processes = pd.read_parquet(tmp_path / "run" / "processes")
    assert sorted(processes["pid"]) == sorted(sample_columns("processes", 3)["pid"])


def test_docs_describe_every_table_and_column() -> None:
    text = (REPO / "docs" / "format.md").read_text()
    for table, schema in TABLES.items():
        assert f"### `{table}`" in text, table
        section = text.split(f"### `{table}`", 1)[1].split("\n### ", 1)[0]
        for name in schema.names:
            assert f"| `{name}` |" in section, f"{table}.{name}"
