"""Which libjvm.so each tracked JVM runs, against the one whose HotSpot probes are attached.

USDT probes are attached to one libjvm.so file: a JVM of another JDK (a spark-submit picking
another JAVA_HOME, a tool's bundled JRE) fires none of them, so its GC pauses and Java thread
names are silently missing. This finds such JVMs so the run says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from profiler.capture.probes.processes import ProcessInfo

_MAX_TRIES = 20  # a JVM maps libjvm.so within milliseconds of exec; stop asking after this


def mapped_libjvm(maps_text: str) -> str | None:
    """The path of the libjvm.so in a /proc/PID/maps text (None: not mapped)."""
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            path = fields[5].removesuffix(" (deleted)")
            if os.path.basename(path) == "libjvm.so":
                return path
    return None


def same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


def looks_like_jvm(info: ProcessInfo) -> bool:
    exe = os.path.basename(info.exe or "")
    return exe == "java" or info.comm == "java" or info.role.endswith("-jvm")


class JvmLibraryCheck:
    """Reports each tracked JVM whose libjvm.so is not ``attached`` (once per pid)."""

    def __init__(self, attached: str | None) -> None:
        self.attached = attached
        self._done: set[int] = set()
        self._tries: dict[int, int] = {}

    def notices(self, processes: Iterable[ProcessInfo]) -> list[str]:
        if self.attached is None:
            return []
        found = []
        for info in processes:
            if info.pid in self._done or info.exit_ns is not None or not looks_like_jvm(info):
                continue
            library = self._library(info.pid)
            if library is None:
                continue
            self._done.add(info.pid)
            if not same_file(library, self.attached):
                found.append(f"JVM pid {info.pid} ({info.role}) runs {library}, not the "
                             f"{self.attached} whose GC and thread probes are attached: its "
                             "GC pauses and Java thread names are missing (run the command with "
                             "JAVA_HOME set to the JDK it uses)")
        return found

    def _library(self, pid: int) -> str | None:
        tries = self._tries.get(pid, 0) + 1
        self._tries[pid] = tries
        if tries > _MAX_TRIES:
            self._done.add(pid)
            return None
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as handle:
                return mapped_libjvm(handle.read())
        except OSError:
            self._done.add(pid)
            return None
