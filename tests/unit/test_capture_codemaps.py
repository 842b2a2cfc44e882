"""CodeMaps: addresses to (file, offset), so symbol names are shared across processes."""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from profiler.capture.symbols.codemaps import CodeMaps, _ProcessMaps, parse_code_maps

MAPS = """\
55d0a0000000-55d0a0001000 r--p 00000000 08:01 1234 /usr/bin/python3.11
55d0a0001000-55d0a0300000 r-xp 00001000 08:01 1234 /usr/bin/python3.11
7f0000000000-7f0000100000 rwxp 00000000 00:00 0
7f1000000000-7f1000200000 r-xp 00028000 08:01 99 /usr/lib/libc.so.6 (deleted)
"""


def test_only_executable_file_mappings_are_kept_with_their_offsets() -> None:
    found, ranges = parse_code_maps(MAPS)
    assert len(ranges) == 4  # every mapping's range: an address in none may be new code
    assert [(m.start, m.offset) for m in found] == [(0x55D0A0001000, 0x1000),
                                                     (0x7F1000000000, 0x28000)]
    assert found[0].file == "08:01:1234:/usr/bin/python3.11"
    # the path alone: symbols of an exited process are loaded from it
    assert [m.path for m in found] == ["/usr/bin/python3.11", "/usr/lib/libc.so.6 (deleted)"]


def test_a_forked_child_maps_a_library_function_to_the_same_file_offset() -> None:
    address = ctypes.cast(ctypes.CDLL(None).getpid, ctypes.c_void_p).value
    assert address is not None
    maps = CodeMaps()
    mine = maps.locate(os.getpid(), address)
    assert mine is not None and "libc" in mine[0]
    child = os.fork()
    if child == 0:
        os._exit(0 if CodeMaps().locate(os.getpid(), address) == mine else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert maps.locate(os.getpid(), 16) is None  # nothing is mapped at address 16


class _CountingMaps(CodeMaps):
    """Maps of every pid read from a fixed text, counting the reads."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.reads = 0

    def _read(self, pid: int) -> _ProcessMaps:
        self.reads += 1
        maps = _ProcessMaps.from_text(self.text, time.monotonic())
        self._pids[pid] = maps
        return maps

    def age(self, pid: int) -> None:
        """As if the last read of ``pid`` were a minute old (re-reads wait a second)."""
        self._pids[pid].read_at -= 60


# a JVM's code cache: committed and executable at the front, reserved (---p) behind
CODE_CACHE = MAPS + "7f0000100000-7f0000800000 ---p 00000000 00:00 0\n"


def test_an_address_inside_a_known_range_of_no_file_is_no_reason_to_reread() -> None:
    maps = _CountingMaps(CODE_CACHE)
    assert maps.mapping(1, 0x7F0000000800) is None  # first look reads the maps
    maps.age(1)
    assert maps.mapping(1, 0x7F0000000900) is None  # JIT code
    assert maps.mapping(1, 0x7F0000400000) is None  # the code cache has grown into it since
    assert maps.mapping(1, 0x55D0A0000010) is None  # the read-only part of a file
    assert maps.reads == 1


def test_garbage_from_a_broken_walk_is_no_reason_to_reread() -> None:
    maps = _CountingMaps(CODE_CACHE)
    maps.mapping(1, 0x7F0000000800)
    maps.age(1)
    for garbage in (0, 0x3D1, 0x6A624F2F676E616C):  # low, text read as an address
        assert maps.mapping(1, garbage) is None
    addresses = np.array([0, 0x3D1, 0x6A624F2F676E616C, 0x7F0000400000], dtype=np.uint64)
    _, found = maps.mappings(1, addresses)
    assert found.tolist() == [-1] * 4 and maps.reads == 1


def test_an_address_between_known_ranges_rereads_the_maps() -> None:
    maps = _CountingMaps(CODE_CACHE)
    gap = 0x7F0800000000  # a library loaded since the last read could be there
    assert maps.mapping(1, gap) is None and maps.reads == 1
    assert maps.mapping(1, gap) is None and maps.reads == 1  # read less than a second ago
    maps.age(1)
    assert maps.mapping(1, gap) is None and maps.reads == 2
    maps.text += "7f0800000000-7f0800100000 r-xp 00000000 08:01 7 /usr/lib/libnew.so\n"
    maps.age(1)
    found = maps.mapping(1, gap + 0x10)
    assert found is not None and found.path == "/usr/lib/libnew.so" and maps.reads == 3


def test_many_addresses_find_the_same_mappings_as_one_at_a_time() -> None:
    maps = _CountingMaps(CODE_CACHE)
    addresses = [0x55D0A0001000, 0x55D0A02FFFFF, 0x55D0A0300000, 0x7F1000000000 + 0x1234,
                 0x7F1000200000, 0x7F0000000001, 5, 0x7F1000100000]
    mappings, found = maps.mappings(1, np.array(addresses, dtype=np.uint64))
    one_at_a_time = [maps.mapping(1, address) for address in addresses]
    assert [mappings[index] if index >= 0 else None for index in found.tolist()] \
        == one_at_a_time
    assert [m is not None for m in one_at_a_time] == [True, True, False, True, False, False,
                                                      False, True]
