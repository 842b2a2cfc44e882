"""``read_eventlog``: stream a Spark event log into an ``EventLog`` of DataFrames.

The log is decoded chunk by chunk and split into lines; no parsed event is kept. Spark
writes ``{"Event":"<name>",...}`` with the name first, so the name is read from the line's
prefix and events no table needs (block updates, executor metric updates, SQL plan
updates...) are skipped without being parsed. Task-end lines, most of a log's bytes, go
straight to the task table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from profiler.errors import InputError
from profiler.eventlog.codecs import PLAIN, StreamDamage, codec_from_magic, decode
from profiler.eventlog.entities import EntityTables
from profiler.eventlog.locate import LogFiles, locate
from profiler.eventlog.model import EventLog, EventLogSource
from profiler.eventlog.tasks import TaskTable

_PREFIX = b'{"Event":"'
_TASK_END = b'{"Event":"SparkListenerTaskEnd",'
_TASK_INFO = b',"Task Info":{'
_ACCUMULABLES = b',"Accumulables":['
_ACCUMULABLES_END = b']},"Task Executor Metrics":{'
_ACCUMULABLES_END_OLD = b']},"Task Metrics":'  # Spark < 3.0: no executor metrics
_EXECUTOR_METRICS_END = b'},"Task Metrics":'
_SQL = b"org.apache.spark.sql.execution.ui."
_SPARK_NAMES = (b"SparkListener", b"org.apache.spark.")
# Malformed events raise one of these inside a handler; the line is then counted as bad.
_EVENT_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)
# How far into a log to look for its application start when choosing the newest log.
_PEEK_LINES = 200

Handler = Callable[[dict[str, Any]], None]


class _Builder:
    """Routes events to the tables and counts what it saw."""

    def __init__(self) -> None:
        self.tasks = TaskTable()
        self.entities = EntityTables()
        self.bad_lines = 0
        self.task_ends = 0
        self.counts: dict[bytes, int] = {}
        e = self.entities
        self.handlers: dict[bytes, Handler] = {
            b"SparkListenerLogStart": e.log_start,
            b"SparkListenerApplicationStart": e.application_start,
            b"SparkListenerApplicationEnd": e.application_end,
            b"SparkListenerEnvironmentUpdate": e.environment_update,
            b"SparkListenerJobStart": e.job_start,
            b"SparkListenerJobEnd": e.job_end,
            b"SparkListenerStageSubmitted": e.stage_submitted,
            b"SparkListenerStageCompleted": e.stage_completed,
            b"SparkListenerTaskStart": self.tasks.add_start,
            b"SparkListenerTaskEnd": self.tasks.add_end,
            b"SparkListenerExecutorAdded": e.executor_added,
            b"SparkListenerExecutorRemoved": e.executor_removed,
            b"SparkListenerBlockManagerAdded": e.block_manager_added,
            _SQL + b"SparkListenerSQLExecutionStart": e.sql_start,
            _SQL + b"SparkListenerSQLExecutionEnd": e.sql_end,
        }

    @property
    def spark_events(self) -> int:
        """Events with a name Spark uses: a file of other JSON is not an event log."""
        spark = sum(n for name, n in self.counts.items() if name.startswith(_SPARK_NAMES))
        return self.task_ends + spark

    def consume(self, lines: list[bytes]) -> None:
        loads = orjson.loads
        add_task_end = self.tasks.add_end
        for line in lines:
            if not line.startswith(_TASK_END):
                self._consume_other(line)
                continue
            lean = _without_repeated_metrics(line)  # the lean path: most lines and bytes
            try:
                try:
                    event = loads(lean)
                except orjson.JSONDecodeError:
                    if lean is line:
                        raise
                    event = loads(line)  # an unexpected layout: parse it whole
                add_task_end(event)
            except (orjson.JSONDecodeError, *_EVENT_ERRORS):
                self.bad_lines += 1
                continue
            self.task_ends += 1

    def _consume_other(self, line: bytes) -> None:
        name: bytes | None = None
        if line.startswith(_PREFIX):
            end = line.find(b'"', len(_PREFIX))
            name = line[len(_PREFIX) : end] if end > 0 else None
        if name is not None and name not in self.handlers:
            # Not needed by any table: skip the parse, but a cut line is still damage.
            if line.rstrip()[-1:] == b"}":
                self.counts[name] = self.counts.get(name, 0) + 1
            else:
                self.bad_lines += 1
            return
        if not line.strip():
            return
        try:
            event = orjson.loads(line)
            name = event["Event"].encode()
            handler = self.handlers.get(name)
            if handler is not None:
                handler(event)
        except (orjson.JSONDecodeError, *_EVENT_ERRORS):
            self.bad_lines += 1
            return
        self.counts[name] = self.counts.get(name, 0) + 1

    def event_counts(self) -> dict[str, int]:
        counts = {name.decode(errors="replace"): n for name, n in self.counts.items()}
        if self.task_ends:
            counts["SparkListenerTaskEnd"] = counts.get("SparkListenerTaskEnd", 0) + self.task_ends
        return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _without_repeated_metrics(line: bytes) -> bytes:
    """A task-end line without Task Info's accumulables and the executor-metrics object.

    Both repeat what Task Metrics holds and are ~40% of the line, so cutting them halves
    the parse. Spark writes the accumulables as Task Info's last key and the executor
    metrics as a flat object right before Task Metrics; anything else is left whole. In
    valid JSON ',"' never occurs inside a string, so the markers found are structural.
    """
    info = line.find(_TASK_INFO)
    start = line.find(_ACCUMULABLES, info) if info > 0 else -1
    if start < 0:
        return line
    end = line.find(_ACCUMULABLES_END, start)
    if end < 0:
        end = line.find(_ACCUMULABLES_END_OLD, start)
        return line if end < 0 else line[:start] + line[end + 1 :]
    metrics_start = end + len(_ACCUMULABLES_END)
    metrics_end = line.find(_EXECUTOR_METRICS_END, metrics_start)
    if metrics_end < 0 or line.find(b"{", metrics_start, metrics_end) >= 0:
        return line[:start] + line[end + 1 :]  # keep the executor metrics
    return line[:start] + b"}" + line[metrics_end + 1 :]


def read_eventlog(path: str | os.PathLike[str], app_id: str | None = None) -> EventLog:
    """Read one application's Spark event log.

    ``path`` is a log file (plain, .zstd, .lz4 or .snappy; ``.inprogress`` allowed), a rolling
    ``eventlog_v2_*`` directory, or a directory of logs: then the one for ``app_id``, else the
    newest. Malformed or truncated lines are skipped and counted in ``EventLog.bad_lines``;
    a stream cut short keeps what decoded and adds a line to ``EventLog.warnings``.
    Raises ``InputError`` for a missing path, an unsupported codec or a file that is not
    an event log.
    """
    log = locate(path, app_id, _peek_app_start)
    builder = _Builder()
    warnings: list[str] = []
    compressed = uncompressed = 0
    codecs: list[str] = []
    for part, named_codec in zip(log.parts, log.codecs, strict=True):
        damage = StreamDamage()
        with _open(part) as fh:
            codec = _sniff_codec(fh, named_codec)
            if codec is None:
                damage.add(f"not {named_codec} data although the name says so; skipped")
            else:
                codecs.append(codec)
                for lines, size in _lines(decode(fh, codec, damage)):
                    uncompressed += size
                    builder.consume(lines)
            compressed += fh.tell()
        warnings.extend(f"{part.name}: {problem}" for problem in damage.problems)
    if builder.spark_events == 0:
        reason = f": {warnings[0]}" if warnings else " (no events found)"
        raise InputError(
            f"not a Spark event log: {path}{reason}",
            "pass a file written by spark.eventLog.enabled=true (or its eventlog_v2_* dir)",
        )
    entities = builder.entities
    result = EventLog(
        app=entities.app_frame(),
        jobs=entities.jobs_frame(),
        stages=entities.stages_frame(),
        tasks=builder.tasks.frame(),
        executors=entities.executors_frame(),
        sql=entities.sql_frame(),
        spark_version=entities.spark_version,
        source=EventLogSource(
            path=Path(path),
            files=log.parts,
            layout=log.layout,
            codec=codecs[0] if codecs else log.codecs[0],
            in_progress=log.in_progress or (not entities.app.get("complete")),
            compressed_bytes=compressed,
            uncompressed_bytes=uncompressed,
        ),
        bad_lines=builder.bad_lines,
        warnings=warnings,
        event_counts=builder.event_counts(),
        spark_properties=entities.spark_properties,
    )
    if app_id is not None and result.app_id is not None and result.app_id != app_id:
        raise InputError(
            f"{path} holds application {result.app_id}, not {app_id}",
            "drop --app-id or pass the directory that holds both logs",
        )
    return result


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error


def _sniff_codec(fh: Any, named: str) -> str | None:
    """The codec the file's magic bytes show (trusted over the name: renamed files), or
    None when the name promises compressed data and the bytes are something else."""
    head = fh.peek(16)[:16]
    found = codec_from_magic(head)
    if found is not None:
        return found
    if named != PLAIN and head:
        return None
    return PLAIN


def _lines(chunks: Iterator[bytes]) -> Iterator[tuple[list[bytes], int]]:
    """Batches of complete lines (and the bytes they came from); a cut last line comes last."""
    pending: list[bytes] = []
    try:
        for chunk in chunks:
            lines = chunk.split(b"\n")
            if len(lines) == 1:
                pending.append(chunk)  # no line end yet (a long line spanning chunks)
                yield [], len(chunk)
                continue
            if pending:
                pending.append(lines[0])
                lines[0] = b"".join(pending)
                pending = []
            last = lines.pop()
            if last:
                pending.append(last)
            yield lines, len(chunk)
    except OSError as error:
        raise InputError(f"read error: {error.strerror}") from error
    if pending:
        tail = b"".join(pending)
        yield [tail], len(tail)


def _peek_app_start(log: LogFiles) -> int | None:
    """Application start (epoch ms) from the head of ``log``; InputError if not a log."""
    seen_event = False
    with _open(log.parts[0]) as fh:
        codec = _sniff_codec(fh, log.codecs[0])
        if codec is None:
            raise InputError(f"not {log.codecs[0]} data: {log.parts[0]}")
        for line in _head_lines(decode(fh, codec, StreamDamage()), _PEEK_LINES):
            if b"SparkListenerApplicationStart" in line:
                try:
                    start = orjson.loads(line).get("Timestamp")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                return start if isinstance(start, int) else None
            seen_event = seen_event or line.startswith(_PREFIX)
    if not seen_event:
        raise InputError(f"not a Spark event log: {log.parts[0]}")
    return None


def _head_lines(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    count = 0
    for lines, _ in _lines(chunks):
        for line in lines:
            yield line
            count += 1
            if count >= limit:
                return
