"""JIT symbol maps (``/tmp/perf-PID.map``) written by JVMs, read safely by a root process.

The file lives in a world-writable directory and is written by the profiled user, so it is
opened without following symlinks, must be a regular file owned by the JVM's user, and is
read up to a size cap. Lines are ``START SIZE NAME`` with hexadecimal START and SIZE.
"""

from __future__ import annotations

import bisect
import os
import resource
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MAP_BYTES = 512 * 1024 * 1024
JIT_MODULE = "jit"


@dataclass(frozen=True)
class PerfMap:
    """Sorted, non-empty address ranges; their names are decoded from the map's text only
    when looked up (a JVM's map has ~10^4 lines, samples hit ~10^3 of them)."""

    starts: list[int]
    ends: list[int]
    text: bytes
    name_from: list[int]  # a name is text[name_from[i]:name_to[i]]
    name_to: list[int]

    def name_of(self, address: int) -> str | None:
        """The name of the code holding ``address`` (a binary search), None outside it."""
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.ends[index]:
            return self._name(index)
        return None

    def jit_names(self, addresses: Iterable[int]) -> dict[int, str]:
        """``jit_frame`` names of the ``addresses`` the map covers (others are left out).
        Samples repeat few distinct JIT addresses (~900 in ~26,000 frames of a demo run):
        each is looked up once."""
        names: dict[int, str] = {}
        for address in set(addresses):
            name = self.name_of(address)
            if name is not None:
                names[address] = jit_frame(name)
        return names

    def _name(self, index: int) -> str:
        raw = self.text[self.name_from[index]:self.name_to[index]]
        return raw.decode("utf-8", errors="replace").strip()

    def __len__(self) -> int:
        return len(self.starts)


# HotSpot writes every line as "0x%016lx 0x%016lx NAME": lines of that shape are parsed with
# numpy, others (Python's perf maps, hand-written ones) one by one.
_FIXED_NAME_AT = 38
_FIXED_HEX = np.r_[2:18, 21:37]
_FIXED_MARKS = {0: ord("0"), 1: ord("x"), 18: ord(" "), 19: ord("0"), 20: ord("x"),
                37: ord(" ")}
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX_VALUE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_HEX_VALUE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)
_NIBBLE_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)


def parse_perf_map(data: bytes | str) -> PerfMap:
    """Entries of a perf map; malformed lines are skipped. When ranges overlap (code freed
    and reused) the later line wins at its start address."""
    text = data.encode() if isinstance(data, str) else data
    buffer = np.frombuffer(text, dtype=np.uint8)
    line_ends = np.flatnonzero(buffer == ord("\n"))
    if not len(text) or text[-1:] != b"\n":
        line_ends = np.append(line_ends, len(text))
    line_starts = np.concatenate(([0], line_ends[:-1] + 1)).astype(np.int64)
    fixed, starts, sizes = _fixed_lines(buffer, line_starts, line_ends)
    name_from = line_starts[fixed] + _FIXED_NAME_AT
    lines = np.flatnonzero(fixed)
    other_lines = np.flatnonzero(~fixed)
    other_starts, other_sizes, other_from, parsed = _parse_lines(
        text, line_starts[other_lines].tolist(), line_ends[other_lines].tolist())
    if parsed:
        starts = np.concatenate((starts, np.array(other_starts, dtype=np.uint64)))
        sizes = np.concatenate((sizes, np.array(other_sizes, dtype=np.uint64)))
        name_from = np.concatenate((name_from, np.array(other_from, dtype=np.int64)))
        lines = np.concatenate((lines, other_lines[parsed]))
    keep = (sizes > 0) & (starts + sizes > starts)  # not empty, no end past 2^64
    starts, sizes, name_from, lines = starts[keep], sizes[keep], name_from[keep], lines[keep]
    by_start = np.lexsort((lines, starts))  # equal starts: the later line last
    last = np.ones(len(by_start), dtype=bool)
    last[:-1] = starts[by_start][1:] != starts[by_start][:-1]
    chosen = by_start[last]
    name_to = line_ends[lines[chosen]]
    return PerfMap(starts[chosen].tolist(), (starts[chosen] + sizes[chosen]).tolist(), text,
                   name_from[chosen].tolist(), name_to.tolist())


