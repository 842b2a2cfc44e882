"""profiler.load and Profile: input errors, laziness, clock maths, warnings, event log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import profiler
import profiler.eventlog
from profiler.errors import InputError
from profiler.rundir import RunWriter, reader

MONO0 = 5_000_000_000
REAL0 = 1_790_000_000_123_456_789  # 2026-09-21 in ns since the epoch
TEN_S = 10_000_000_000


def run_dir_with(tmp_path: Path, **meta: Any) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    writer = RunWriter(run_dir)
    writer.update_meta(**meta)
    writer.close(meta.get("status", "complete"))
    return run_dir


def test_missing_meta_is_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a sparkprof run directory"):
        profiler.load(tmp_path)
    with pytest.raises(InputError, match="is not a directory"):
        profiler.load(tmp_path / "absent")
    (tmp_path / "meta.json").write_text('{"status": "complete"}')
    with pytest.raises(InputError, match="not a sparkprof run directory"):
        profiler.load(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        profiler.load(tmp_path)


def test_a_newer_format_asks_for_an_upgrade(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text(json.dumps({"format_version": 2}))
    with pytest.raises(InputError) as caught:
        profiler.load(tmp_path)
    assert caught.value.remedy == "upgrade sparkprof"


def test_tables_are_read_lazily_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = run_dir_with(tmp_path)
    calls: list[str] = []
    real_read = reader.read_table

    def counting_read(path: Path, table: str) -> reader.TableRead:
        calls.append(table)
        return real_read(path, table)

    monkeypatch.setattr("profiler.profile.read_table", counting_read)
    loaded = profiler.load(run_dir)
    assert calls == []
    assert loaded.gc is loaded.gc
    assert calls == ["gc"]
    with pytest.raises(KeyError, match="no table 'nope'"):
        loaded.table("nope")


def test_to_utc_is_linear_between_the_anchors(tmp_path: Path) -> None:
    # realtime ran 1 ms fast over 10 s of monotonic time (100 ppm)
    clock = {"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0},
             "end": {"monotonic_ns": MONO0 + TEN_S, "realtime_ns": REAL0 + TEN_S + 1_000_000}}
    loaded = profiler.load(run_dir_with(tmp_path, clock=clock))
    expected_mid = pd.Timestamp(REAL0 + TEN_S // 2 + 500_000, unit="ns", tz="UTC")
    assert loaded.to_utc(MONO0 + TEN_S // 2) == expected_mid
    series = pd.Series([MONO0, MONO0 + TEN_S, None, MONO0 - TEN_S], dtype="Int64", name="t")
    converted = loaded.to_utc(series)
    assert converted.name == "t" and str(converted.dtype) == "datetime64[ns, UTC]"
    assert converted[0] == pd.Timestamp(REAL0, unit="ns", tz="UTC")
    assert converted[1] == pd.Timestamp(REAL0 + TEN_S + 1_000_000, unit="ns", tz="UTC")
    assert converted[2] is pd.NaT
    assert converted[3] == pd.Timestamp(REAL0 - TEN_S - 1_000_000, unit="ns", tz="UTC")
    plain = loaded.to_utc(pd.Series([MONO0 + 1], index=[7]))
    assert plain.index.tolist() == [7] and plain[7].value == REAL0 + 1


def test_to_utc_with_only_the_start_anchor_is_an_offset(tmp_path: Path) -> None:
    clock = {"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0}}
    loaded = profiler.load(run_dir_with(tmp_path, clock=clock))
    assert loaded.to_utc(MONO0 + 123).value == REAL0 + 123


def test_to_utc_without_anchors_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no clock anchors"):
        profiler.load(run_dir_with(tmp_path)).to_utc(MONO0)


@pytest.mark.parametrize(("meta", "expected"), [
    ({"status": "complete"}, []),
    ({"status": "incomplete"}, ["the run is incomplete"]),
    ({"status": "complete", "lost_events": {"events": 0, "slow": 7, "blocks": 3}},
     ["10 events were lost (blocks: 3, slow: 7)"]),
    ({"status": "complete", "probes": {"attached": ["sched"], "failed": {"jvm": "no USDT"}}},
     ["probes that failed to attach: jvm (no USDT)"]),
])
def test_warnings(tmp_path: Path, meta: dict[str, Any], expected: list[str]) -> None:
    warnings = profiler.load(run_dir_with(tmp_path, **meta)).warnings
    assert len(warnings) == len(expected)
    for warning, start in zip(warnings, expected, strict=True):
        assert warning.startswith(start)


def test_a_run_still_recording_warns_but_loads(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    RunWriter(tmp_path / "run")  # never closed
    loaded = profiler.load(tmp_path / "run")
    assert loaded.warnings[0].startswith("the run was cut short")
    assert len(loaded.syscalls) == 0


def test_summary_and_repr(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with RunWriter(run_dir) as writer:
        writer.append("gc", {"pid": [1, 2], "tid": [1, 2], "start_ns": [0, 5], "end_ns": [1, 9],
                             "duration_ns": [1, 4], "kind": ["gc", "gc"], "pool": [None, "old"]})
        writer.update_meta(argv=["sparkprof", "record", "--", "python", "app.py"],
                           command=["python", "app.py"], host="box",
                           kernel={"release": "6.8.0"}, lost_events={"events": 2},
                           clock={"start": {"monotonic_ns": 0, "realtime_ns": REAL0},
                                  "end": {"monotonic_ns": 2_500_000_000,
                                          "realtime_ns": REAL0 + 2_500_000_000}})
    loaded = profiler.load(run_dir)
    assert "gc=2" in repr(loaded) and "syscalls=0" in repr(loaded)
    summary = loaded.summary()
    assert "command: python app.py" in summary and "kernel: 6.8.0" in summary
    assert "duration: 2.5 s" in summary and "gc 2" in summary
    assert "warning: 2 events were lost" in summary


def test_no_event_log_is_none(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path)
    (run_dir / "eventlog").mkdir()  # Spark never wrote into it
    assert profiler.load(run_dir).eventlog is None


def test_event_log_is_read_on_access_with_the_recorded_app_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = run_dir_with(tmp_path, eventlog={"path": "eventlog", "app_id": "app-1"})
    (run_dir / "eventlog").mkdir()
    (run_dir / "eventlog" / "app-1").write_text("{}\n")
    calls: list[tuple[Path, str | None]] = []

    sentinel: Any = object()

    def fake_read(path: Path, app_id: str | None = None) -> Any:
        calls.append((path, app_id))
        return sentinel

    monkeypatch.setattr(profiler.eventlog, "read_eventlog", fake_read)
    loaded = profiler.load(run_dir)
    assert calls == []
    assert loaded.eventlog is sentinel and loaded.eventlog is sentinel
    assert calls == [(run_dir / "eventlog", "app-1")]


def test_an_unreadable_event_log_fails_only_when_accessed(tmp_path: Path) -> None:
    outside = tmp_path / "spark-events"
    outside.mkdir()
    (outside / "app-2").write_text("this is not an event log\n")
    run_dir = run_dir_with(tmp_path, eventlog={"path": str(outside / "app-2"), "app_id": "app-2"})
    loaded = profiler.load(run_dir)
    assert loaded.eventlog_path() == outside / "app-2"
    with pytest.raises(InputError):
        _ = loaded.eventlog
    with pytest.raises(InputError):  # raised again, not swallowed after the first time
        _ = loaded.eventlog
