"""Where an address of a process lies: which file and at what offset, from /proc/PID/maps.

Symbol names depend only on (file, offset), so one name serves every process that maps the
same file: the Python workers forked from one pyspark.daemon, and every JVM's libjvm.

The maps are read again only for an address outside every range the last read listed (a
library loaded since), at most once a second per process. An address inside a known range of
no executable file is JIT code (a code cache grows inside its reserved range) or a broken
frame-pointer walk's garbage; neither is worth re-reading a JVM's long maps file."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_REREAD_AFTER_S = 1.0  # an uncovered address re-reads the maps at most this often per pid
# No mapping can lie below mmap_min_addr (64 KiB by default) or above user space (2^56 with
# 5-level page tables): such an address is garbage from a broken walk, never a reason to read.
_LOWEST_MAPPED = 0x10000
_USER_SPACE_END = 1 << 56


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    offset: int
    file: str  # device, inode and path: a replaced file at one path is another file

    @property
    def path(self) -> str:
        """The path as /proc/PID/maps shows it (`` (deleted)`` when it was unlinked)."""
        return self.file.split(":", 3)[3]  # after major:minor:inode


@dataclass
class _ProcessMaps:
    mappings: list[Mapping]  # executable file mappings, by start
    read_at: float
    ranges: list[str] = field(default_factory=list)  # every line's "start-end", parsed lazily
    starts: list[int] = field(init=False)
    _file_bounds: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = field(
        default=None, init=False)
    _known: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = field(
        default=None, init=False)

    def __post_init__(self) -> None:
        self.starts = [mapping.start for mapping in self.mappings]

    @classmethod
    def from_text(cls, text: str, read_at: float) -> _ProcessMaps:
        mappings, ranges = parse_code_maps(text)
        return cls(mappings, read_at, ranges)

    def find(self, address: int) -> Mapping | None:
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.mappings[index].end:
            return self.mappings[index]
        return None

    def find_many(self, addresses: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Per address, the index of its mapping in ``mappings``, -1 for none."""
        if self._file_bounds is None:
            self._file_bounds = (np.array(self.starts, dtype=np.uint64),
                                 np.array([m.end for m in self.mappings], dtype=np.uint64))
        return _inside(addresses, *self._file_bounds)

    def uncovered(self, addresses: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Which addresses lie outside every range of the last read and could be mapped:
        only these may be code loaded since."""
        starts, ends = self._known_ranges()
        plausible = (addresses >= _LOWEST_MAPPED) & (addresses < _USER_SPACE_END)
        return plausible & (_inside(addresses, starts, ends) < 0)

    def is_uncovered(self, address: int) -> bool:
        """``uncovered`` for one address."""
        if not _LOWEST_MAPPED <= address < _USER_SPACE_END:
            return False
        starts, ends = self._known_ranges()
        index = int(np.searchsorted(starts, address, side="right")) - 1
        return index < 0 or address >= int(ends[index])

    def _known_ranges(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        if self._known is None:
            bounds = sorted(tuple(int(bound, 16) for bound in text.split("-"))
                            for text in self.ranges)
            self._known = (np.array([low for low, _ in bounds], dtype=np.uint64),
                           np.array([high for _, high in bounds], dtype=np.uint64))
        return self._known


def _inside(addresses: np.ndarray[Any, Any], starts: np.ndarray[Any, Any],
            ends: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per address, the index of the sorted, disjoint range [start, end) holding it, or -1."""
    index = np.searchsorted(starts, addresses, side="right").astype(np.int64) - 1
    found = index >= 0
    found[found] = addresses[found] < ends[index[found]]
    return np.where(found, index, -1)


def parse_code_maps(text: str) -> tuple[list[Mapping], list[str]]:
    """From a /proc/PID/maps text, in one pass: the executable file mappings, sorted by
    start, and every line's ``start-end`` text (any mapping, parsed only when needed)."""
    files: list[Mapping] = []
    ranges: list[str] = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        ranges.append(fields[0])
        if len(fields) == 6 and "x" in fields[1] and fields[5].startswith("/"):
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            files.append(Mapping(low, high, int(fields[2], 16),
                                 f"{fields[3]}:{fields[4]}:{fields[5]}"))
    files.sort(key=lambda m: m.start)
    return files, ranges


@dataclass
class CodeMaps:
    """(pid, address) -> (file, file offset), or None for anonymous code (JIT)."""

    _pids: dict[int, _ProcessMaps] = field(default_factory=dict)
    read_ns: int = 0  # CPU spent reading and parsing maps files

    def locate(self, pid: int, address: int) -> tuple[str, int] | None:
        found = self.mapping(pid, address)
        return None if found is None else (found.file, address - found.start + found.offset)

    def mapping(self, pid: int, address: int) -> Mapping | None:
        """The executable file mapping holding ``address``, None for anonymous code."""
        maps = self._pids.get(pid)
        if maps is None:
            maps = self._read(pid)
        found = maps.find(address)
        if found is None and self._stale(maps) and maps.is_uncovered(address):
            found = self._read(pid).find(address)
        return found

    def mappings(self, pid: int, addresses: np.ndarray[Any, Any],
                 ) -> tuple[list[Mapping], np.ndarray[Any, Any]]:
        """For many addresses of ``pid`` at once (uint64): the process's executable file
        mappings and, per address, the index of the one holding it (-1: none)."""
        maps = self._pids.get(pid)
        if maps is None:
            maps = self._read(pid)
        found = maps.find_many(addresses)
        missing = found < 0
        if missing.any() and self._stale(maps) and maps.uncovered(addresses[missing]).any():
            maps = self._read(pid)
            found = maps.find_many(addresses)
        return maps.mappings, found

    @staticmethod
    def _stale(maps: _ProcessMaps) -> bool:
        return time.monotonic() - maps.read_at >= _REREAD_AFTER_S

    def forget(self, pid: int) -> None:
        self._pids.pop(pid, None)

    def _read(self, pid: int) -> _ProcessMaps:
        started = time.thread_time_ns()
        try:
            with open(f"/proc/{pid}/maps") as handle:
                text = handle.read()
        except OSError:
            text = ""
        maps = _ProcessMaps.from_text(text, time.monotonic())
        self._pids[pid] = maps
        self.read_ns += time.thread_time_ns() - started
        return maps
