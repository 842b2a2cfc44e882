"""Pieces of meta.json that ``record`` contributes: clock anchors, host, command, user."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_ANCHOR_SAMPLES = 7


@dataclass(frozen=True)
class ClockAnchor:
    """A CLOCK_MONOTONIC and a CLOCK_REALTIME reading taken as close together as we can."""

    monotonic_ns: int
    realtime_ns: int
    uncertainty_ns: int  # width of the window both readings fall in

    def as_meta(self) -> dict[str, int]:
        return {"monotonic_ns": self.monotonic_ns, "realtime_ns": self.realtime_ns,
                "uncertainty_ns": self.uncertainty_ns}


def clock_anchor(samples: int = _ANCHOR_SAMPLES) -> ClockAnchor:
    """Read realtime between two monotonic readings, a few times; keep the tightest pair
    (the realtime reading is placed at the midpoint of its monotonic window)."""
    best: ClockAnchor | None = None
    for _ in range(max(samples, 1)):
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        realtime = time.time_ns()
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        candidate = ClockAnchor((before + after) // 2, realtime, after - before)
        if best is None or candidate.uncertainty_ns < best.uncertainty_ns:
            best = candidate
    assert best is not None
    return best


def host_meta() -> dict[str, Any]:
    uname = platform.uname()
    return {
        "host": socket.gethostname(),
        "kernel": {"release": uname.release, "version": uname.version, "machine": uname.machine},
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }


def start_meta(argv: Sequence[str], command: Sequence[str] | None, pids: Sequence[int],
               uid: int, gid: int, options: dict[str, Any], anchor: ClockAnchor,
               bucket_ns: int) -> dict[str, Any]:
    """What meta.json says from the start of a recording (before anything is captured)."""
    return {
        **host_meta(),
        "argv": list(argv),
        "command": list(command) if command is not None else None,
        "attached_pids": list(pids),
        "uid": uid,
        "gid": gid,
        "options": options,
        "bucket_ns": bucket_ns,
        "clock": {"start": anchor.as_meta()},
        "exit_code": None,
    }
