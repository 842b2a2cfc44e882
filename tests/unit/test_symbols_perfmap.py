"""Perf-map parsing and its safety checks, and frame naming with late JIT resolution."""

from __future__ import annotations

import os
from pathlib import Path

from profiler.capture.perfmap import parse_perf_map, read_perf_map
from profiler.capture.symbols import CodeMapping, FrameNamer


def mapping(start: int, end: int) -> CodeMapping:
    return CodeMapping(start, end)


MAP_TEXT = """\
7f0000001000 40 Interpreter
7f0000002000 100 Lorg/apache/spark/Foo;::bar
bogus line
7f0000003000 0 empty
7f0000004000 20 LFoo;::baz (inlined)
"""


def test_parse_and_look_up() -> None:
    perf_map = parse_perf_map(MAP_TEXT)
    assert len(perf_map) == 3
    assert perf_map.name_of(0x7F0000001000) == "Interpreter"
    assert perf_map.name_of(0x7F000000103F) == "Interpreter"
    assert perf_map.name_of(0x7F0000001040) is None
    assert perf_map.name_of(0x7F00000020FF) == "Lorg/apache/spark/Foo;::bar"
    assert perf_map.name_of(0x7F0000004010) == "LFoo;::baz (inlined)"
    assert perf_map.name_of(0x10) is None


def test_read_checks_owner_and_refuses_symlinks(tmp_path: Path) -> None:
    path = tmp_path / "perf-4242.map"
    path.write_text(MAP_TEXT)
    uid = os.getuid()
    loaded = read_perf_map(4242, uid, str(tmp_path))
    assert loaded is not None and len(loaded) == 3
    assert read_perf_map(4242, uid + 1, str(tmp_path)) is None  # someone else's file
    assert read_perf_map(4243, uid, str(tmp_path)) is None  # absent
    target = tmp_path / "elsewhere.map"
    target.write_text(MAP_TEXT)
    (tmp_path / "perf-4244.map").symlink_to(target)
    assert read_perf_map(4244, uid, str(tmp_path)) is None
    (tmp_path / "perf-4245.map").mkdir()
    assert read_perf_map(4245, uid, str(tmp_path)) is None


def test_frames_resolve_now_or_from_the_perf_map() -> None:
    calls: list[int] = []

    def symbolize(address: int, pid: int) -> bytes:
        calls.append(address)
        table = {1: b"read [libc.so.6]", 2: b"[unknown] [libz.so.1]",
                 3: b"[unknown] [python3.11]"}
        return table.get(address, b"[unknown]")

    namer = FrameNamer(symbolize, lambda pid: [mapping(0, 0x1000)])
    frames = namer.frames(7, [1, 2, 3, 0x7F0000001010, 0x99, 0x98])
    assert frames == ["read [libc.so.6]", "[unknown] [libz.so.1]", "[python]",
                      0x7F0000001010, 0x99, 0x98]
    namer.frames(7, [1, 2])
    assert calls.count(1) == 1  # cached per (pid, address)
    assert 0x7F0000001010 not in calls  # outside every file: not asked (JIT or garbage)
    perf_map = parse_perf_map(MAP_TEXT)
    assert namer.finish(frames, perf_map) == [
        "read [libc.so.6]", "[unknown] [libz.so.1]", "[python]", "Interpreter [jit]",
        "[unknown]"]  # two unnamed addresses in a row become one frame
    assert namer.jit_resolved == 1
    assert namer.finish([0x7F0000001010], None) == ["[unknown]"]


def test_code_ranges_refresh_once_per_generation() -> None:
    loads: list[int] = []

    def ranges(pid: int) -> list[tuple[int, int]]:
        loads.append(pid)
        return ([mapping(0x1000, 0x2000)] if len(loads) < 3
                else [mapping(0x1000, 0x2000), mapping(0x5000, 0x6000)])

    namer = FrameNamer(lambda address, pid: b"f [lib.so]", ranges)
    assert namer.frames(1, [0x1800, 0x5800]) == ["f [lib.so]", 0x5800]
    assert len(loads) == 1  # first load is fresh: a miss does not reload
    namer.generation += 1
    assert namer.frames(1, [0x5900]) == [0x5900]  # reloaded once this generation
    namer.generation += 1
    assert namer.frames(1, [0x5A00]) == ["f [lib.so]"]  # mapped since

