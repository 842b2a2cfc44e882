"""Samples of a running JVM wait for its perf map; past a limit the JVM is asked for its map
now and they are written, so the collector's memory stays bounded on long runs."""

from __future__ import annotations

import os
from typing import Any

import pytest

from profiler.capture.probes import sampling
from profiler.capture.probes.sampling import SampleCollector, _Row
from profiler.capture.symbols.perfmap import PerfMapRequest, parse_perf_map
from profiler.capture.symbols.usersyms import UserSymbols

JIT_CODE = 0x7F00_0000_1500


class FakeWriter:
    def __init__(self) -> None:
        self.stacks: list[list[str]] = []

    def append(self, table: str, columns: dict[str, Any]) -> None:
        assert table == "samples"
        self.stacks.extend(columns["user_stack"].to_pylist())


class FakeStacks:
    user_symbols = UserSymbols()


def _collector(monkeypatch: pytest.MonkeyPatch, asked: list[int],
               answers: bool) -> tuple[SampleCollector, FakeWriter]:
    monkeypatch.setattr(sampling, "_HELD_ROWS_LIMIT", 3)
    monkeypatch.setattr(sampling, "_HELD_ROWS_CAP", 6)

    def request(pid: int) -> PerfMapRequest:
        asked.append(pid)
        return PerfMapRequest(answers, 250_000_000)

    monkeypatch.setattr(sampling, "request_perf_map", request)
    monkeypatch.setattr(sampling, "read_perf_map", lambda pid, uid: parse_perf_map(
        f"{JIT_CODE - 0x500:x} a00 Foo.bar()\n") if answers else None)
    writer = FakeWriter()
    collector = SampleCollector(None, None, writer, 49, lambda pid: True,  # type: ignore[arg-type]
                                FakeStacks())  # type: ignore[arg-type]
    return collector, writer


def _hold(collector: SampleCollector, rows: int) -> None:
    for index in range(rows):  # this process stands for the running JVM
        collector._hold(_Row(index, os.getpid(), os.getpid(), 0,
                             [JIT_CODE, "main [libjli.so]"], [], 1))


def test_a_running_jvm_is_asked_for_its_map_once_enough_rows_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    collector, writer = _collector(monkeypatch, asked, answers=True)
    _hold(collector, 3)
    collector._write_held_if_many()
    assert asked == [] and writer.stacks == []  # at the limit: still waiting for the exit
    _hold(collector, 1)
    collector._write_held_if_many()
    assert asked == [os.getpid()]
    assert writer.stacks == [["Foo.bar() [jit]", "main [libjli.so]"]] * 4
    assert collector.report.live_perf_maps == 1 and collector.report.rows == 4
    assert collector.report.helper_cpu_s == 0.25  # jcmd's CPU is the sampler's cost too
    collector._write_held_if_many()
    assert asked == [os.getpid()]  # nothing waits any more


def test_a_jvm_that_cannot_be_asked_keeps_its_rows_until_the_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    collector, writer = _collector(monkeypatch, asked, answers=False)
    _hold(collector, 4)
    collector._write_held_if_many()
    assert asked == [os.getpid()] and writer.stacks == []  # kept: its exit map names them
    _hold(collector, 2)
    collector._write_held_if_many()
    assert asked == [os.getpid()] and writer.stacks == []  # not asked again
    _hold(collector, 1)
    collector._write_held_if_many()  # past the cap: written without JIT names
    assert writer.stacks == [["[unknown]", "main [libjli.so]"]] * 7
