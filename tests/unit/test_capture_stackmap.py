"""StackReader: a stack map entry to its addresses, without BCC's per-frame walk."""

from __future__ import annotations

import ctypes as ct
from typing import Any

from profiler.capture.stream.stackmap import StackReader

DEPTH = 127


class FakeStackTable:
    Leaf = ct.c_uint64 * DEPTH
    map_fd = 7


class FakeLibbcc:
    """bpf_lookup_elem as the kernel does it: the entry copied, zero-filled past the end."""

    def __init__(self, stacks: dict[int, list[int]]) -> None:
        self.stacks = stacks

    def bpf_lookup_elem(self, fd: int, key: Any, value: ct.c_void_p) -> int:
        assert fd == FakeStackTable.map_fd
        stack_id = ct.cast(key, ct.POINTER(ct.c_uint32)).contents.value
        if stack_id not in self.stacks:
            return -1
        frames = self.stacks[stack_id]
        entry = (ct.c_uint64 * DEPTH)(*frames)  # the rest stays zero
        ct.memmove(value.value, entry, ct.sizeof(entry))
        return 0


def test_entries_read_up_to_their_last_frame() -> None:
    deep = list(range(0x7F0000001000, 0x7F0000001000 + DEPTH))
    reader = StackReader(FakeStackTable(), FakeLibbcc({3: [0x401000, 0xFFFFFFFF81000000],
                                                       4: deep, 5: [0x500000]}))
    assert reader.addresses(3) == [0x401000, 0xFFFFFFFF81000000]
    assert reader.addresses(4) == deep  # a full entry has no zero to stop at
    assert reader.addresses(5) == [0x500000]  # the reused buffer does not leak the last read


def test_failed_walks_and_gone_entries_have_no_addresses() -> None:
    reader = StackReader(FakeStackTable(), FakeLibbcc({}))
    assert reader.addresses(-14) == []  # -EFAULT from bpf_get_stackid
    assert reader.addresses(9) == []