def _fixed_lines(buffer: np.ndarray[Any, Any], line_starts: np.ndarray[Any, Any],
                 line_ends: np.ndarray[Any, Any],
                 ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Which lines have HotSpot's fixed-width form, and their starts and sizes."""
    fixed = line_ends - line_starts > _FIXED_NAME_AT
    candidates = line_starts[fixed]
    for column, mark in _FIXED_MARKS.items():
        fixed[fixed] = buffer[candidates + column] == mark
        candidates = line_starts[fixed]
    nibbles = _HEX_VALUE[buffer[candidates[:, None] + _FIXED_HEX]]
    hexadecimal = (nibbles != 255).all(axis=1)
    fixed[fixed] = hexadecimal
    nibbles = nibbles[hexadecimal].astype(np.uint64)
    starts = (nibbles[:, :16] << _NIBBLE_SHIFTS).sum(axis=1, dtype=np.uint64)
    sizes = (nibbles[:, 16:] << _NIBBLE_SHIFTS).sum(axis=1, dtype=np.uint64)
    return fixed, starts, sizes


def _parse_lines(text: bytes, line_starts: list[int], line_ends: list[int],
                 ) -> tuple[list[int], list[int], list[int], list[int]]:
    """``START SIZE NAME`` lines of any width: starts, sizes, where each name begins, and
    which of the given lines each entry came from."""
    starts: list[int] = []
    sizes: list[int] = []
    name_from: list[int] = []
    lines: list[int] = []
    for number, (begin, end) in enumerate(zip(line_starts, line_ends, strict=True)):
        parts = text[begin:end].split(b" ", 2)
        if len(parts) != 3:
            continue
        try:
            start, size = int(parts[0], 16), int(parts[1], 16)
        except ValueError:
            continue
        if 0 <= start < 2**64 and 0 <= size < 2**64:
            starts.append(start)
            sizes.append(size)
            name_from.append(begin + len(parts[0]) + len(parts[1]) + 2)
            lines.append(number)
    return starts, sizes, name_from, lines


def perf_map_path(pid: int, directory: str = "/tmp") -> str:
    return os.path.join(directory, f"perf-{pid}.map")


def read_perf_map(pid: int, owner_uid: int, directory: str = "/tmp") -> PerfMap | None:
    """The perf map of ``pid`` if it exists, is a regular file (not a symlink) owned by
    ``owner_uid`` and not larger than the cap; None otherwise."""
    try:
        fd = os.open(perf_map_path(pid, directory),
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != owner_uid
                or info.st_size > MAX_MAP_BYTES):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_MAP_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    return parse_perf_map(data)


@dataclass(frozen=True)
class PerfMapRequest:
    written: bool  # the JVM wrote its map
    cpu_ns: int  # CPU of the jcmd process (a JVM of its own: ~0.24 s here)


def request_perf_map(pid: int, timeout_s: float = 10.0) -> PerfMapRequest:
    """Ask a live JVM to write its perf map now (``jcmd PID Compiler.perfmap``, JDK 17+),
    running the JVM's own ``jcmd`` as the JVM's user: the attach socket only answers its
    owner, and root never writes into /tmp. The caller waits: a JVM that does not answer
    within ``timeout_s`` counts as one that cannot be asked.

    jcmd's CPU is taken from this process's reaped children, so no other thread may reap a
    child meanwhile (the recorder reaps its command in the thread that drains samples)."""
    try:
        info = os.stat(f"/proc/{pid}")
        java = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return PerfMapRequest(False, 0)
    jcmd = os.path.join(os.path.dirname(java), "jcmd")
    if os.path.basename(java) != "java" or not os.access(jcmd, os.X_OK):
        return PerfMapRequest(False, 0)
    before = _children_cpu_ns()
    try:
        done = subprocess.run([jcmd, str(pid), "Compiler.perfmap"], user=info.st_uid,
                              group=info.st_gid, extra_groups=[], capture_output=True,
                              timeout=timeout_s, check=False, cwd="/")
        written = done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        written = False  # a timed-out jcmd has been killed and reaped
    return PerfMapRequest(written, _children_cpu_ns() - before)


def _children_cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def jit_frame(name: str) -> str:
    return f"{name} [{JIT_MODULE}]"
