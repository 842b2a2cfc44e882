"""RunWriter: buffered, crash-safe writing of a run directory (format: docs/format.md).

Rows are appended per table, validated against ``schema.TABLES`` and buffered as Arrow
record batches. A flush writes each non-empty buffer as one new Parquet part
(``<table>/part-NNNNN.parquet``, written as ``.part-NNNNN.parquet.tmp`` then renamed) and
rewrites meta.json atomically, so a crash or ``kill -9`` loses at most the rows appended
since the last flush. Nothing is ever written through a symlink (see ``safefs``). Safe to
call from several threads (one lock).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from profiler import __version__
from profiler.errors import OutputError
from profiler.rundir import histogram, safefs
from profiler.rundir.schema import (
    DEFAULT_BUCKET_NS,
    DERIVED_COLUMNS,
    FORMAT_VERSION,
    append_columns,
    table_schema,
)

# Parts in progress are ".part-N.parquet.tmp": the leading dot makes pyarrow, pandas and Spark
# skip them when reading a table folder as a dataset.
_PART_NAME = re.compile(r"^\.?part-(\d+)\.parquet(\.tmp)?$")
ColumnValues: TypeAlias = "np.ndarray[Any, Any] | Sequence[Any] | pa.Array"


def utc_now_iso() -> str:
    """The current UTC time as ``2026-11-21T12:00:00.123Z``."""
    now = dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _TableBuffer:
    name: str
    schema: pa.Schema
    batches: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    first_append: float = 0.0  # time.monotonic() of the oldest buffered row
    dir_fd: int | None = None
    next_part: int = 0
    parts_written: int = 0
    rows_written: int = 0


class RunWriter:
    """Writes the tables and meta.json of an existing run directory ``run_dir``."""

    def __init__(self, run_dir: Path, owner: tuple[int, int] | None = None,
                 flush_interval_s: float = 2.0, max_buffered_rows: int = 500_000) -> None:
        self.run_dir = Path(run_dir)
        self._owner = owner
        self._flush_interval_s = flush_interval_s
        self._max_buffered_rows = max_buffered_rows
        self._lock = threading.Lock()
        self._buffers: dict[str, _TableBuffer] = {}
        self._closed = False
        try:
            self._dir_fd = safefs.open_dir(self.run_dir)
        except OSError as error:
            raise safefs.output_error(self.run_dir, error) from error
        self._meta: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "tool_version": __version__,
            "status": "recording",
            "started_utc": utc_now_iso(),
            "bucket_ns": DEFAULT_BUCKET_NS,
        }
        try:
            self._write_meta()
        except OutputError:
            os.close(self._dir_fd)
            raise

    # -- appending ---------------------------------------------------------------------------

    def append(self, table: str, columns: Mapping[str, ColumnValues]) -> None:
        """Buffer rows for ``table``; ValueError names a missing, extra or mistyped column.

        ``syscalls`` takes ``hist`` as the full 32 slots a row (a (rows, 32) array); it is
        stored trimmed. When the buffer reaches ``max_buffered_rows`` the part is written at
        once, so this can raise OutputError like ``flush``.
        """
        batch = _to_batch(table, columns)
        if batch.num_rows == 0:
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("RunWriter.append after close()")
            buffer = self._buffer(table)
            if buffer.rows == 0:
                buffer.first_append = time.monotonic()
            buffer.batches.append(batch)
            buffer.rows += batch.num_rows
            if buffer.rows >= self._max_buffered_rows:
                self._flush_tables([buffer])  # keeps memory bounded even without maybe_flush

    def _buffer(self, table: str) -> _TableBuffer:
        buffer = self._buffers.get(table)
        if buffer is None:
            buffer = _TableBuffer(table, table_schema(table))
            self._buffers[table] = buffer
        return buffer

    # -- flushing ----------------------------------------------------------------------------

    def maybe_flush(self) -> None:
        """Write the tables whose buffer is older than the flush interval or too big."""
        with self._lock:
            now = time.monotonic()
            total = sum(b.rows for b in self._buffers.values())
            due = [b for b in self._buffers.values() if b.rows and (
                total >= self._max_buffered_rows
                or now - b.first_append >= self._flush_interval_s)]
            if due:
                self._flush_tables(due)

    def flush(self) -> None:
        """Write every buffered row now."""
        with self._lock:
            self._flush_tables(list(self._buffers.values()))

    def _flush_tables(self, buffers: list[_TableBuffer]) -> None:
        # Every table is attempted even when one fails (one bad table must not cost the others
        # their data); meta.json is rewritten either way; then the first error is raised.
        first_error: OutputError | None = None
        for buffer in buffers:
            try:
                self._write_part(buffer)
            except OutputError as error:
                first_error = first_error or error
        try:
            self._write_meta()
        except OutputError as error:
            first_error = first_error or error
        if first_error is not None:
            raise first_error

    def _write_part(self, buffer: _TableBuffer) -> None:
        if buffer.rows == 0:
            return
        arrow = pa.Table.from_batches(buffer.batches, schema=buffer.schema)
        data = memoryview(_parquet_bytes(arrow))
        path = self.run_dir / buffer.name
        try:
            dir_fd = self._table_dir(buffer)  # also finds the next free part number
            name = f"part-{buffer.next_part:05d}.parquet"
            path = path / name
            safefs.write_new_file(dir_fd, f".{name}.tmp", data, self._owner)
            os.rename(f".{name}.tmp", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as error:
            raise safefs.output_error(path, error) from error
        buffer.next_part += 1
        buffer.parts_written += 1
        buffer.rows_written += buffer.rows
        buffer.batches.clear()
        buffer.rows = 0

    def _table_dir(self, buffer: _TableBuffer) -> int:
        if buffer.dir_fd is None:
            buffer.dir_fd = safefs.make_subdir(self._dir_fd, buffer.name, self._owner)
            # Continue numbering after any part already there (never replace a part).
            numbers = [int(m.group(1)) for m in map(_PART_NAME.match, os.listdir(buffer.dir_fd))
                       if m is not None]
            buffer.next_part = max(numbers, default=-1) + 1
        return buffer.dir_fd

    # -- metadata ----------------------------------------------------------------------------

    @property
    def meta(self) -> dict[str, Any]:
        """A copy of the metadata as last written."""
        with self._lock:
            return json.loads(_meta_json(self._meta))  # type: ignore[no-any-return]

    def update_meta(self, **fields: Any) -> None:
        """Merge top-level keys into meta.json (a given key replaces its old value), rewrite it."""
        with self._lock:
            self._meta.update(fields)
            self._write_meta()

    def _write_meta(self, sync: bool = False) -> None:
        written = {b.name: {"parts": b.parts_written, "rows": b.rows_written}
                   for b in self._buffers.values() if b.parts_written}
        self._meta["tables"] = dict(sorted(written.items()))
        self._meta["updated_utc"] = utc_now_iso()
        data = _meta_json(self._meta).encode()
        try:
            safefs.replace_atomically(self._dir_fd, "meta.json", data, self._owner, sync=sync)
        except OSError as error:
            raise safefs.output_error(self.run_dir / "meta.json", error) from error

    # -- closing -----------------------------------------------------------------------------

    def close(self, status: Literal["complete", "incomplete"]) -> None:
        """Flush everything, record ``status`` and the end time; a second call does nothing.

        When some rows cannot be written the status becomes "incomplete" and the first
        OutputError is raised after everything else was attempted.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            first_error: OutputError | None = None
            for buffer in self._buffers.values():
                try:
                    self._write_part(buffer)
                except OutputError as error:
                    first_error = first_error or error
            self._meta["status"] = "incomplete" if first_error else status
            self._meta.setdefault("ended_utc", utc_now_iso())
            try:
                self._write_meta(sync=True)
                os.fsync(self._dir_fd)
            except (OutputError, OSError) as error:
                first_error = first_error or _as_output_error(self.run_dir, error)
            self._release_fds()
            if first_error is not None:
                raise first_error

    def _release_fds(self) -> None:
        for buffer in self._buffers.values():
            if buffer.dir_fd is not None:
                os.close(buffer.dir_fd)
                buffer.dir_fd = None
        os.close(self._dir_fd)

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close("complete" if kind is None else "incomplete")


