"""Read BPF_STACK_TRACE entries into numpy: one ``bpf_lookup_elem`` per stack id; empty a
stack table.

BCC's ``StackTrace.walk`` yields the addresses one Python iteration (and ctypes access) each;
a deep JVM stack has 60-120 frames. This reads the entry into a reused buffer instead: the
kernel zero-fills it past the stack's last frame. BCC's ``StackTrace.clear()`` does nothing,
so a table that is reused (the sampler's two copies) is emptied here."""

from __future__ import annotations

import ctypes as ct
from collections.abc import Iterable
from typing import Any

import numpy as np


class StackReader:
    def __init__(self, table: Any, lib: Any) -> None:
        """``table``: a BCC StackTrace table; ``lib``: BCC's libbcc (bpf_lookup_elem)."""
        self._fd = int(table.map_fd)
        self._lib = lib
        self._buffer = np.zeros(ct.sizeof(table.Leaf) // 8, dtype=np.uint64)
        self._key = ct.c_uint32(0)
        # the call's arguments are built once: ctypes conversions cost more than the call
        self._key_ref = ct.byref(self._key)
        self._buffer_ref = ct.c_void_p(self._buffer.ctypes.data)

    def addresses(self, stack_id: int) -> list[int]:
        """The stack's addresses, leaf first; [] for a failed walk (a negative id) or an id
        whose entry is gone."""
        if stack_id < 0:
            return []
        self._key.value = stack_id
        if self._lib.bpf_lookup_elem(self._fd, self._key_ref, self._buffer_ref) != 0:
            return []
        return self._buffer[:np.count_nonzero(self._buffer)].tolist()  # type: ignore[no-any-return]

    def delete(self, stack_ids: Iterable[int]) -> int:
        """Delete the given stacks (negative ids, failed walks, are skipped): one system call
        a stack, where ``clear`` needs two; returns how many there were."""
        deleted = 0
        for stack_id in stack_ids:
            if stack_id >= 0:
                self._key.value = stack_id
                if self._lib.bpf_delete_elem(self._fd, self._key_ref) == 0:
                    deleted += 1
        return deleted

    def clear(self) -> int:
        """Delete every stack of the table; returns how many there were. The kernel finds
        the next used id from any id, so deleting while walking misses none."""
        current, following = ct.c_uint32(0), ct.c_uint32(0)
        deleted = 0
        previous = None
        while self._lib.bpf_get_next_key(self._fd, previous, ct.byref(following)) == 0:
            current.value = following.value
            if self._lib.bpf_delete_elem(self._fd, ct.byref(current)) == 0:
                deleted += 1
            previous = ct.byref(current)
        return deleted
