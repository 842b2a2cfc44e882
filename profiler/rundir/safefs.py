"""File-system primitives that never follow a symbolic link in the last path component.

``record`` runs as root while the run directory may sit in /tmp or in a folder the
profiled user controls; a planted symlink must never redirect a root write. Everything
here works relative to an open directory descriptor (openat/mkdirat/renameat), creates
new files with O_EXCL|O_NOFOLLOW, and turns OSErrors into OutputErrors with a remedy.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from profiler.errors import OutputError

Owner = tuple[int, int]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def output_error(path: Path, error: OSError) -> OutputError:
    """An OutputError for a failed write to ``path`` with a remedy fitting the cause."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    if error.errno in _NO_SPACE:
        remedy = "free disk space or record to another file system with -o"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        remedy = "choose a writable output directory with -o"
    elif error.errno == errno.ELOOP:
        reason = "it is a symbolic link, which sparkprof refuses to write through"
        remedy = "remove the link or choose another -o"
    else:
        remedy = "check the output directory, or choose another one with -o"
    return OutputError(f"cannot write {path}: {reason}", remedy)


def open_dir(path: Path, dir_fd: int | None = None) -> int:
    """Open a directory without following a symlink at ``path`` itself (ELOOP for a symlink)."""
    try:
        return os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    except NotADirectoryError:
        # O_DIRECTORY is checked before O_NOFOLLOW: say "symlink" when that is the cause.
        if stat.S_ISLNK(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None
        raise


def make_subdir(parent_fd: int, name: str, owner: Owner | None) -> int:
    """mkdirat ``name`` (0755) unless it exists, then open it refusing a symlink; returns its fd."""
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        created = False
    fd = open_dir(Path(name), dir_fd=parent_fd)
    try:
        if created:
            os.fchmod(fd, 0o755)  # the umask must not make the profile unreadable
            if owner is not None:
                os.fchown(fd, *owner)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_new_file(dir_fd: int, name: str, data: bytes | memoryview, owner: Owner | None,
                   mode: int = 0o644, sync: bool = False) -> None:
    """Create ``name`` with O_EXCL|O_NOFOLLOW and write all of ``data``; unlink it on failure."""
    fd = os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=dir_fd)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, *owner)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_quietly(dir_fd, name)
        raise
    os.close(fd)


def replace_atomically(dir_fd: int, name: str, data: bytes, owner: Owner | None,
                       sync: bool = False) -> None:
    """Write ``.name.tmp`` then rename it over ``name``: readers see the old or the new file."""
    tmp = f".{name}.tmp"
    unlink_quietly(dir_fd, tmp)  # a stale tmp (crash) or a planted symlink: never written through
    write_new_file(dir_fd, tmp, data, owner, sync=sync)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        unlink_quietly(dir_fd, tmp)
        raise


def unlink_quietly(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass
