"""Find the files of one application's event log under a path the user gave.

A path is one of:
- a single-file log: ``<app_id>[_<attempt>][.<codec>][.inprogress]`` (Spark 3.x layout);
- a rolling log directory ``eventlog_v2_<app_id>/`` holding ``events_<n>_<app_id>[.<codec>]``
  parts (read in order of n; a ``.compact`` part replaces the parts before it) and an
  ``appstatus_<app_id>[.inprogress]`` marker (Spark 4 default);
- a directory of such logs (``spark.eventLog.dir``): the one named for ``app_id``, else
  the newest by application start time (read from the log's head), else by mtime.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from profiler.errors import InputError
from profiler.eventlog.codecs import codec_from_name

ROLLING_PREFIX = "eventlog_v2_"
_PART = re.compile(r"^events_(\d+)_(.+?)(\.compact)?$")
_APPSTATUS_PREFIX = "appstatus_"
_IN_PROGRESS = ".inprogress"


@dataclass(frozen=True)
class LogFiles:
    """The parts of one application's log, in reading order."""

    parts: tuple[Path, ...]
    codecs: tuple[str, ...]
    layout: str  # "file" or "rolling"
    in_progress: bool
    name_app_id: str  # the app id the file or directory name carries

    @property
    def newest_mtime(self) -> float:
        return max((_mtime(p) for p in self.parts), default=0.0)


# Reads the application start (epoch ms) from a log's first events; None when it has none,
# raises InputError when the file is not an event log at all.
StartPeeker = Callable[[LogFiles], int | None]


def locate(path: str | os.PathLike[str], app_id: str | None, peek: StartPeeker) -> LogFiles:
    """The log to read under ``path``; ``InputError`` when there is none."""
    root = Path(path)
    if not root.exists():
        raise InputError(
            f"no such file or directory: {root}", "pass an event-log file or directory"
        )
    if root.is_file():
        return single_file(root)
    if not root.is_dir():
        raise InputError(f"not a regular file or directory: {root}")
    if _is_rolling_dir(root):
        return rolling_dir(root)
    return _pick(root, _candidates(root), app_id, peek)


def single_file(path: Path) -> LogFiles:
    name = path.name
    return LogFiles(
        parts=(path,),
        codecs=(codec_from_name(name),),
        layout="file",
        in_progress=name.endswith(_IN_PROGRESS),
        name_app_id=_app_id_of_file(name),
    )


def rolling_dir(directory: Path) -> LogFiles:
    numbered: list[tuple[int, bool, Path]] = []
    in_progress = False
    for entry in _list(directory):
        if entry.name.startswith(_APPSTATUS_PREFIX):
            in_progress = in_progress or entry.name.endswith(_IN_PROGRESS)
            continue
        match = _PART.match(entry.name)
        if match and entry.is_file():
            numbered.append((int(match.group(1)), bool(match.group(3)), entry))
    compacted = [n for n, is_compact, _ in numbered if is_compact]
    if compacted:  # the newest compact part stands for every part up to its index
        last = max(compacted)
        numbered = [p for p in numbered if p[0] > last or (p[0] == last and p[1])]
    if not numbered:
        raise InputError(
            f"no events_<n>_<app> files in rolling event-log directory {directory}",
            "the application may not have written any events yet",
        )
    parts = tuple(p for _, _, p in sorted(numbered, key=lambda item: (item[0], not item[1])))
    name_app_id = directory.name.removeprefix(ROLLING_PREFIX)
    return LogFiles(
        parts=parts,
        codecs=tuple(codec_from_name(p.name) for p in parts),
        layout="rolling",
        in_progress=in_progress,
        name_app_id=name_app_id,
    )


def _is_rolling_dir(directory: Path) -> bool:
    if directory.name.startswith(ROLLING_PREFIX):
        return True
    return any(_PART.match(entry.name) and entry.is_file() for entry in _list(directory))


def _candidates(directory: Path) -> list[Path]:
    found = []
    for entry in _list(directory):
        name = entry.name
        if name.startswith(".") or name.endswith(".crc"):
            continue
        if (entry.is_dir() and name.startswith(ROLLING_PREFIX)) or entry.is_file():
            found.append(entry)
    return found


def _pick(
    directory: Path, candidates: list[Path], app_id: str | None, peek: StartPeeker
) -> LogFiles:
    logs: list[LogFiles] = []
    for candidate in candidates:
        try:
            logs.append(rolling_dir(candidate) if candidate.is_dir() else single_file(candidate))
        except InputError:
            continue  # an unsupported codec or an empty rolling dir among others: not ours
    if app_id is not None:
        matching = [log for log in logs if _names_app(log.name_app_id, app_id)]
        if not matching:
            known = ", ".join(sorted(log.name_app_id for log in logs)[:8]) or "none"
            raise InputError(
                f"no event log for application {app_id!r} in {directory}",
                f"application ids found there: {known}",
            )
        logs = matching
    elif len(logs) > 1:
        peek = functools.lru_cache(maxsize=None)(peek)  # each head is read once
        logs = [log for log in logs if _looks_like_log(log, peek)]
    if not logs:
        raise InputError(
            f"no Spark event logs in {directory}",
            "pass the directory set as spark.eventLog.dir, or one log file or eventlog_v2_* dir",
        )
    if len(logs) == 1:
        return logs[0]
    return max(logs, key=lambda log: (_start_or_mtime(log, peek), log.newest_mtime))


def _names_app(name_app_id: str, app_id: str) -> bool:
    # Spark appends "_<attempt id>" to the app id in file names when there is an attempt.
    return name_app_id == app_id or name_app_id.startswith(app_id + "_")


def _looks_like_log(log: LogFiles, peek: StartPeeker) -> bool:
    try:
        peek(log)
    except InputError:
        return False
    return True


def _start_or_mtime(log: LogFiles, peek: StartPeeker) -> float:
    try:
        start = peek(log)
    except InputError:
        start = None
    return float(start) if start is not None else log.newest_mtime * 1000.0


def _app_id_of_file(name: str) -> str:
    base = name.removesuffix(_IN_PROGRESS)
    codec_suffix = re.search(r"\.(zstd|zst|lz4|snappy|lzf)$", base)
    return base[: codec_suffix.start()] if codec_suffix else base


def _list(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError as error:
        raise InputError(f"cannot list {directory}: {error.strerror}") from error


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
