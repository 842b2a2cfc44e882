"""Finding the Spark event log of a recorded run and bringing it into DIR/eventlog.

Spark writes into DIR/eventlog unless the user's own configuration points elsewhere; then
the newest application log written during the run is copied in, by a ``cp`` running as the
invoking user (root must not read, for the user, files the user could not read).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from profiler.record.user import InvokingUser

EVENTLOG_SUBDIR = "eventlog"
DEFAULT_SPARK_EVENTS = "/tmp/spark-events"
_COMPRESSION_SUFFIXES = (".lz4", ".lzf", ".snappy", ".zstd", ".zst")
_INPROGRESS = ".inprogress"
_ROLLING_PREFIX = "eventlog_v2_"
# Slack for file-system timestamp granularity when comparing with the run's start.
_MTIME_SLACK_S = 2.0
_COPY_TIMEOUT_S = 300


@dataclass(frozen=True)
class FoundEventLog:
    path: Path  # inside DIR/eventlog
    app_id: str | None
    source: Path  # where Spark wrote it
    copied: bool


def app_id_from_log_name(name: str) -> str | None:
    """``eventlog_v2_local-17...`` / ``app-2026...-0001.zstd.inprogress`` -> the app id."""
    base = name[len(_ROLLING_PREFIX):] if name.startswith(_ROLLING_PREFIX) else name
    if base.endswith(_INPROGRESS):
        base = base[: -len(_INPROGRESS)]
    for suffix in _COMPRESSION_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base or None


def local_log_dir(location: str) -> Path | None:
    """A Spark event-log location as a local path (None for hdfs://, s3a:// ...)."""
    if location.startswith("file://"):
        return Path(location[len("file://"):])
    if location.startswith("file:"):
        return Path(location[len("file:"):])
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location):
        return None
    return Path(location)


def eventlog_dirs_in_cmdline(cmdline: Sequence[str]) -> list[str]:
    """``spark.eventLog.dir`` values in a process's command line (-D or --conf forms)."""
    found: list[str] = []
    for arg in cmdline:
        for prefix in ("-Dspark.eventLog.dir=", "spark.eventLog.dir="):
            if arg.startswith(prefix):
                found.append(arg[len(prefix):])
    return found


def newest_log(directory: Path, since_s: float) -> Path | None:
    """The application log in ``directory`` changed most recently, at or after ``since_s``."""
    best: tuple[float, Path] | None = None
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        changed = _last_change(entry)
        if changed is None or changed < since_s - _MTIME_SLACK_S:
            continue
        if best is None or changed > best[0]:
            best = (changed, Path(entry.path))
    return best[1] if best else None


def _last_change(entry: os.DirEntry[str]) -> float | None:
    """mtime of a log file, or the newest mtime inside a rolling log directory."""
    try:
        if entry.is_symlink():
            return None
        if entry.is_file():
            return entry.stat().st_mtime
        if entry.is_dir() and entry.name.startswith(_ROLLING_PREFIX):
            times = [entry.stat().st_mtime]
            times += [inner.stat().st_mtime for inner in os.scandir(entry.path)
                      if inner.is_file(follow_symlinks=False)]
            return max(times)
    except OSError:
        return None
    return None


def collect_eventlog(run_dir: Path, search: Iterable[str], since_s: float,
                     user: InvokingUser | None, notices: list[str]) -> FoundEventLog | None:
    """The run's event log: the newest in DIR/eventlog, else the newest written since
    ``since_s`` in one of the ``search`` locations, copied into DIR/eventlog."""
    target = run_dir / EVENTLOG_SUBDIR
    own = newest_log(target, since_s)
    if own is not None:
        logs = [name for name in os.listdir(target) if not name.startswith(".")]
        if len(logs) > 1:
            notices.append(f"{len(logs)} Spark applications wrote event logs; "
                           f"meta.eventlog names the newest ({own.name})")
        return FoundEventLog(own, app_id_from_log_name(own.name), own, copied=False)
    for location in dict.fromkeys(search):
        directory = local_log_dir(location)
        if directory is None:
            notices.append(f"the event log goes to {location}, which sparkprof cannot read; "
                           "copy it into DIR/eventlog to correlate stages")
            continue
        source = newest_log(directory, since_s)
        if source is None:
            continue
        copied = _copy_as_user(source, target, user, notices)
        if copied is not None:
            return FoundEventLog(copied, app_id_from_log_name(source.name), source, True)
    return None


def _copy_as_user(source: Path, target_dir: Path, user: InvokingUser | None,
                  notices: list[str]) -> Path | None:
    command = ["cp", "-R", "-P", "--preserve=timestamps", "--", str(source), str(target_dir)]
    credentials = {}
    if user is not None and not user.is_root and os.geteuid() == 0:
        credentials = {"user": user.uid, "group": user.gid, "extra_groups": list(user.groups)}
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=_COPY_TIMEOUT_S, **credentials)  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired) as error:
        notices.append(f"could not copy the event log {source}: {error}")
        return None
    if result.returncode != 0:
        notices.append(f"could not copy the event log {source}: {result.stderr.strip()}")
        return None
    return target_dir / source.name