def _to_batch(table: str, columns: Mapping[str, ColumnValues]) -> pa.RecordBatch:
    schema = table_schema(table)
    expected = append_columns(table)
    missing = [name for name in expected if name not in columns]
    extra = sorted(set(columns) - set(expected))
    if missing or extra:
        raise ValueError(f"table {table!r}: missing column(s) {missing}, extra column(s) {extra}")
    if "hist_first_bucket" in DERIVED_COLUMNS.get(table, ()):
        columns = _with_trimmed_hist(table, columns)
    arrays = [_to_array(table, f, columns[f.name]) for f in schema]
    lengths = {f.name: len(a) for f, a in zip(schema, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"table {table!r}: columns differ in length: {lengths}")
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _with_trimmed_hist(table: str, columns: Mapping[str, ColumnValues],
                       ) -> dict[str, ColumnValues]:
    try:
        first, hist = histogram.trim(histogram.dense_matrix(columns["hist"]))
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise ValueError(f"table {table!r} column 'hist': {error}") from error
    return {**columns, "hist_first_bucket": first, "hist": hist}


def _to_array(table: str, column: pa.Field, values: ColumnValues) -> pa.Array:
    try:
        if isinstance(values, pa.Array):
            array = values if values.type == column.type else values.cast(column.type)
        else:
            array = pa.array(values, type=column.type)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise ValueError(f"table {table!r} column {column.name!r}: {error}") from error
    if not column.nullable and array.null_count:
        raise ValueError(f"table {table!r} column {column.name!r}: null values not allowed")
    return array


def _parquet_bytes(table: pa.Table) -> pa.Buffer:
    # Serialised in memory first so a write error can be handled (and the tmp file removed)
    # in one place; parts are small (one flush interval).
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", use_dictionary=True)
    return sink.getvalue()


def _meta_json(meta: Mapping[str, Any]) -> str:
    return json.dumps(meta, indent=2, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"meta.json value of type {type(value).__name__} is not JSON serialisable")


def _as_output_error(path: Path, error: OutputError | OSError) -> OutputError:
    return error if isinstance(error, OutputError) else safefs.output_error(path, error)
