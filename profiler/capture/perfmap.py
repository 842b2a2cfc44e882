"""JIT symbol maps (``/tmp/perf-PID.map``) written by JVMs, read safely by a root process.

The file lives in a world-writable directory and is written by the profiled user, so it is
opened without following symlinks, must be a regular file owned by the JVM's user, and is
read up to a size cap. Lines are ``START SIZE NAME`` with hexadecimal START and SIZE.
"""

from __future__ import annotations

import bisect
import os
import stat
import subprocess
from dataclasses import dataclass

MAX_MAP_BYTES = 512 * 1024 * 1024
JIT_MODULE = "jit"


@dataclass(frozen=True)
class PerfMap:
    """Sorted, non-empty address ranges with names; ``name_of`` is a binary search."""

    starts: list[int]
    ends: list[int]
    names: list[str]

    def name_of(self, address: int) -> str | None:
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.ends[index]:
            return self.names[index]
        return None

    def __len__(self) -> int:
        return len(self.starts)


def parse_perf_map(text: str) -> PerfMap:
    """Entries of a perf map text; malformed lines are skipped. When ranges overlap (code
    freed and reused) the later line wins at its start address."""
    entries: dict[int, tuple[int, str]] = {}
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3:
            continue
        try:
            start, size = int(parts[0], 16), int(parts[1], 16)
        except ValueError:
            continue
        if size > 0:
            entries[start] = (start + size, parts[2].strip())
    starts = sorted(entries)
    return PerfMap(starts, [entries[s][0] for s in starts], [entries[s][1] for s in starts])


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
    return parse_perf_map(data.decode("utf-8", errors="replace"))


def request_perf_map(pid: int, timeout_s: float = 30.0) -> bool:
    """Ask a live JVM to write its perf map now (``jcmd PID Compiler.perfmap``, JDK 17+),
    running the JVM's own ``jcmd`` as the JVM's user: the attach socket only answers its
    owner, and root never writes into /tmp. False when that was not possible."""
    try:
        info = os.stat(f"/proc/{pid}")
        java = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    jcmd = os.path.join(os.path.dirname(java), "jcmd")
    if os.path.basename(java) != "java" or not os.access(jcmd, os.X_OK):
        return False
    try:
        done = subprocess.run([jcmd, str(pid), "Compiler.perfmap"], user=info.st_uid,
                              group=info.st_gid, extra_groups=[], capture_output=True,
                              timeout=timeout_s, check=False, cwd="/")
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def jit_frame(name: str) -> str:
    return f"{name} [{JIT_MODULE}]"
