"""Stage x category breakdown, coverage and findings on hand-made frames with known answers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from profiler.correlate import (
    CATEGORIES,
    ClockMap,
    Sources,
    compute_breakdown,
    findings,
    sources_from_profile,
)

REAL0 = 1_763_700_000_000_000_000
MONO0 = 9_000_000_000
MS = 1_000_000
BUCKET = 100 * MS
CLOCK = ClockMap(MONO0, REAL0)
PERIOD = 10 * MS  # 100 Hz sampling

PROCESSES = pd.DataFrame({
    "pid": [10, 20, 30, 31],
    "ppid": [1, 10, 1, 30],
    "role": ["python-driver", "driver-jvm", "executor-jvm", "python-worker"],
    "executor_id": [None, None, "1", None],
})
THREADS = pd.DataFrame({
    "pid": [20, 20, 30],
    "tid": [21, 22, 32],
    "name": ["Executor task launch worker for task 0", "shuffle-client-1-1",
             "Executor task launch worker for task 1"],
    "role": ["task-runner", "shuffle", "task-runner"],
})


def _utc(ms: float) -> pd.Timestamp:
    return pd.Timestamp(REAL0 + round(ms * MS), unit="ns", tz="UTC")


def _tasks(rows: list[tuple[str, int, float, float]], **metrics: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({
        "executor_id": [r[0] for r in rows],
        "stage_id": [r[1] for r in rows],
        "stage_attempt": [0] * len(rows),
        "launch_time": pd.Series([_utc(r[2]) for r in rows], dtype="datetime64[ns, UTC]"),
        "finish_time": pd.Series([_utc(r[3]) for r in rows], dtype="datetime64[ns, UTC]"),
    })
    for name, values in metrics.items():
        frame[name] = values
    return frame


def _keys(bucket_ms: float, pid: int, tid: int) -> dict[str, Any]:
    return {"bucket_ns": MONO0 + round(bucket_ms * MS), "pid": pid, "tid": tid}


def _network(rows: list[tuple[float, int, int, str, float]]) -> pd.DataFrame:
    """(bucket ms, pid, tid, peer class, recv ms)."""
    return pd.DataFrame([{**_keys(b, p, t), "peer_class": c, "send_ns": 0,
                          "recv_ns": round(ms * MS)} for b, p, t, c, ms in rows],
                        columns=["bucket_ns", "pid", "tid", "peer_class", "send_ns", "recv_ns"])


def _timed(rows: list[tuple[float, int, int, float]], **extra: str) -> pd.DataFrame:
    """(bucket ms, pid, tid, total ms) rows of file_io / offcpu / syscalls / jni."""
    return pd.DataFrame([{**_keys(b, p, t), **extra, "total_ns": round(ms * MS)}
                         for b, p, t, ms in rows],
                        columns=["bucket_ns", "pid", "tid", *extra, "total_ns"])


def _samples(rows: list[tuple[float, int, int, int, bool]]) -> pd.DataFrame:
    """(ts ms, pid, tid, count, in kernel)."""
    return pd.DataFrame({
        "ts_ns": [MONO0 + round(r[0] * MS) for r in rows],
        "pid": [r[1] for r in rows], "tid": [r[2] for r in rows],
        "count": [r[3] for r in rows],
        "user_stack": [["main"] for _ in rows],
        "kernel_stack": [["do_syscall_64"] if r[4] else [] for r in rows],
    })


EMPTY_GC = pd.DataFrame(columns=["pid", "tid", "start_ns", "end_ns", "duration_ns", "kind"])


def _sources(tasks: pd.DataFrame, **tables: Any) -> Sources:
    return Sources(tasks=tasks, clock=CLOCK, bucket_ns=BUCKET, processes=PROCESSES,
                   threads=THREADS, **tables)


def test_each_nanosecond_lands_in_one_category() -> None:
    # bucket 0: a 60 ms recv from the Python worker inside 70 ms off-CPU -> 10 ms other
    # off-CPU; bucket 1: 40 ms futex with only 20 ms off-CPU -> 20 ms of the wait was on-CPU,
    # taken from kernel samples first (10 -> 0 ms), then JVM samples (40 -> 30 ms).
    sources = _sources(
        _tasks([("driver", 1, 0, 200)]),
        network=_network([(0, 20, 21, "python-worker", 60)]),
        file_io=_timed([]),
        syscalls=_timed([(100, 20, 21, 40), (100, 20, 21, 500)], syscall="futex")
        .assign(syscall=["futex", "epoll_wait"]),
        futex_captured=True,
        offcpu=_timed([(0, 20, 21, 70), (100, 20, 21, 20)]),
        samples=_samples([(10, 20, 21, 2, True), (20, 20, 21, 1, False),
                          (150, 20, 21, 4, False), (160, 20, 21, 1, True)]),
        sample_period_ns=PERIOD,
        gc=EMPTY_GC,
    )
    result = compute_breakdown(sources)
    row = result.ms.loc[(1, 0)]
    expected = {"net_python_worker": 60, "futex": 40, "offcpu_other": 10, "cpu_kernel": 20,
                "cpu_jvm": 40, "cpu_python": 0, "file_io": 0, "gc": 0, "net_shuffle": 0}
    assert {k: round(float(row[k]), 6) for k in expected} == expected
    assert math.isnan(row["jni"])
    assert row["task_time_ms"] == 200
    assert row["explained_ms"] == pytest.approx(170)
    assert row["unexplained"] == pytest.approx(30)
    assert row["explained_pct"] == pytest.approx(85)
    assert not row["overcommitted"]


def test_gc_pause_is_attributed_to_every_active_stage_by_active_tasks() -> None:
    tasks = _tasks([("driver", 1, 0, 100), ("driver", 1, 0, 100), ("driver", 2, 0, 100)],
                   jvm_gc_time=[10.0, 5.0, 20.0])
    gc = pd.DataFrame({"pid": [20, 20], "tid": [5, 5],
                       "start_ns": [MONO0 + 40 * MS] * 2, "end_ns": [MONO0 + 60 * MS] * 2,
                       "duration_ns": [20 * MS] * 2, "kind": ["gc", "mem_pool"]})
    result = compute_breakdown(_sources(tasks, gc=gc))
    assert result.ms["gc"].to_dict() == {(1, 0): 40.0, (2, 0): 20.0}
    assert result.spark["spark_jvm_gc_time"].to_dict() == {(1, 0): 15.0, (2, 0): 20.0}
    assert result.spark["diff_jvm_gc_time"].to_dict() == {(1, 0): 25.0, (2, 0): 0.0}


def test_gc_claims_the_off_cpu_time_of_the_threads_it_stopped() -> None:
    gc = pd.DataFrame({"pid": [20], "tid": [5], "start_ns": [MONO0 + 10 * MS],
                       "end_ns": [MONO0 + 40 * MS], "duration_ns": [30 * MS], "kind": ["gc"]})
    sources = _sources(_tasks([("driver", 1, 0, 100)]), gc=gc,
                       offcpu=_timed([(0, 20, 21, 50)]))
    row = compute_breakdown(sources).ms.loc[(1, 0)]
    assert (row["gc"], row["offcpu_other"]) == (30.0, 20.0)


def test_categories_are_scaled_to_task_time_when_overcommitted() -> None:
    # The JVM task thread waits 100 ms on the worker socket while the worker computes 100 ms:
    # the same 100 ms of task time seen from two threads.
    sources = _sources(
        _tasks([("1", 1, 0, 100)]),
        network=_network([(0, 30, 32, "python-worker", 100)]),
        samples=_samples([(5 + 10 * i, 31, 31, 1, False) for i in range(10)]),
        sample_period_ns=PERIOD,
    )
    row = compute_breakdown(sources).ms.loc[(1, 0)]
    assert row["overcommitted"]
    assert row["scale"] == pytest.approx(0.5)
    assert (row["cpu_python"], row["net_python_worker"]) == (50.0, 50.0)
    assert row["unexplained"] == 0.0
    assert row[list(CATEGORIES)].sum() == pytest.approx(row["task_time_ms"])


def test_categories_never_exceed_task_time_and_unexplained_is_never_negative() -> None:
    rng = np.random.default_rng(3)
    tasks = _tasks([("1", int(s), float(a), float(a + d)) for s, a, d in
                    zip(rng.integers(0, 4, 12), rng.uniform(0, 900, 12),
                        rng.uniform(1, 300, 12), strict=True)])
    # the executor's task thread, its Python worker (both task time: they overcommit) and a
    # thread of the driver (no task there)
    buckets = [(float(b), p, t) for b in range(0, 1300, 100)
               for p, t in ((30, 32), (31, 31), (20, 22))]
    sources = _sources(
        tasks,
        network=_network([(b, p, t, "shuffle", float(rng.uniform(0, 250)))
                          for b, p, t in buckets]),
        offcpu=_timed([(b, p, t, float(rng.uniform(0, 100))) for b, p, t in buckets]),
        file_io=_timed([(b, p, t, float(rng.uniform(0, 80))) for b, p, t in buckets]),
    )
    ms = compute_breakdown(sources).ms
    explained = ms[list(CATEGORIES)].sum(axis=1)
    assert (explained <= ms["task_time_ms"] * (1 + 1e-9)).all()
    assert (ms["unexplained"] >= 0).all()
    assert np.allclose(explained + ms["unexplained"], ms["task_time_ms"])
    assert ms["overcommitted"].any()  # the random load really hits the cap


def test_missing_tables_give_absent_categories_not_zeros() -> None:
    tasks = _tasks([("driver", 1, 0, 100)])
    bare = compute_breakdown(Sources(tasks=tasks, clock=CLOCK, bucket_ns=BUCKET)).ms.loc[(1, 0)]
    assert all(math.isnan(bare[c]) for c in CATEGORIES)
    assert (bare["explained_ms"], bare["unexplained"]) == (0.0, 100.0)
    captured_empty = compute_breakdown(_sources(
        tasks, network=_network([]), offcpu=_timed([]), gc=EMPTY_GC)).ms.loc[(1, 0)]
    assert captured_empty["net_shuffle"] == 0.0 and captured_empty["gc"] == 0.0
    assert captured_empty["offcpu_other"] == 0.0
    assert math.isnan(captured_empty["futex"]) and math.isnan(captured_empty["cpu_jvm"])
    no_period = compute_breakdown(_sources(tasks, samples=_samples([(5, 20, 21, 1, False)])))
    assert math.isnan(no_period.ms.loc[(1, 0), "cpu_jvm"])  # samples without a period


def test_an_empty_run_gives_an_empty_breakdown() -> None:
    result = compute_breakdown(Sources(tasks=pd.DataFrame(), clock=CLOCK))
    assert result.ms.empty and result.table().empty and result.coverage().empty
    assert list(result.table().columns) == [*CATEGORIES, "unexplained"]
    assert findings(result) == []
    with_rows = compute_breakdown(_sources(_tasks([]), network=_network(
        [(0, 20, 21, "shuffle", 5)]), gc=EMPTY_GC, offcpu=_timed([])))
    assert with_rows.ms.empty


def test_background_threads_are_kept_out_of_task_time() -> None:
    sources = _sources(_tasks([("driver", 1, 0, 100)]),
                       network=_network([(0, 20, 22, "shuffle", 80),
                                         (0, 20, 21, "shuffle", 5)]))
    result = compute_breakdown(sources)
    assert result.ms.loc[(1, 0), "net_shuffle"] == 5.0
    assert result.background_ms.loc[(1, 0), "net_shuffle"] == 80.0


def test_findings_rank_by_time_phrase_the_stage_and_skip_tiny_pieces() -> None:
    worker = [(float(b), 20, 21, "python-worker", 100.0) for b in range(0, 1200, 100)]
    sources = _sources(
        _tasks([("driver", 3, 0, 2927), ("driver", 4, 3000, 3500)]),
        network=_network([*worker, (3000, 20, 21, "shuffle", 60.0)]),
        file_io=_timed([(1300, 20, 21, 5), (3100, 20, 21, 2)]),  # 5 ms and 2 ms: too small
    )
    found = findings(compute_breakdown(sources), top=5)
    assert [f.text for f in found] == [
        "stage 3: 41% of task time waiting on the Python worker socket (1.2 s)",
        "stage 4: 12% of task time in shuffle network calls (60 ms)",
    ]
    assert (found[0].stage_id, found[0].attempt, found[0].category) == (3, 0,
                                                                        "net_python_worker")
    assert found[0].pct_of_task_time == pytest.approx(41.0, abs=0.01)
    assert len(findings(compute_breakdown(sources), top=1)) == 1


class _FakeProfile:
    def __init__(self, meta: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
        self.meta = meta
        self._tables = tables
        self.eventlog = type("Log", (), {"tasks": _tasks([("driver", 1, 0, 100)])})()

    def table(self, name: str) -> pd.DataFrame:
        return self._tables[name]  # KeyError: a table this format does not have

    def table_rows(self, name: str, columns: list[str],
                   equals: tuple[str, str] | None = None) -> pd.DataFrame:
        return self._tables[name]


def test_sources_from_profile_follow_the_options_in_meta() -> None:
    tables = {name: pd.DataFrame() for name in
              ("processes", "threads", "syscalls", "network", "file_io", "offcpu", "gc")}
    meta = {"clock": {"start": {"monotonic_ns": MONO0, "realtime_ns": REAL0},
                      "end": {"monotonic_ns": MONO0 + 10**9, "realtime_ns": REAL0 + 10**9}},
            "bucket_ns": BUCKET,
            "options": {"syscalls": ["io", "net"], "offcpu": False, "gc": True,
                        "sample_hz": 99}}
    sources = sources_from_profile(_FakeProfile(meta, tables))
    assert sources.offcpu is None and sources.samples is None and sources.jni is None
    assert sources.gc is not None and sources.network is not None
    assert not sources.futex_captured
    assert sources.sample_period_ns == round(1e9 / 99)
    assert sources.run_end_ns == MONO0 + 10**9
    assert len(sources.tasks) == 1


def test_top_jni_methods_sum_per_method_and_say_calls() -> None:
    from profiler.correlate.findings import top_jni_methods

    jni = pd.DataFrame({
        "pid": [20, 20, 20], "tid": [21, 21, 22], "bucket_ns": [0, BUCKET, 0],
        "library": ["liblz4-java.so"] * 2 + ["libzstd-jni.so"],
        "class_name": ["net/jpountz/lz4/LZ4JNI"] * 2 + ["com.github.luben.zstd.Zstd"],
        "method": ["LZ4_compress_limitedOutput"] * 2 + ["decompress"],
        "calls": [40_000, 8_000, 12], "total_ns": [1_500 * MS, 600 * MS, 30 * MS]})
    top = top_jni_methods(jni)
    assert top["text"].tolist() == ["LZ4JNI.LZ4_compress_limitedOutput 2.1 s over 48k calls",
                                    "Zstd.decompress 30 ms over 12 calls"]
    assert math.isnan(top["task_ms"].iloc[0])  # threads not given
    on_tasks = top_jni_methods(jni, task_tids={22})  # only thread 22 ran tasks
    assert on_tasks["task_ms"].tolist() == [0.0, 30.0]
    assert top_jni_methods(None).empty


def test_a_jvm_without_known_task_threads_is_noted() -> None:
    tasks = _tasks([("driver", 1, 0, 100), ("1", 2, 0, 100)])
    assert compute_breakdown(_sources(tasks)).notes == []
    no_runner = THREADS[THREADS["pid"] != 30]
    notes = compute_breakdown(Sources(tasks=tasks, clock=CLOCK, processes=PROCESSES,
                                      threads=no_runner)).notes
    assert len(notes) == 1 and "executor(s) 1:" in notes[0]
