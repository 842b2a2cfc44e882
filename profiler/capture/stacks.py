"""Stack ids (BPF_STACK_TRACE) to frame names, resolved while the process is alive.

A failed walk (a negative errno instead of an id, or an id whose entry is gone) becomes the
single frame ``[missing user stack]`` / ``[missing kernel stack]`` and is counted.
"""

from __future__ import annotations

import os
import time
from typing import Any

from profiler.capture.codemaps import CodeMaps
from profiler.capture.perfmap import perf_map_path

NO_STACK = -1  # the BPF side took no stack (switched off, or a preempted thread)
MISSING_USER = "[missing user stack]"
MISSING_KERNEL = "[missing kernel stack]"
UNKNOWN_FRAME = "[unknown]"  # what BCC names an address outside every mapped file
_MAX_CACHED = 50_000
_MAX_CACHED_SYMBOLS = 200_000  # per process


class StackResolver:
    def __init__(self, bpf: Any) -> None:
        self._bpf = bpf
        self._table = bpf[b"stacks"] if _has_table(bpf, "stacks") else None
        self._user: dict[tuple[int, int], list[str]] = {}
        self._kernel: dict[int, list[str]] = {}
        # Different stacks share most frames: one BCC lookup (a ctypes call and a decode,
        # several us) per (pid, address) instead of one per frame of every new stack.
        self._symbols: dict[int, dict[int, str]] = {}  # pid -> address -> frame
        # BCC's lookup costs ~0.5 ms per new (pid, address); a name depends only on (file,
        # offset), so forked Python workers and sibling JVMs reuse each other's.
        self._maps = CodeMaps()
        self._by_file: dict[tuple[str, int], str] = {}
        self._perf_maps: dict[int, tuple[bool, float]] = {}  # pid -> (exists, checked at)
        self.missing_user = 0
        self.missing_kernel = 0

    def _addresses(self, stack_id: int) -> list[int] | None:
        if self._table is None or stack_id < 0:
            return None
        try:
            return [int(addr) for addr in self._table.walk(stack_id)]
        except KeyError:
            return None

    def user(self, pid: int, stack_id: int) -> list[str]:
        """Frames leaf first."""
        key = (pid, stack_id)
        frames = self._user.get(key)
        if frames is not None:
            return frames
        addresses = self._addresses(stack_id)
        if not addresses:
            self.missing_user += 1
            return [MISSING_USER]
        frames = [self._symbol(pid, addr) for addr in addresses]
        if len(self._user) > _MAX_CACHED:
            self._user.clear()
        self._user[key] = frames
        return frames

    def _symbol(self, pid: int, addr: int) -> str:
        names = self._symbols.setdefault(pid, {})
        name = names.get(addr)
        if name is None:
            if len(names) > _MAX_CACHED_SYMBOLS:
                names.clear()
            where = self._maps.locate(pid, addr)
            name = self._by_file.get(where) if where is not None else None
            if name is None and where is None and not self._has_perf_map(pid):
                # Anonymous code (JIT, interpreter) that no perf map names yet: BCC would
                # search for ~1 ms to answer the same.
                name = UNKNOWN_FRAME
            if name is None:
                name = _text(self._bpf.sym(addr, pid, show_module=True, show_offset=False))
                if where is not None:
                    if len(self._by_file) > _MAX_CACHED_SYMBOLS:
                        self._by_file.clear()
                    self._by_file[where] = name
            names[addr] = name
        return name

    def _has_perf_map(self, pid: int) -> bool:
        """Whether /tmp/perf-PID.map exists (checked at most once a second per pid)."""
        now = time.monotonic()
        known = self._perf_maps.get(pid)
        if known is None or now - known[1] >= 1.0:
            known = (os.path.exists(perf_map_path(pid)), now)
            self._perf_maps[pid] = known
        return known[0]

    def _kernel_symbol(self, addr: int) -> str:
        names = self._symbols.setdefault(-1, {})  # pid -1: the kernel's
        name = names.get(addr)
        if name is None:
            name = _text(self._bpf.ksym(addr))
            names[addr] = name
        return name

    def kernel(self, stack_id: int) -> list[str]:
        frames = self._kernel.get(stack_id)
        if frames is not None:
            return frames
        addresses = self._addresses(stack_id)
        if not addresses:
            self.missing_kernel += 1
            return [MISSING_KERNEL]
        frames = [self._kernel_symbol(addr) for addr in addresses]
        if len(self._kernel) > _MAX_CACHED:
            self._kernel.clear()
        self._kernel[stack_id] = frames
        return frames

    def forget_process(self, pid: int) -> None:
        """Drop BCC's symbol cache of an exited process (its memory would only grow)."""
        self._symbols.pop(pid, None)
        self._maps.forget(pid)
        self._perf_maps.pop(pid, None)
        caches = getattr(self._bpf, "_sym_caches", None)
        if isinstance(caches, dict):
            caches.pop(pid, None)


def _has_table(bpf: Any, name: str) -> bool:
    try:
        bpf.get_table(name.encode())
    except KeyError:
        return False
    return True


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
