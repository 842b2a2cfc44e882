"""Read BPF_STACK_TRACE entries into numpy: one ``bpf_lookup_elem`` per stack id.

BCC's ``StackTrace.walk`` yields the addresses one Python iteration (and ctypes access) each;
a deep JVM stack has 60-120 frames. This reads the entry into a reused buffer instead: the
kernel zero-fills it past the stack's last frame."""

from __future__ import annotations

import ctypes as ct
from typing import Any

import numpy as np


class StackReader:
    def __init__(self, table: Any, lib: Any) -> None:
        """``table``: a BCC StackTrace table; ``lib``: BCC's libbcc (bpf_lookup_elem)."""
        self._fd = int(table.map_fd)
        self._lib = lib
        self._buffer = np.zeros(ct.sizeof(table.Leaf) // 8, dtype=np.uint64)
        self._key = ct.c_uint32(0)

    def addresses(self, stack_id: int) -> list[int]:
        """The stack's addresses, leaf first; [] for a failed walk (a negative id) or an id
        whose entry is gone."""
        if stack_id < 0:
            return []
        self._key.value = stack_id
        if self._lib.bpf_lookup_elem(self._fd, ct.byref(self._key),
                                     ct.c_void_p(self._buffer.ctypes.data)) != 0:
            return []
        depth = int(np.count_nonzero(self._buffer))
        return self._buffer[:depth].tolist()  # type: ignore[no-any-return]
