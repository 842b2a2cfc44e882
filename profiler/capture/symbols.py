"""User-space frame names for sampled stacks, resolved while the process is alive.

Addresses inside mapped files are named from the files' symbol tables (``name [module]``,
profiler.capture.usersyms) at once and cached per (pid, address). An address that no file
covers is JIT-compiled code or garbage from a broken frame-pointer walk: it is kept as a
number and named later from the JVM's perf map (written when the JVM exits), or becomes
``[unknown]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from profiler.capture.perfmap import PerfMap, jit_frame
from profiler.capture.usersyms import UserSymbols

UNKNOWN = "[unknown]"
PYTHON_FRAME = "[python]"
_PYTHON_MODULE = re.compile(r"^\[unknown\] \[(lib)?python3[.\d]*(\.so[.\d]*)?\]$")
_MAX_CACHED = 200_000

# A frame is a resolved name or an address waiting for a perf map.
Frame = str | int


class FrameNamer:
    def __init__(self, symbolize: Callable[[int, int], bytes | str],
                 forget: Callable[[int], None] | None = None) -> None:
        """``symbolize(address, pid)`` names an address like BCC's ``BPF.sym(addr, pid,
        show_module=True)``: ``b"name [module]"``, ``b"[unknown] [module]"``, or plain
        ``b"[unknown]"`` outside every mapped file (kept as the address, for the perf map).
        ``forget(pid)`` drops the symbolizer's state of a process."""
        self._symbolize = symbolize
        self._forget = forget
        self._cache: dict[tuple[int, int], Frame] = {}
        self.resolved = 0
        self.unresolved = 0
        self.jit_resolved = 0

    @classmethod
    def for_symbols(cls, symbols: UserSymbols) -> FrameNamer:
        """Names from the symbol tables of the files the processes map."""
        return cls(symbols.sym, forget=symbols.forget)

    def frames(self, pid: int, addresses: Sequence[int]) -> list[Frame]:
        out: list[Frame] = []
        for address in addresses:
            key = (pid, address)
            frame = self._cache.get(key)
            if frame is None:
                frame = self._name(pid, address)
                if len(self._cache) > _MAX_CACHED:
                    self._cache.clear()
                self._cache[key] = frame
            out.append(frame)
        return out

    def _name(self, pid: int, address: int) -> Frame:
        raw = self._symbolize(address, pid)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if text == UNKNOWN:
            return address
        if _PYTHON_MODULE.match(text):
            return PYTHON_FRAME  # the interpreter's static functions: no symbol to show
        return text

    def finish(self, frames: Sequence[Frame], perf_map: PerfMap | None) -> list[str]:
        """Every frame as a name: addresses looked up in ``perf_map`` (JIT code) or
        ``[unknown]``; a run of unnamed addresses (a frame-pointer walk gone astray in code
        built without frame pointers) becomes one ``[unknown]``. Counts named and unnamed
        frames for the report."""
        out: list[str] = []
        for frame in frames:
            if isinstance(frame, str):
                self.resolved += frame.split(" [", 1)[0] != UNKNOWN
                self.unresolved += frame.split(" [", 1)[0] == UNKNOWN
                out.append(frame)
                continue
            name = perf_map.name_of(frame) if perf_map is not None else None
            if name is None:
                self.unresolved += 1
                if not out or out[-1] != UNKNOWN:
                    out.append(UNKNOWN)
            else:
                self.jit_resolved += 1
                out.append(jit_frame(name))
        return out

    def forget_process(self, pid: int) -> None:
        if self._forget is not None:
            self._forget(pid)
        for key in [key for key in self._cache if key[0] == pid]:
            del self._cache[key]


def process_uid(pid: int) -> int | None:
    """The owner of a live process (whose perf map we may trust), None when it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
