"""Creating the run directory itself: default name, --force semantics, ownership.

``--force`` replaces only a previous run directory (one whose meta.json has a
format_version) or an empty directory, never an arbitrary one, and nothing is done
through a symbolic link: ``record`` runs as root and DIR may be in /tmp.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
from pathlib import Path

from profiler.errors import OutputError
from profiler.rundir import safefs

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_LABEL = 48
_REMEDY = "use --force or another -o"


def default_run_dir_name(label: str, now: dt.datetime) -> str:
    """``sparkprof-<label>-<UTC yyyymmddTHHMMSSZ>``; a naive ``now`` is taken as UTC."""
    clean = _UNSAFE_CHARS.sub("-", label).strip("-.")[:_MAX_LABEL].strip("-.") or "run"
    utc = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(
        dt.UTC)
    return f"sparkprof-{clean}-{utc.strftime('%Y%m%dT%H%M%SZ')}"


def create_run_dir(path: Path, force: bool, owner: tuple[int, int] | None) -> Path:
    """Create DIR (0755, owned by ``owner``); returns its absolute path. OutputError: refused."""
    path = Path(os.path.abspath(path))  # not resolve(): a symlinked DIR must stay visible
    try:
        parent_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise OutputError(f"cannot create {path}: parent directory {path.parent} is not usable "
                          f"({os.strerror(error.errno or 0)})",
                          "create the parent directory first or choose another -o") from error
    try:
        _make_fresh(parent_fd, path, force, owner)
    finally:
        os.close(parent_fd)
    return path


def _make_fresh(parent_fd: int, path: Path, force: bool, owner: tuple[int, int] | None) -> None:
    name = path.name
    try:
        existing: os.stat_result | None = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        existing = None
    reuse = existing is not None and _clear_existing(parent_fd, path, existing, force, owner)
    try:
        if not reuse:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
        fd = safefs.open_dir(Path(name), dir_fd=parent_fd)
    except FileExistsError as error:  # someone created it between our check and mkdir
        raise OutputError(f"{path} exists", _REMEDY) from error
    except OSError as error:
        raise safefs.output_error(path, error) from error
    try:
        os.fchmod(fd, 0o755)
        if owner is not None:
            os.fchown(fd, *owner)
    except OSError as error:
        raise safefs.output_error(path, error) from error
    finally:
        os.close(fd)


def _clear_existing(parent_fd: int, path: Path, existing: os.stat_result, force: bool,
                    owner: tuple[int, int] | None) -> bool:
    """Deal with an existing DIR: True to reuse it (empty), False once removed; else refuse."""
    if stat.S_ISLNK(existing.st_mode):
        raise OutputError(f"{path} is a symbolic link; sparkprof never writes through one",
                          "remove the link or choose another -o")
    if stat.S_ISDIR(existing.st_mode) and _is_empty_dir(parent_fd, path):
        allowed = {0, os.geteuid()} | ({owner[0]} if owner else set())
        if existing.st_uid not in allowed:
            raise OutputError(f"{path} is owned by another user (uid {existing.st_uid})",
                              "choose another -o")
        return True
    if not force:
        raise OutputError(f"{path} exists", _REMEDY)
    if not stat.S_ISDIR(existing.st_mode) or not _is_run_dir(parent_fd, path):
        raise OutputError(f"{path} exists and is not a sparkprof run directory; --force only "
                          "replaces a previous run directory", "remove it yourself or choose "
                          "another -o")
    try:
        shutil.rmtree(path)  # the fd-based rmtree: never follows symlinks inside the tree
    except OSError as error:
        raise OutputError(f"cannot remove the previous run directory {path}: {error.strerror}",
                          "remove it yourself or choose another -o") from error
    return False


def _is_empty_dir(parent_fd: int, path: Path) -> bool:
    fd = safefs.open_dir(Path(path.name), dir_fd=parent_fd)
    try:
        return not os.listdir(fd)
    finally:
        os.close(fd)


def _is_run_dir(parent_fd: int, path: Path) -> bool:
    """True when DIR holds a regular meta.json (not a symlink) with a format_version."""
    dir_fd = safefs.open_dir(Path(path.name), dir_fd=parent_fd)
    try:
        # O_NONBLOCK: a FIFO planted as meta.json must not hang a root process.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open("meta.json", flags, dir_fd=dir_fd)
    except OSError:
        return False
    finally:
        os.close(dir_fd)
    try:
        with os.fdopen(fd, "rb") as meta_file:
            if not stat.S_ISREG(os.fstat(meta_file.fileno()).st_mode):
                return False
            meta = json.loads(meta_file.read(1 << 20))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "format_version" in meta
