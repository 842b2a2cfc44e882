"""The tables of a run directory as pyarrow schemas: the names and types are the contract.

docs/format.md documents every column (unit and meaning); a unit test keeps the two in step.
A field marked ``nullable=True`` may hold nulls; every other field never does, and the writer
rejects a null there. All ``*_ns`` columns are CLOCK_MONOTONIC nanoseconds.
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_VERSION = 1
DEFAULT_BUCKET_NS = 100_000_000
HIST_BUCKETS = 32  # log2(ns) latency buckets in syscalls.hist

_I32 = pa.int32()
_I64 = pa.int64()
_STR = pa.string()
_STACK = pa.list_(pa.string())


def _schema(table: str, *fields: tuple[str, pa.DataType] | tuple[str, pa.DataType, bool],
            ) -> pa.Schema:
    built = [pa.field(f[0], f[1], nullable=len(f) == 3 and bool(f[2])) for f in fields]
    return pa.schema(built, metadata={"sparkprof.table": table,
                                      "sparkprof.format_version": str(FORMAT_VERSION)})


TABLES: dict[str, pa.Schema] = {
    "processes": _schema(
        "processes",
        ("pid", _I32), ("ppid", _I32), ("start_ns", _I64), ("exit_ns", _I64, True),
        ("exit_code", _I32, True), ("comm", _STR), ("exe", _STR, True), ("cmdline", _STR),
        ("role", _STR), ("executor_id", _STR, True), ("app_id", _STR, True),
    ),
    "threads": _schema(
        "threads",
        ("pid", _I32), ("tid", _I32), ("name", _STR), ("role", _STR),
        ("start_ns", _I64, True), ("end_ns", _I64, True),
    ),
    "syscalls": _schema(
        "syscalls",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("syscall", _STR), ("family", _STR),
        ("calls", _I64), ("errors", _I64), ("total_ns", _I64), ("max_ns", _I64),
        ("bytes", _I64), ("hist_first_bucket", _I32), ("hist", pa.list_(_I64)),
    ),
    "slow_syscalls": _schema(
        "slow_syscalls",
        ("ts_ns", _I64), ("pid", _I32), ("tid", _I32), ("syscall", _STR),
        ("duration_ns", _I64), ("ret", _I64), ("fd", _I32), ("user_stack", _STACK),
    ),
    "network": _schema(
        "network",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("fd", _I32),
        ("local_addr", _STR), ("local_port", _I32), ("remote_addr", _STR), ("remote_port", _I32),
        ("peer_class", _STR), ("bytes_sent", _I64), ("bytes_received", _I64),
        ("send_calls", _I64), ("recv_calls", _I64), ("send_ns", _I64), ("recv_ns", _I64),
    ),
    "connections": _schema(
        "connections",
        ("ts_ns", _I64), ("pid", _I32), ("tid", _I32), ("event", _STR), ("detail", _STR),
        ("local_addr", _STR), ("local_port", _I32), ("remote_addr", _STR), ("remote_port", _I32),
        ("peer_class", _STR),
    ),
    "file_io": _schema(
        "file_io",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("path", _STR), ("op", _STR),
        ("calls", _I64), ("bytes", _I64), ("total_ns", _I64), ("max_ns", _I64),
    ),
    "offcpu": _schema(
        "offcpu",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("state", _STR),
        ("count", _I64), ("total_ns", _I64), ("max_ns", _I64),
    ),
    "offcpu_blocks": _schema(
        "offcpu_blocks",
        ("start_ns", _I64), ("pid", _I32), ("tid", _I32), ("state", _STR),
        ("duration_ns", _I64), ("user_stack", _STACK), ("kernel_stack", _STACK),
    ),
    "gc": _schema(
        "gc",
        ("pid", _I32), ("tid", _I32), ("start_ns", _I64), ("end_ns", _I64),
        ("duration_ns", _I64), ("kind", _STR), ("pool", _STR, True),
    ),
    "samples": _schema(
        "samples",
        ("ts_ns", _I64), ("pid", _I32), ("tid", _I32), ("cpu", _I32),
        ("user_stack", _STACK), ("kernel_stack", _STACK), ("count", _I64),
    ),
    "jni": _schema(
        "jni",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("library", _STR),
        ("class_name", _STR), ("method", _STR), ("symbol", _STR), ("calls", _I64),
        ("total_ns", _I64), ("max_ns", _I64), ("hist_first_bucket", _I32),
        ("hist", pa.list_(_I64)),
    ),
    "jni_interface": _schema(
        "jni_interface",
        ("bucket_ns", _I64), ("pid", _I32), ("tid", _I32), ("function", _STR),
        ("calls", _I64), ("total_ns", _I64), ("max_ns", _I64), ("held_ns", _I64),
        ("held_max_ns", _I64), ("bytes", _I64),
    ),
    "jni_globalrefs": _schema(
        "jni_globalrefs",
        ("pid", _I32), ("created", _I64), ("deleted", _I64), ("live", _I64),
    ),
    "jni_global_ref_sites": _schema(
        "jni_global_ref_sites",
        ("pid", _I32), ("kind", _STR), ("caller_library", _STR), ("caller_symbol", _STR),
        ("user_stack", _STACK), ("created", _I64), ("deleted", _I64), ("live_at_end", _I64),
    ),
    "jni_local_ref_sites": _schema(
        "jni_local_ref_sites",
        ("pid", _I32), ("function", _STR), ("caller_library", _STR), ("caller_symbol", _STR),
        ("user_stack", _STACK), ("created", _I64), ("deleted", _I64), ("left_to_vm", _I64),
    ),
}

# Columns computed by the writer, not appended: RunWriter.append("syscalls", ...) takes the
# dense 32-bucket ``hist`` and stores it sparse (see profiler.rundir.histogram).
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {"syscalls": ("hist_first_bucket",),
                                               "jni": ("hist_first_bucket",)}

# Columns added to a table after it first shipped, with the value they read as in parts
# written before them (an additive change keeps FORMAT_VERSION; old runs still load).
LATER_COLUMNS: dict[str, dict[str, int]] = {"jni_interface": {"bytes": 0}}

# Tables whose rows are updated over time: on load the last row per key wins.
LAST_ROW_WINS: dict[str, str] = {"processes": "pid", "threads": "tid"}


def append_columns(table: str) -> list[str]:
    """The columns ``RunWriter.append`` expects for ``table`` (stored minus derived ones)."""
    derived = DERIVED_COLUMNS.get(table, ())
    return [name for name in table_schema(table).names if name not in derived]


def table_schema(table: str) -> pa.Schema:
    """The schema of ``table``; ValueError naming the table when it does not exist."""
    try:
        return TABLES[table]
    except KeyError:
        known = sorted(TABLES)
        raise ValueError(f"unknown run-directory table {table!r}; known: {known}") from None
