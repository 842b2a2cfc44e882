"""Perf-map parsing and its safety checks, and frame naming with late JIT resolution."""

from __future__ import annotations

import os
from pathlib import Path

from profiler.capture.perfmap import parse_perf_map, read_perf_map
from profiler.capture.symbols import FrameNamer

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

    namer = FrameNamer(symbolize)
    frames = namer.frames(7, [1, 2, 3, 0x7F0000001010, 0x99, 0x98])
    assert frames == ["read [libc.so.6]", "[unknown] [libz.so.1]", "[python]",
                      0x7F0000001010, 0x99, 0x98]
    namer.frames(7, [1, 2, 0x7F0000001010])
    assert calls.count(1) == 1  # cached per (pid, address)
    assert calls.count(0x7F0000001010) == 1  # outside every file: kept for the perf map
    perf_map = parse_perf_map(MAP_TEXT)
    assert namer.finish(frames, perf_map) == [
        "read [libc.so.6]", "[unknown] [libz.so.1]", "[python]", "Interpreter [jit]",
        "[unknown]"]  # two unnamed addresses in a row become one frame
    assert namer.jit_resolved == 1
    assert namer.finish([0x7F0000001010], None) == ["[unknown]"]
