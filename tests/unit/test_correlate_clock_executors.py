"""Clock anchors and pid -> executor mapping, on hand-made values with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profiler.correlate import DRIVER_PYTHON, ClockMap, executor_map
from profiler.errors import InputError

REAL0 = 1_763_700_000_000_000_000  # a UTC instant in ns
MONO0 = 5_000_000_000


def test_one_anchor_is_a_pure_offset() -> None:
    clock = ClockMap.from_anchors({"monotonic_ns": MONO0, "realtime_ns": REAL0})
    mono = np.array([MONO0, MONO0 + 1, MONO0 + 3_600_000_000_123])
    assert clock.to_utc_ns(mono).tolist() == [REAL0, REAL0 + 1, REAL0 + 3_600_000_000_123]
    assert clock.to_monotonic_ns(clock.to_utc_ns(mono)).tolist() == mono.tolist()


def test_two_anchors_absorb_drift_linearly() -> None:
    # realtime ran 1 ms fast over 10 s of monotonic time
    clock = ClockMap.from_anchors(
        {"monotonic_ns": MONO0, "realtime_ns": REAL0},
        {"monotonic_ns": MONO0 + 10_000_000_000, "realtime_ns": REAL0 + 10_001_000_000})
    assert clock.to_utc_ns([MONO0 + 5_000_000_000]).tolist() == [REAL0 + 5_000_500_000]
    assert clock.to_monotonic_ns([REAL0 + 10_001_000_000]).tolist() == [MONO0 + 10_000_000_000]


def test_datetimes_to_monotonic_marks_nat_invalid() -> None:
    clock = ClockMap(MONO0, REAL0)
    times = pd.Series([pd.Timestamp(REAL0 + 2_000_000, unit="ns", tz="UTC"), pd.NaT],
                      dtype="datetime64[ns, UTC]")
    mono, valid = clock.datetimes_to_monotonic(times)
    assert valid.tolist() == [True, False]
    assert mono[0] == MONO0 + 2_000_000


def test_to_utc_gives_tz_aware_timestamps() -> None:
    clock = ClockMap(MONO0, REAL0)
    stamps = clock.to_utc([MONO0 + 1_000_000_000])
    assert stamps[0] == pd.Timestamp(REAL0 + 1_000_000_000, unit="ns", tz="UTC")


def test_meta_without_anchors_is_an_input_error() -> None:
    with pytest.raises(InputError):
        ClockMap.from_meta({"clock": {}})
    clock = ClockMap.from_meta({"clock": {"start": {"monotonic_ns": 1, "realtime_ns": 11}}})
    assert clock.to_utc_ns([2]).tolist() == [12]


def _processes(rows: list[tuple[int, int, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["pid", "ppid", "role", "executor_id"])


def test_python_worker_inherits_executor_through_ppid_chain() -> None:
    processes = _processes([
        (100, 1, "python-driver", None),
        (200, 100, "driver-jvm", None),
        (300, 1, "executor-jvm", "7"),
        (310, 300, "pyspark-daemon", None),
        (311, 310, "python-worker", None),
        (312, 311, "other", None),  # a command a UDF started
        (210, 200, "pyspark-daemon", None),
        (211, 210, "python-worker", None),
        (120, 100, "other", None),  # a helper the Python driver started
        (900, 1, "other", None),
        (400, 1, "executor-jvm", None),
    ])
    mapped = dict(zip(executor_map(processes)["pid"], executor_map(processes)["executor_id"],
                      strict=True))
    assert mapped[300] == mapped[310] == mapped[311] == mapped[312] == "7"
    assert mapped[200] == mapped[210] == mapped[211] == "driver"
    assert mapped[100] == mapped[120] == DRIVER_PYTHON
    assert mapped[900] is None
    assert mapped[400] == "unknown-executor"


def test_executor_map_keeps_the_last_row_per_pid_and_tolerates_absence() -> None:
    processes = _processes([(5, 1, "other", None), (5, 1, "executor-jvm", "2")])
    frame = executor_map(processes)
    assert frame["executor_id"].tolist() == ["2"]
    assert executor_map(None).empty
    assert list(executor_map(None).columns) == ["pid", "executor_id", "role"]
