"""Perf-map parsing and its safety checks, and frame naming with late JIT resolution."""

from __future__ import annotations

import os
from pathlib import Path

from profiler.capture.symbols.frames import FrameNamer, waiting_addresses
from profiler.capture.symbols.perfmap import parse_perf_map, read_perf_map

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
    jit_names = perf_map.jit_names(waiting_addresses([frames]))
    assert jit_names == {0x7F0000001010: "Interpreter [jit]"}
    assert namer.finish(frames, jit_names) == [
        "read [libc.so.6]", "[unknown] [libz.so.1]", "[python]", "Interpreter [jit]",
        "[unknown]"]  # two unnamed addresses in a row become one frame
    assert namer.jit_resolved == 1
    assert namer.finish([0x7F0000001010], {}) == ["[unknown]"]
    assert namer.unresolved == 4  # libz's unnamed frame, 0x99 and 0x98, the last address


def test_addresses_learned_in_bulk_give_the_same_frames() -> None:
    table = {1: b"read [libc.so.6]", 2: b"[unknown] [libz.so.1]",
             3: b"[unknown] [python3.11]"}
    single: list[int] = []
    batches: list[list[int]] = []

    def symbolize(address: int, pid: int) -> bytes:
        single.append(address)
        return table.get(address, b"[unknown]")

    def symbolize_many(pid: int, addresses: list[int]) -> list[bytes]:
        batches.append(list(addresses))
        return [table.get(address, b"[unknown]") for address in addresses]

    stacks = [[1, 2, 3, 0x7F0000001010], [0x99, 1, 0x98]]
    expected = [FrameNamer(symbolize).frames(7, stack) for stack in stacks]
    single.clear()
    namer = FrameNamer(symbolize, symbolize_many=symbolize_many)
    namer.learn(7, [address for stack in stacks for address in stack])
    namer.learn(7, [1, 0x99, 4])  # only the new address is named
    assert [namer.frames(7, stack) for stack in stacks] == expected
    assert single == [] and sorted(map(sorted, batches)) == [[1, 2, 3, 0x98, 0x99,
                                                               0x7F0000001010], [4]]
    assert namer.finish(expected[1], {}) == ["[unknown]", "read [libc.so.6]", "[unknown]"]


def test_hotspot_fixed_width_lines_and_other_lines_mix() -> None:
    text = (b"0x00007f0000001000 0x0000000000000040 Interpreter\n"
            b"7f0000002000 100 py::main (app.py:1)\n"
            b"0x00007F0000003000 0x0000000000000010 LFoo;::upper hex\n"
            b"0x00007f000000400g 0x0000000000000010 not hexadecimal\n"
            b"0x00007f0000001000 0x0000000000000020 Replaced at the same start\r\n"
            b"0x00007f0000005000 0x0000000000000000 empty\n"
            b"7f0000006000 8 no newline at the end")
    perf_map = parse_perf_map(text)
    assert perf_map.starts == [0x7F0000001000, 0x7F0000002000, 0x7F0000003000,
                               0x7F0000006000]
    assert perf_map.name_of(0x7F000000101F) == "Replaced at the same start"
    assert perf_map.name_of(0x7F0000001020) is None  # the later, shorter range wins
    assert perf_map.name_of(0x7F0000002080) == "py::main (app.py:1)"
    assert perf_map.name_of(0x7F000000300F) == "LFoo;::upper hex"
    assert perf_map.name_of(0x7F0000006007) == "no newline at the end"
    assert len(parse_perf_map(b"")) == len(parse_perf_map(b"\n\n")) == 0
    wraps = b"0xffffffffffffff00 0x0000000000000200 past the end of the address space\n"
    assert len(parse_perf_map(wraps)) == 0


def test_a_later_line_wins_where_code_was_replaced() -> None:
    perf_map = parse_perf_map(b"7f00 10 old\n7f00 20 new \n7f40 8 \xff\n")
    assert perf_map.name_of(0x7F18) == "new"
    assert perf_map.name_of(0x7F40) == "\ufffd"  # undecodable bytes do not stop the read
    assert perf_map.jit_names([0x7F18, 0x7F18, 0x7F30]) == {0x7F18: "new [jit]"}
