"""User-space frame names for sampled stacks, resolved while the process is alive.

Addresses inside mapped files are named by BCC's symbolizer (``name [module]``) at once and
cached per (pid, address). An address that no file covers is JIT-compiled code or garbage
from a broken frame-pointer walk: it is kept as a number and named later from the JVM's perf
map (written when the JVM exits), or becomes ``[unknown]``.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from profiler.capture.perfmap import PerfMap, jit_frame

UNKNOWN = "[unknown]"
PYTHON_FRAME = "[python]"
_PYTHON_MODULE = re.compile(r"^\[unknown\] \[(lib)?python3[.\d]*(\.so[.\d]*)?\]$")
_MAX_CACHED = 200_000

# A frame is a resolved name or an address waiting for a perf map.
Frame = str | int


@dataclass(frozen=True, order=True)
class CodeMapping:
    """An executable mapping of a file in a process: [start, end)."""

    start: int
    end: int


class FrameNamer:
    def __init__(self, symbolize: Callable[[int, int], bytes | str],
                 code_ranges: Callable[[int], list[CodeMapping]] | None = None) -> None:
        """``symbolize(address, pid)`` names an address like BCC's ``BPF.sym(addr, pid,
        show_module=True)``: ``b"name [module]"``, ``b"[unknown] [module]"``, or plain
        ``b"[unknown]"`` outside every mapped file. ``code_ranges(pid)`` lists the process's
        file-backed executable mappings (default: from /proc/PID/maps): addresses outside
        them (JIT code, most frames of a JVM) are left for the perf map without asking
        BCC, which is slow to say "unknown"."""
        self._symbolize = symbolize
        self._code_ranges = code_ranges or file_code_ranges
        self._ranges: dict[int, tuple[list[int], list[CodeMapping], int]] = {}
        self.generation = 0  # bumped by the caller at each drain: ranges refresh once a drain
        self._cache: dict[tuple[int, int], Frame] = {}
        self.resolved = 0
        self.unresolved = 0
        self.jit_resolved = 0

    @classmethod
    def for_bpf(cls, bpf: Any) -> FrameNamer:
        return cls(lambda address, pid: bpf.sym(address, pid, show_module=True,
                                                show_offset=False))

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

    def _mapping(self, pid: int, address: int) -> CodeMapping | None:
        known = self._ranges.get(pid)
        for attempt in range(2):
            if known is None or (attempt and known[2] != self.generation):
                mappings = sorted(self._code_ranges(pid))
                if not mappings and known is not None:  # gone: keep what we knew
                    mappings = known[1]
                known = ([m.start for m in mappings], mappings, self.generation)
                self._ranges[pid] = known
            index = bisect.bisect_right(known[0], address) - 1
            if index >= 0 and address < known[1][index].end:
                return known[1][index]
            if known[2] == self.generation:
                return None  # already fresh: a library mapped later is not the reason
        return None

    def _name(self, pid: int, address: int) -> Frame:
        if self._mapping(pid, address) is None:
            return address
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
        self._ranges.pop(pid, None)
        for key in [key for key in self._cache if key[0] == pid]:
            del self._cache[key]


def file_code_ranges(pid: int) -> list[CodeMapping]:
    """The executable mappings of files in a live process; [] if it is gone."""
    found = []
    try:
        with open(f"/proc/{pid}/maps") as handle:
            for line in handle:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and "x" in fields[1] and fields[5].startswith("/"):
                    low, high = fields[0].split("-")
                    found.append(CodeMapping(int(low, 16), int(high, 16)))
    except OSError:
        return []
    return found


def process_uid(pid: int) -> int | None:
    """The owner of a live process (whose perf map we may trust), None when it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
