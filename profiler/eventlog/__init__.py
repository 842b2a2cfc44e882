"""Spark event-log reader: ``read_eventlog(path)`` -> ``EventLog`` of pandas DataFrames.

Reads single-file logs (Spark 3.x) and rolling ``eventlog_v2_*`` directories (Spark 4),
plain or compressed with zstd, lz4 (lz4-java) or snappy (snappy-java), including
``.inprogress`` logs cut mid-line. Needs neither Spark nor Java.
"""

from __future__ import annotations

from profiler.eventlog.model import COLUMNS, EventLog, EventLogSource
from profiler.eventlog.reader import read_eventlog

__all__ = ["COLUMNS", "EventLog", "EventLogSource", "read_eventlog"]
