"""CodeMaps: addresses to (file, offset), so symbol names are shared across processes."""

from __future__ import annotations

import ctypes
import os

from profiler.capture.codemaps import CodeMaps, parse_code_maps

MAPS = """\
55d0a0000000-55d0a0001000 r--p 00000000 08:01 1234 /usr/bin/python3.11
55d0a0001000-55d0a0300000 r-xp 00001000 08:01 1234 /usr/bin/python3.11
7f0000000000-7f0000100000 rwxp 00000000 00:00 0
7f1000000000-7f1000200000 r-xp 00028000 08:01 99 /usr/lib/libc.so.6 (deleted)
"""


def test_only_executable_file_mappings_are_kept_with_their_offsets() -> None:
    found, _ = parse_code_maps(MAPS)
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


def test_anonymous_executable_ranges_are_jit_code_not_a_reason_to_reread() -> None:
    from profiler.capture.codemaps import _ProcessMaps

    files, anonymous = parse_code_maps(
        MAPS + "7fff00000000-7fff00002000 r-xp 00000000 00:00 0 [vdso]\n")
    assert files == parse_code_maps(MAPS)[0]  # [vdso] is neither a file nor JIT code
    assert anonymous == [(0x7F0000000000, 0x7F0000100000)]

    class CountingMaps(CodeMaps):
        reads = 0

        def _read(self, pid: int) -> _ProcessMaps:
            CountingMaps.reads += 1
            maps = _ProcessMaps.from_text(MAPS, 0.0)
            self._pids[pid] = maps
            return maps

    maps = CountingMaps()
    assert maps.mapping(1, 0x7F0000000800) is None  # first look reads the maps
    assert maps.mapping(1, 0x7F0000000900) is None  # JIT code: no second read
    assert CountingMaps.reads == 1
    assert maps.mapping(1, 0x10) is None  # unknown and the read is old: read again
    assert CountingMaps.reads == 2
