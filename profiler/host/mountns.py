"""mount(2) and a private mount namespace, through libc (no dependency on util-linux).

The doctor's probe self-tests use a private namespace to see the host as ``record`` will
leave it (tracefs mounted, fallback headers linked) without changing the host itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _raise_errno(what: str) -> None:
    errno = ctypes.get_errno()
    raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount_filesystem(fstype: str, target: Path, source: str | None = None) -> None:
    """``mount -t fstype source target``; raises OSError on failure (needs root)."""
    name = (source or fstype).encode()
    if _libc().mount(name, str(target).encode(), fstype.encode(), 0, None) != 0:
        _raise_errno(f"mount -t {fstype} {target}")


def enter_private_mount_namespace() -> None:
    """Move this process into its own mount namespace whose mounts never reach the host."""
    libc = _libc()
    if libc.unshare(_CLONE_NEWNS) != 0:
        _raise_errno("unshare(CLONE_NEWNS)")
    # Without this, mounts made here would propagate back to the host's shared mounts.
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        _raise_errno("making / private")
