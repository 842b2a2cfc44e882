"""tracefs: BCC finds tracepoints through it, and a fresh machine may not have it mounted."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from profiler.host.mountns import mount_filesystem

TRACEFS_DIR = Path("/sys/kernel/tracing")
DEBUGFS_DIR = Path("/sys/kernel/debug")
_MOUNTS = Path("/proc/self/mounts")


def mounted_filesystems(mounts_text: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) pairs from the text of ``/proc/self/mounts``."""
    pairs = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            # Mount points escape spaces as \040; none of ours contain any.
            pairs.append((fields[1], fields[2]))
    return pairs


def _mounts(mounts_path: Path = _MOUNTS) -> list[tuple[str, str]]:
    try:
        return mounted_filesystems(mounts_path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def tracefs_mounted(mounts_path: Path = _MOUNTS) -> bool:
    """True when a tracefs is mounted anywhere (BCC looks in debugfs/tracing, then tracing)."""
    return any(fstype == "tracefs" for _, fstype in _mounts(mounts_path))


def debugfs_mounted(mounts_path: Path = _MOUNTS) -> bool:
    return any(fstype == "debugfs" for _, fstype in _mounts(mounts_path))


def ensure_tracefs() -> bool:
    """Mount tracefs at /sys/kernel/tracing (and debugfs at /sys/kernel/debug) when absent.

    Needs root to mount; returns whether tracefs is mounted afterwards. Call it before
    ``import bcc``: BCC picks its tracefs path once, at import time.
    """
    if os.geteuid() == 0 and not debugfs_mounted() and DEBUGFS_DIR.is_dir():
        # debugfs is a convenience (BCC reads its kprobe blacklist there); tracefs is what counts.
        with contextlib.suppress(OSError):
            mount_filesystem("debugfs", DEBUGFS_DIR)
    if tracefs_mounted():
        return True
    if os.geteuid() != 0 or not TRACEFS_DIR.is_dir():
        return False
    try:
        mount_filesystem("tracefs", TRACEFS_DIR)
    except OSError:
        return False
    return tracefs_mounted()
