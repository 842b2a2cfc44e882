"""``profiler.load(DIR) -> Profile``: a recorded run directory as pandas DataFrames.

Works without root, BCC, Java or Spark. ``load`` reads only meta.json; each table is read
on first access and cached. Times in the tables are CLOCK_MONOTONIC nanoseconds;
``Profile.to_utc`` places them on Spark's UTC timeline with the clock anchors in meta.json.

Analysis: ``stages``/``tasks`` (from the event log), ``breakdown()`` (stage x category ms),
``findings()``, ``report()``, ``plot.timeline()/.breakdown()/.latency()`` (matplotlib
Figures) and ``flamegraph(kind=..., stage=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from profiler.errors import InputError
from profiler.rundir.reader import count_rows, list_parts, read_meta, read_table, to_frame
from profiler.rundir.schema import LAST_ROW_WINS, TABLES

if TYPE_CHECKING:
    from profiler.correlate import Breakdown
    from profiler.eventlog import EventLog
    from profiler.flamegraph import FlameGraph
    from profiler.plots import PlotAccessor
    from profiler.report.model import Report

_CUT_SHORT = {
    "recording": "the run was cut short (status 'recording': the recorder never finished); "
                 "data up to its last flush is present",
    "incomplete": "the run is incomplete (stopped early or a write failed); what was written "
                  "is present",
}


def read_extra_table(run_dir: Path, name: str) -> pd.DataFrame | None:
    """A table the schema does not list (yet) as stored, lists Arrow-backed; None if absent."""
    parts = list_parts(run_dir, name)
    if not parts:
        return None
    try:
        arrow = pq.read_table([str(part) for part in parts])
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"cannot read {run_dir}/{name}: {error}",
                         "the run directory may be damaged") from error
    frame: pd.DataFrame = arrow.to_pandas(
        types_mapper=lambda kind: pd.ArrowDtype(kind) if pa.types.is_list(kind) else None)
    return frame


def _select_rows(frame: pd.DataFrame, columns: list[str],
                 equals: tuple[str, str] | None) -> pd.DataFrame:
    if equals is not None:
        frame = frame[(frame[equals[0]] == equals[1]).to_numpy(bool)]
    return frame[columns].reset_index(drop=True)


def _empty_eventlog_table(table: str) -> pd.DataFrame:
    from profiler.eventlog import COLUMNS

    return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS[table]})


def load(run_dir: str | os.PathLike[str]) -> Profile:
    """Open a run directory written by ``sparkprof record``; InputError when it is not one."""
    path = Path(run_dir)
    return Profile(path, read_meta(path))


class Profile:
    """A recorded run: ``meta``, one DataFrame per table, the Spark ``eventlog``, ``warnings``."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.meta = meta
        self._frames: dict[str, pd.DataFrame] = {}
        self._table_warnings: list[str] = []
        self._eventlog: EventLog | None = None
        self._eventlog_error: Exception | None = None
        self._eventlog_read = False
        self._optional: dict[str, pd.DataFrame | None] = {}
        self._breakdown: Breakdown | None = None

    # -- tables ------------------------------------------------------------------------------

    def table(self, name: str) -> pd.DataFrame:
        """The DataFrame of table ``name`` (read once, then cached; do not mutate it).

        Tables newer than this format version (``samples``, ``jni``) are read as they are
        stored when the run has them; KeyError when it does not.
        """
        if name not in TABLES:
            extra = self.optional_table(name)
            if extra is None:
                raise KeyError(f"no table {name!r}; tables: {sorted(TABLES)}")
            return extra
        if name not in self._frames:
            result = read_table(self.path, name)
            self._frames[name] = result.frame
            self._table_warnings.extend(result.warnings)
        return self._frames[name]

    @property
    def processes(self) -> pd.DataFrame:
        return self.table("processes")

    @property
    def threads(self) -> pd.DataFrame:
        return self.table("threads")

    @property
    def syscalls(self) -> pd.DataFrame:
        return self.table("syscalls")

    @property
    def slow_syscalls(self) -> pd.DataFrame:
        return self.table("slow_syscalls")

    @property
    def network(self) -> pd.DataFrame:
        return self.table("network")

    @property
    def connections(self) -> pd.DataFrame:
        return self.table("connections")

    @property
    def file_io(self) -> pd.DataFrame:
        return self.table("file_io")

    @property
    def offcpu(self) -> pd.DataFrame:
        return self.table("offcpu")

    @property
    def offcpu_blocks(self) -> pd.DataFrame:
        return self.table("offcpu_blocks")

    @property
    def gc(self) -> pd.DataFrame:
        return self.table("gc")

    @property
    def samples(self) -> pd.DataFrame:
        """On-CPU stack samples (see docs/format.md); empty when sampling was off."""
        return self.table("samples")

    @property
    def jni(self) -> pd.DataFrame:
        """Calls into JNI native methods per bucket, thread and method."""
        return self.table("jni")

    @property
    def jni_interface(self) -> pd.DataFrame:
        """Native code calling JNI interface functions, per bucket, thread and function:
        calls, time, bytes copied, critical-region hold time (``record --jni-interface``)."""
        return self.table("jni_interface")

    @property
    def jni_global_ref_sites(self) -> pd.DataFrame:
        """The global-reference leak report: per JVM and creating stack, references
        created, deleted and still live at the end (``record --jni-interface``)."""
        return self.table("jni_global_ref_sites")

    @property
    def jni_local_ref_sites(self) -> pd.DataFrame:
        """Local-reference growth: per JVM, creating stack and JNI function, local references
        created, deleted by ``DeleteLocalRef`` and left for the VM to free
        (``record --jni-interface``)."""
        return self.table("jni_local_ref_sites")

    def optional_table(self, name: str) -> pd.DataFrame | None:
        """Like ``table`` but None when the run holds no such table (a newer one, absent)."""
        if name in TABLES:
            return self.table(name)
        if name not in self._optional:
            self._optional[name] = read_extra_table(self.path, name)
        return self._optional[name]

    def table_rows(self, name: str, columns: list[str],
                   equals: tuple[str, str] | None = None) -> pd.DataFrame:
        """Only ``columns`` of table ``name`` and only rows whose ``equals[0]`` column is
        ``equals[1]``: read with a pyarrow projection and row filter, so a few futex rows do
        not cost the whole syscalls table (the cached frame is used when already read)."""
        if name in self._frames or name not in TABLES or name in LAST_ROW_WINS:
            return _select_rows(self.table(name), columns, equals)
        schema = pa.schema([TABLES[name].field(column) for column in columns])
        parts = [str(part) for part in list_parts(self.path, name)]
        filters = None if equals is None else [(equals[0], "==", equals[1])]
        try:
            arrow = pq.read_table(parts, columns=columns, filters=filters) if parts \
                else schema.empty_table()
            arrow = arrow.select(columns).cast(schema)
        except (OSError, pa.ArrowException, ValueError):  # a damaged part: the full reader
            return _select_rows(self.table(name), columns, equals)  # skips it and warns
        return to_frame(arrow, schema)

    def row_counts(self) -> dict[str, int]:
        """Rows per table: exact for tables already read, else from Parquet footers."""
        return {name: len(self._frames[name]) if name in self._frames
                else count_rows(self.path, name) for name in TABLES}

    # -- event log ---------------------------------------------------------------------------

    def eventlog_path(self) -> Path | None:
        """Where the Spark event log is: meta.eventlog.path, else DIR/eventlog; None if absent."""
        recorded: str | None = (self.meta.get("eventlog") or {}).get("path")
        candidates = [] if not recorded else [self.path / recorded]  # absolute stays absolute
        candidates.append(self.path / "eventlog")
        for candidate in candidates:
            if candidate.is_file() or (candidate.is_dir() and any(candidate.iterdir())):
                return candidate
        return None

    @property
    def eventlog(self) -> EventLog | None:
        """Spark's event log (read on first access); None when the run has none."""
        if not self._eventlog_read:
            self._eventlog_read = True
            path = self.eventlog_path()
            if path is not None:
                try:
                    from profiler.eventlog import read_eventlog

                    app_id = (self.meta.get("eventlog") or {}).get("app_id")
                    self._eventlog = read_eventlog(path, app_id=app_id)
                except Exception as error:  # kept and raised on each access, not at load
                    self._eventlog_error = error
        if self._eventlog_error is not None:
            raise self._eventlog_error
        return self._eventlog

    @property
    def stages(self) -> pd.DataFrame:
        """Stage attempts from the event log (columns: ``profiler.eventlog.COLUMNS``);
        empty with the same columns when the run has no event log."""
        eventlog = self.eventlog
        return eventlog.stages if eventlog is not None else _empty_eventlog_table("stages")

    @property
    def tasks(self) -> pd.DataFrame:
        """Task attempts from the event log; empty with the same columns without one."""
        eventlog = self.eventlog
        return eventlog.tasks if eventlog is not None else _empty_eventlog_table("tasks")

    # -- analysis ----------------------------------------------------------------------------

    def correlation(self) -> Breakdown:
        """The full correlation result (``profiler.correlate.Breakdown``), computed once."""
        if self._breakdown is None:
            from profiler.correlate import compute_breakdown, sources_from_profile

            self._breakdown = compute_breakdown(sources_from_profile(self))
        return self._breakdown

    def traced_jni(self) -> bool:
        """JNI tracing was on (meta.json's options say so): the ``jni`` table is in the
        schema, so it loads as an empty frame even when never recorded."""
        from profiler.correlate import traced

        return traced(self.meta.get("options") or {}, "jni")

    def breakdown(self, coverage: bool = False) -> pd.DataFrame:
        """Stage (stage_id, stage_attempt) x category task time in ms, plus ``unexplained``.

        A category that was not captured is NaN, never 0. ``coverage=True`` adds
        task_time_ms, explained_ms and explained_pct.
        """
        result = self.correlation()
        table = result.table()
        if coverage:
            table = result.coverage().drop(columns=["unexplained"]).join(table)
        return table.copy()

    def findings(self, top: int = 10) -> pd.DataFrame:
        """The largest (stage, category) pieces of task time, one row each, with a text."""
        from profiler.correlate import findings, findings_frame

        return findings_frame(findings(self.correlation(), top=top))

    def report(self, latency: bool = True, flamegraph_stages: int = 0) -> Report:
        """The latency-overhead report model (what ``sparkprof report`` renders)."""
        from profiler.report import build_report

        return build_report(self, latency=latency, flamegraph_stages=flamegraph_stages)

    @property
    def plot(self) -> PlotAccessor:
        """Figures: ``p.plot.timeline()``, ``p.plot.breakdown()``, ``p.plot.latency()``."""
        from profiler.plots import PlotAccessor

        return PlotAccessor(self)

    def flamegraph(self, kind: str | None = None, stage: int | str | None = None,
                   **filters: Any) -> FlameGraph:
        """A flame graph ("cpu", "offcpu", "jni"), optionally of one stage ("3" or "3.1")."""
        try:
            from profiler.flamegraph import flamegraph
        except ImportError as error:  # pragma: no cover - the renderer ships with sparkprof
            raise InputError("this sparkprof has no flame-graph renderer",
                             "install the complete sparkprof package") from error
        return flamegraph(self, kind=kind, stage=stage, **filters)

    # -- clock -------------------------------------------------------------------------------

    @overload
    def to_utc(self, ns: int) -> pd.Timestamp: ...

    @overload
    def to_utc(self, ns: pd.Series[Any]) -> pd.Series[Any]: ...

    def to_utc(self, ns: int | pd.Series[Any]) -> pd.Timestamp | pd.Series[Any]:
        """CLOCK_MONOTONIC ns -> UTC timestamps, linear between the start and end anchors.

        With only the start anchor, the offset between the two clocks is applied.
        """
        mono0, real0, slope = self._clock_map()
        if isinstance(ns, pd.Series):
            missing = ns.isna().to_numpy()
            values = ns.fillna(0).to_numpy(dtype=np.int64) if missing.any() else ns.to_numpy(
                dtype=np.int64)
            delta = values - mono0
            # int64 offset plus a float correction keeps ns precision over long runs
            utc_ns = real0 + delta + np.rint(delta * (slope - 1.0)).astype(np.int64)
            stamps = pd.to_datetime(utc_ns, unit="ns", utc=True)
            result = pd.Series(stamps, index=ns.index, name=ns.name)
            return result.mask(missing) if missing.any() else result
        delta_one = int(ns) - mono0
        return pd.Timestamp(real0 + delta_one + round(delta_one * (slope - 1.0)), unit="ns",
                            tz="UTC")

    def _clock_map(self) -> tuple[int, int, float]:
        clock = self.meta.get("clock") or {}
        start, end = clock.get("start"), clock.get("end")
        if not start:
            raise InputError(f"{self.path}/meta.json has no clock anchors",
                             "the run was cut short before recording started")
        mono0, real0 = int(start["monotonic_ns"]), int(start["realtime_ns"])
        slope = 1.0
        if end and int(end["monotonic_ns"]) != mono0:
            slope = (int(end["realtime_ns"]) - real0) / (int(end["monotonic_ns"]) - mono0)
        return mono0, real0, slope

    # -- diagnostics -------------------------------------------------------------------------

    @property
    def warnings(self) -> list[str]:
        """Why the data may be partial: status, lost events, failed probes, damaged parts.

        Damaged parts are found when their table is first read.
        """
        found: list[str] = []
        status = self.meta.get("status")
        if status in _CUT_SHORT:
            found.append(_CUT_SHORT[status])
        lost = {k: int(v) for k, v in (self.meta.get("lost_events") or {}).items()
                if isinstance(v, (int, float)) and v > 0}
        if lost:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(lost.items()))
            found.append(f"{sum(lost.values())} events were lost ({detail})")
        failed = (self.meta.get("probes") or {}).get("failed") or {}
        if failed:
            detail = "; ".join(f"{k} ({v})" for k, v in sorted(failed.items())) if isinstance(
                failed, dict) else "; ".join(str(name) for name in failed)
            found.append(f"probes that failed to attach: {detail}")
        return found + self._table_warnings

    def summary(self) -> str:
        """A few lines: command, host, status, duration, rows per table, warnings."""
        meta = self.meta
        command = meta.get("command") or meta.get("argv") or "?"
        if isinstance(command, list):
            command = " ".join(str(word) for word in command)
        kernel = meta.get("kernel", "?")
        if isinstance(kernel, dict):
            kernel = kernel.get("release", "?")
        lines = [
            f"sparkprof run {self.path}",
            f"  command: {command}",
            f"  host: {meta.get('host', '?')}  kernel: {kernel}",
            f"  status: {meta.get('status', '?')}  started: {meta.get('started_utc', '?')}"
            f"  duration: {self._duration_text()}",
            "  rows: " + ", ".join(f"{k} {v}" for k, v in self.row_counts().items()),
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _duration_text(self) -> str:
        clock = self.meta.get("clock") or {}
        if clock.get("start") and clock.get("end"):
            elapsed_ns = int(clock["end"]["monotonic_ns"]) - int(clock["start"]["monotonic_ns"])
            return f"{elapsed_ns / 1e9:.1f} s"
        return "?"

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.row_counts().items())
        return f"<Profile {self.path} status={self.meta.get('status')!r} {counts}>"
