"""Where an address of a process lies: which file and at what offset, from /proc/PID/maps.

Symbol names depend only on (file, offset), so one name serves every process that maps the
same file: the Python workers forked from one pyspark.daemon, and every JVM's libjvm."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

_REREAD_AFTER_S = 1.0  # an uncovered address re-reads the maps at most this often per pid


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
    starts: list[int]
    mappings: list[Mapping]
    read_at: float
    # Anonymous executable ranges (a JVM's code cache): an address there is JIT code, not a
    # library mapped since the last read, so it needs no re-read of a long maps file.
    anonymous: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str, read_at: float) -> _ProcessMaps:
        mappings, anonymous = parse_code_maps(text)
        return cls([m.start for m in mappings], mappings, read_at, anonymous)

    def is_anonymous_code(self, address: int) -> bool:
        index = bisect.bisect_right(self.anonymous, (address, 1 << 64)) - 1
        return index >= 0 and address < self.anonymous[index][1]


def parse_code_maps(text: str) -> tuple[list[Mapping], list[tuple[int, int]]]:
    """From a /proc/PID/maps text, in one pass: the executable file mappings and the
    executable ranges of no file (JIT code), each sorted by start."""
    files: list[Mapping] = []
    anonymous: list[tuple[int, int]] = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5 or "x" not in fields[1]:
            continue
        low, high = (int(bound, 16) for bound in fields[0].split("-"))
        if len(fields) == 6 and fields[5].startswith("/"):
            files.append(Mapping(low, high, int(fields[2], 16),
                                 f"{fields[3]}:{fields[4]}:{fields[5]}"))
        elif len(fields) == 5 or not fields[5].startswith("["):
            anonymous.append((low, high))
    files.sort(key=lambda m: m.start)
    anonymous.sort()
    return files, anonymous


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
        if maps is None or (self._find(maps, address) is None
                            and not maps.is_anonymous_code(address)
                            and time.monotonic() - maps.read_at >= _REREAD_AFTER_S):
            maps = self._read(pid)
        return self._find(maps, address)

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

    @staticmethod
    def _find(maps: _ProcessMaps, address: int) -> Mapping | None:
        index = bisect.bisect_right(maps.starts, address) - 1
        if index >= 0 and address < maps.mappings[index].end:
            return maps.mappings[index]
        return None
