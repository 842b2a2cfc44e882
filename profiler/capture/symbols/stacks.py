"""Stack ids (BPF_STACK_TRACE) to frame names, resolved while the process is alive.

A failed walk (a negative errno instead of an id, or an id whose entry is gone) becomes the
single frame ``[missing user stack]`` / ``[missing kernel stack]`` and is counted.

Ids come from ``stacks`` (kernel stacks of off-CPU blocks, JNI call sites: never emptied) or,
tagged, from one of the two ``ustacks`` tables (user stacks of slow syscalls and off-CPU
blocks, taken just before their event is sent): at each drain, once the events received so
far are resolved, :meth:`StackResolver.rotate_user_stacks` empties the table the probes did
not fill since the last drain and switches them to it (bpf/common.h ``fresh_user_stack``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from profiler.capture.stream.stackmap import StackReader
from profiler.capture.symbols.frames import process_uid
from profiler.capture.symbols.perfmap import PerfMap, jit_frame, perf_map_path, read_perf_map
from profiler.capture.symbols.usersyms import UserSymbols

NO_STACK = -1  # the BPF side took no stack (switched off, or a preempted thread)
MISSING_USER = "[missing user stack]"
MISSING_KERNEL = "[missing kernel stack]"
UNKNOWN_FRAME = "[unknown]"  # an address outside every mapped file and perf map
_MAX_CACHED = 50_000
USTACK_FRESH = 1 << 20  # bpf/common.h: an id of ustacks0/1
USTACK_COPY1 = 1 << 21  # ... of ustacks1
_ID_BITS = USTACK_FRESH - 1
_MAX_CACHED_SYMBOLS = 200_000  # per process


class StackResolver:
    def __init__(self, bpf: Any, lib: Any) -> None:
        """``lib``: BCC's libbcc (stacks are read with its bpf_lookup_elem)."""
        self._bpf = bpf
        self._reader = StackReader(bpf[b"stacks"], lib) if has_table(bpf, "stacks") else None
        self._fresh = ([StackReader(bpf[name], lib) for name in (b"ustacks0", b"ustacks1")]
                       if has_table(bpf, "ustacks0") else [])
        self._fresh_copy = 0  # the ustacks table the probes fill now
        # names by (pid, id): one dict for `stacks`, one per ustacks table (emptied with it)
        self._user: dict[tuple[int, int], list[str]] = {}
        self._fresh_names: list[dict[tuple[int, int], list[str]]] = [{}, {}]
        self._kernel: dict[int, list[str]] = {}
        # Different stacks share most frames: one lookup per (pid, address) instead of one
        # per frame of every new stack.
        self._symbols: dict[int, dict[int, str]] = {}  # pid -> address -> frame
        self.user_symbols = UserSymbols()  # shared with the sampler (one load per file)
        # pid -> (the JVM's perf map or None, checked at): JIT code of a JVM that wrote one
        self._perf_maps: dict[int, tuple[PerfMap | None, float]] = {}
        self.missing_user = 0
        self.missing_kernel = 0

    def _addresses(self, stack_id: int) -> list[int]:
        return self._reader.addresses(stack_id) if self._reader is not None else []

    def user(self, pid: int, stack_id: int) -> list[str]:
        """Frames leaf first."""
        if stack_id >= 0 and stack_id & USTACK_FRESH:
            copy = 1 if stack_id & USTACK_COPY1 else 0
            reader = self._fresh[copy] if self._fresh else None
            cache = self._fresh_names[copy]
            stack_id &= _ID_BITS
        else:
            reader, cache = self._reader, self._user
        key = (pid, stack_id)
        frames = cache.get(key)
        if frames is not None:
            return frames
        addresses = reader.addresses(stack_id) if reader is not None else []
        if not addresses:
            self.missing_user += 1
            return [MISSING_USER]
        frames = [self._symbol(pid, addr) for addr in addresses]
        if len(cache) > _MAX_CACHED:
            cache.clear()
        cache[key] = frames
        return frames

    def rotate_user_stacks(self) -> None:
        """Empty the ustacks table the probes did not fill since the last call (the events
        with its ids have been resolved) and switch the probes to it."""
        if not self._fresh:
            return
        quiet = 1 - self._fresh_copy
        self._fresh[quiet].clear()
        self._fresh_names[quiet].clear()
        table = self._bpf[b"ustack_copy"]
        table[table.Key(0)] = table.Leaf(quiet)
        self._fresh_copy = quiet

    def _symbol(self, pid: int, addr: int) -> str:
        names = self._symbols.setdefault(pid, {})
        name = names.get(addr)
        if name is None:
            if len(names) > _MAX_CACHED_SYMBOLS:
                names.clear()
            name = self.user_symbols.sym(addr, pid)
            if name == UNKNOWN_FRAME:  # anonymous code: JIT, named if the JVM wrote its map
                perf_map = self._perf_map(pid)
                jit_name = perf_map.name_of(addr) if perf_map is not None else None
                if jit_name is not None:
                    name = jit_frame(jit_name)
            names[addr] = name
        return name

    def _perf_map(self, pid: int) -> PerfMap | None:
        """The JVM's /tmp/perf-PID.map once it exists (looked for at most once a second),
        read only when owned by the process's user and not a symlink."""
        now = time.monotonic()
        known = self._perf_maps.get(pid)
        if known is None or (known[0] is None and now - known[1] >= 1.0):
            perf_map = None
            uid = process_uid(pid)
            if uid is not None and os.path.exists(perf_map_path(pid)):
                perf_map = read_perf_map(pid, uid)
            known = (perf_map, now)
            self._perf_maps[pid] = known
        return known[0]

    def kernel_symbol(self, addr: int) -> str:
        names = self._symbols.setdefault(-1, {})  # pid -1: the kernel's
        name = names.get(addr)
        if name is None:
            name = _text(self._bpf.ksym(addr))
            names[addr] = name
        return name

    @property
    def has_stacks(self) -> bool:
        """Whether the program takes off-CPU or slow-syscall stacks."""
        return self._reader is not None

    def load_kernel_symbols(self) -> None:
        """Read /proc/kallsyms now (BCC keeps one table per process, shared by every user)."""
        self.kernel_symbol(0)

    def kernel(self, stack_id: int) -> list[str]:
        frames = self._kernel.get(stack_id)
        if frames is not None:
            return frames
        addresses = self._addresses(stack_id)
        if not addresses:
            self.missing_kernel += 1
            return [MISSING_KERNEL]
        frames = [self.kernel_symbol(addr) for addr in addresses]
        if len(self._kernel) > _MAX_CACHED:
            self._kernel.clear()
        self._kernel[stack_id] = frames
        return frames

    def forget_process(self, pid: int) -> None:
        """Drop what was cached for an exited process (its memory would only grow)."""
        self._symbols.pop(pid, None)
        self.user_symbols.forget(pid)
        self._perf_maps.pop(pid, None)


def has_table(bpf: Any, name: str) -> bool:
    """Whether the loaded program defines the map ``name`` (families compile some out)."""
    try:
        bpf.get_table(name.encode())
    except KeyError:
        return False
    return True


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
