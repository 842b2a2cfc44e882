"""Reading a run directory into pandas: meta.json checks, part discovery, typed frames.

Needs only pyarrow and pandas (no root, BCC, Java or Spark). Column dtypes follow the schema,
not the data, so an empty table and a full one have the same dtypes:
int columns -> numpy int32/int64, nullable ints -> pandas Int32/Int64, strings ->
``string[pyarrow]``, lists -> ``pd.ArrowDtype(list<...>)`` (zero-copy; 10M histograms as
Python objects would take seconds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from profiler.errors import InputError
from profiler.rundir.schema import FORMAT_VERSION, LAST_ROW_WINS, LATER_COLUMNS, table_schema

_PART_NAME = re.compile(r"^part-(\d+)\.parquet$")
_STRING = pd.StringDtype("pyarrow")
_NULLABLE_INT = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}


def read_meta(run_dir: Path) -> dict[str, Any]:
    """meta.json of ``run_dir``, checked: InputError when absent, unreadable or too new."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a directory", "pass the directory `sparkprof record` "
                         "wrote")
    meta_path = run_dir / "meta.json"
    try:
        meta = json.loads(meta_path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{run_dir} is not a sparkprof run directory (no meta.json)",
                         "pass the directory `sparkprof record` wrote") from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {meta_path}: {error}",
                         "check the file's permissions; it may be damaged") from error
    if not isinstance(meta, dict) or not isinstance(meta.get("format_version"), int):
        raise InputError(f"{run_dir} is not a sparkprof run directory (meta.json has no "
                         "format_version)", "pass the directory `sparkprof record` wrote")
    if meta["format_version"] > FORMAT_VERSION:
        raise InputError(f"{run_dir} has run-directory format {meta['format_version']}; this "
                         f"sparkprof reads up to {FORMAT_VERSION}", "upgrade sparkprof")
    return meta


def list_parts(run_dir: Path, table: str) -> list[Path]:
    """The finished part files of ``table`` in write order (``.tmp`` leftovers ignored)."""
    table_dir = run_dir / table
    if not table_dir.is_dir():
        return []
    numbered = []
    for entry in table_dir.iterdir():
        match = _PART_NAME.match(entry.name)
        if match is not None:
            numbered.append((int(match.group(1)), entry))
    return [path for _, path in sorted(numbered)]


@dataclass
class TableRead:
    """A table as read: its frame and warnings about parts that had to be skipped."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def read_table(run_dir: Path, table: str) -> TableRead:
    """All readable parts of ``table`` as one typed DataFrame; a damaged part is skipped."""
    schema = table_schema(table)
    parts = list_parts(run_dir, table)
    warnings: list[str] = []
    # Parquet's own dictionary-to-string decoding costs 2-3x more CPU than reading the
    # dictionaries and decoding them in Arrow (measured: 0.45 vs 0.2 s for 2 x 10M strings).
    strings = [f.name for f in schema if pa.types.is_string(f.type)]
    try:
        # Fast path: all parts at once, decoded in parallel, in part order.
        arrow = _conform(pq.read_table([str(p) for p in parts], read_dictionary=strings),
                         schema) if parts else None
    except (OSError, pa.ArrowException, ValueError):
        arrow = None  # some part is damaged: read part by part to keep the others
    if arrow is None:
        pieces: list[pa.Table] = []
        for part in parts:
            try:
                pieces.append(_conform(pq.read_table(part, read_dictionary=strings), schema))
            except (OSError, pa.ArrowException, ValueError) as error:
                warnings.append(f"skipped damaged part {part.relative_to(run_dir)}: {error}")
        arrow = pa.concat_tables(pieces) if pieces else schema.empty_table()
    frame = to_frame(arrow, schema)
    key = LAST_ROW_WINS.get(table)
    if key is not None and len(frame):
        frame = frame.drop_duplicates(key, keep="last").reset_index(drop=True)
    return TableRead(frame, warnings)


def count_rows(run_dir: Path, table: str) -> int:
    """Rows in the finished parts of ``table`` from Parquet footers (before de-duplication)."""
    total = 0
    for part in list_parts(run_dir, table):
        try:
            total += pq.read_metadata(part).num_rows
        except (OSError, pa.ArrowException):
            continue  # reported when the table itself is read
    return total


def _conform(arrow: pa.Table, schema: pa.Schema) -> pa.Table:
    missing = [name for name in schema.names if name not in arrow.column_names]
    later = LATER_COLUMNS.get(schema.metadata.get(b"sparkprof.table", b"").decode(), {})
    for name, value in later.items():  # parts older than the column: its documented value
        if name in missing:
            arrow = arrow.append_column(
                name, pa.array([value] * arrow.num_rows, schema.field(name).type))
            missing.remove(name)
        elif arrow.column(name).null_count:  # old and new parts read together
            arrow = arrow.set_column(arrow.column_names.index(name), name,
                                     pc.fill_null(arrow.column(name), value))
    if missing:
        raise ValueError(f"missing column(s) {missing}")
    arrow = arrow.select(schema.names)
    for index, column in enumerate(arrow.columns):
        if pa.types.is_dictionary(column.type):
            decoded = pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks],
                                       column.type.value_type)
            arrow = arrow.set_column(index, arrow.schema.field(index).with_type(decoded.type),
                                     decoded)
    return arrow if arrow.schema.equals(schema) else arrow.cast(schema)


def to_frame(arrow: pa.Table, schema: pa.Schema) -> pd.DataFrame:
    """A pandas frame with the dtypes the schema (not the data) calls for."""
    columns: dict[str, pd.Series[Any]] = {}
    for column_field, column in zip(schema, arrow.columns, strict=True):
        columns[column_field.name] = _to_series(column_field, column)
    return pd.DataFrame(columns, copy=False)


def _arrow_dtype_for_lists(kind: pa.DataType) -> pd.ArrowDtype | None:
    # A function, not a dict: list<element: ...> from Parquet and list<item: ...> compare
    # equal but do not hash alike.
    return pd.ArrowDtype(kind) if pa.types.is_list(kind) else None


def _to_series(column_field: pa.Field, column: pa.ChunkedArray) -> pd.Series[Any]:
    kind = column_field.type
    mapper: Callable[[pa.DataType], Any] | None = None
    if pa.types.is_string(kind):
        mapper = {kind: _STRING}.get
    elif pa.types.is_list(kind):
        mapper = _arrow_dtype_for_lists
    elif column_field.nullable and kind in _NULLABLE_INT:
        mapper = _NULLABLE_INT.get
    series: pd.Series[Any] = column.to_pandas(types_mapper=mapper)
    if mapper is None and not series.to_numpy().flags.writeable:
        # A single-chunk column is converted zero-copy into a read-only array; users expect
        # to be able to assign into a DataFrame.
        series = series.copy()
    return series
