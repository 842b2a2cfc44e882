"""``build_report(profile) -> Report``: the report model from a loaded run.

Reads the run (event log, tables), runs the correlation (``profiler.correlate``) and keeps
plain numbers. The expensive extras (latency histograms, per-stage flame graphs) are built
only when asked, so text and JSON stay fast on big runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from profiler.correlate import (
    CATEGORIES,
    CATEGORY_LABELS,
    Breakdown,
    fill_thread_roles,
    findings,
    top_jni_methods,
)
from profiler.correlate.breakdown import SPARK_METRICS
from profiler.report.extras import flamegraph_svgs, latency_histograms
from profiler.report.jni_interface import jni_interface_use
from profiler.report.model import (
    Category,
    FindingReport,
    Headline,
    JniMethod,
    Report,
    SparkFigure,
    StageReport,
    as_float,
)

if TYPE_CHECKING:
    from profiler.profile import Profile

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def build_report(profile: Profile, *, top_findings: int = 10, latency: bool = False,
                 flamegraph_stages: int = 0, progress: Progress = _quiet) -> Report:
    """The report of ``profile``. ``latency``: add syscall latency histograms;
    ``flamegraph_stages``: embed flame graphs (SVG) of that many stages, largest first."""
    progress("reading the event log")
    stages_frame = profile.stages
    tasks_frame = profile.tasks
    progress("correlating kernel evidence with stages")
    breakdown = profile.correlation()
    stages = stage_reports(stages_frame, breakdown, app_start(profile))
    report = Report(
        headline=headline(profile, len(stages), len(tasks_frame)),
        categories=[Category(c, CATEGORY_LABELS[c], c in breakdown.present) for c in CATEGORIES],
        stages=stages,
        totals_ms=totals(stages, breakdown.present),
        findings=[FindingReport(f.stage_id, f.attempt, f.category, f.ms, f.pct_of_task_time,
                                f.text) for f in findings(breakdown, top=top_findings)],
        jni_methods=jni_methods(profile),
        latency=None,
        notes=list(breakdown.notes),
        jni_interface=jni_interface_use(profile),
    )
    if latency:
        progress("summing syscall latency histograms")
        report.latency = latency_histograms(profile)
    if flamegraph_stages > 0:
        progress(f"drawing flame graphs of the {flamegraph_stages} largest stages")
        largest = sorted(stages, key=lambda s: -s.task_ms)[:flamegraph_stages]
        report.flamegraphs, notes = flamegraph_svgs(profile, [(s.stage_id, s.attempt)
                                                             for s in largest if s.task_ms > 0])
        report.figure_notes.extend(notes)
    return report


def app_start(profile: Profile) -> pd.Timestamp | None:
    """Time zero of the timeline: the application start, else the first stage submission."""
    eventlog = profile.eventlog
    if eventlog is None:
        return None
    if not eventlog.app.empty and pd.notna(eventlog.app["start_time"].iloc[0]):
        return pd.Timestamp(eventlog.app["start_time"].iloc[0])
    submitted = eventlog.stages["submission_time"].dropna()
    return pd.Timestamp(submitted.min()) if len(submitted) else None


def stage_reports(stages: pd.DataFrame, breakdown: Breakdown,
                  start: pd.Timestamp | None) -> list[StageReport]:
    """One StageReport per stage attempt that ran: in the event log with a submission time,
    or with tasks in the breakdown; ordered by submission then stage id."""
    ms, spark = breakdown.ms, breakdown.spark
    rows: list[dict[str, Any]] = [{str(c): v for c, v in r.items()}
                                  for r in stages.to_dict("records")] if len(stages) else []
    by_key = {(int(r["stage_id"]), int(r["attempt"])): r for r in rows}
    keys = {key for key, r in by_key.items() if _known(r.get("submission_time"))}
    measured = _records(ms)
    keys |= set(measured)
    theirs = _records(spark)
    reports = [_stage(key, by_key.get(key), measured.get(key), theirs.get(key) or {},
                      breakdown.present, start) for key in keys]
    return sorted(reports, key=lambda s: (s.start_ms is None, s.start_ms or 0.0, s.stage_id,
                                          s.attempt))


def _records(frame: pd.DataFrame) -> dict[tuple[int, int], dict[str, Any]]:
    """(stage_id, attempt) -> the row of a stage-indexed frame as a dict."""
    return {(int(k[0]), int(k[1])): {str(c): v for c, v in row.items()}
            for k, row in zip(frame.index, frame.to_dict("records"), strict=True)}


def _stage(key: tuple[int, int], row: Mapping[str, Any] | None,
           measured: dict[str, Any] | None, theirs: dict[str, Any], present: frozenset[str],
           start: pd.Timestamp | None) -> StageReport:
    info = row or {}
    submitted, completed = info.get("submission_time"), info.get("completion_time")
    start_ms = ((pd.Timestamp(submitted) - start).total_seconds() * 1e3
                if start is not None and submitted is not None and _known(submitted) else None)
    wall_ms = as_float(info.get("duration"))
    if measured is not None:
        task_ms = float(measured["task_time_ms"])
        breakdown = {c: (as_float(measured[c]) if c in present else None) for c in CATEGORIES}
        unexplained = float(measured["unexplained"])
        coverage = as_float(measured["explained_pct"])
        over = bool(measured["overcommitted"])
        scale = as_float(measured.get("scale")) or 1.0
        figures = {metric: SparkFigure(as_float(theirs.get(f"spark_{metric}")),
                                       as_float(theirs.get(f"measured_{metric}")),
                                       as_float(theirs.get(f"diff_{metric}")))
                   for metric in SPARK_METRICS}
    else:
        task_ms, unexplained, coverage, over, scale = 0.0, 0.0, None, False, 1.0
        breakdown = {c: (0.0 if c in present else None) for c in CATEGORIES}
        figures = {metric: SparkFigure(None, None, None) for metric in SPARK_METRICS}
    job, tasks = _int(info.get("job_id")), _int(info.get("num_tasks"))
    return StageReport(
        stage_id=key[0], attempt=key[1],
        job_id=job,
        name=str(info.get("name") or "?"), status=str(info.get("status") or "unknown"),
        num_tasks=tasks,
        start_ms=start_ms, wall_ms=wall_ms if _known(completed) else None,
        task_ms=task_ms, breakdown_ms=breakdown, unexplained_ms=unexplained,
        coverage_pct=coverage, overcommitted=over, scale=scale, spark=figures)


def _int(value: Any) -> int | None:
    return int(value) if _known(value) else None


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value) and \
        not pd.isna(value)


def totals(stages: list[StageReport], present: frozenset[str]) -> dict[str, float | None]:
    """Sums over stages: each category (None when not captured), unexplained and task."""
    out: dict[str, float | None] = {
        c: (sum(s.breakdown_ms[c] or 0.0 for s in stages) if c in present else None)
        for c in CATEGORIES}
    out["unexplained"] = sum(s.unexplained_ms for s in stages)
    out["task"] = sum(s.task_ms for s in stages)
    return out


def headline(profile: Profile, stage_count: int, task_count: int) -> Headline:
    meta = profile.meta
    eventlog = profile.eventlog
    app = eventlog.app.iloc[0] if eventlog is not None and not eventlog.app.empty else None
    duration = as_float(app["duration"]) if app is not None else None
    if duration is None:
        duration = _run_duration_ms(meta)
    lost_raw = meta.get("lost_events")
    lost = {str(k): int(v) for k, v in (lost_raw or {}).items() if isinstance(v, (int, float))}
    probes = meta.get("probes") or {}
    failed = probes.get("failed") or {}
    if not isinstance(failed, dict):
        failed = {str(name): "failed" for name in failed}
    command = meta.get("command") or meta.get("argv")
    if isinstance(command, list):
        command = " ".join(str(word) for word in command)
    return Headline(
        run_dir=str(profile.path), status=meta.get("status"),
        command=str(command) if command else None, host=_text(meta.get("host")),
        started_utc=_text(meta.get("started_utc")),
        app_id=eventlog.app_id if eventlog is not None else None,
        app_name=eventlog.app_name if eventlog is not None else None,
        spark_version=eventlog.spark_version if eventlog is not None else None,
        duration_ms=duration, stage_count=stage_count, task_count=task_count,
        self_cost_pct=as_float((meta.get("self_cost") or {}).get("pct")),
        lost_events=sum(lost.values()) if isinstance(lost_raw, dict) else None,
        lost_by_source=lost,
        probes_failed={str(k): str(v) for k, v in failed.items()},
        probes_attached=[str(p) for p in probes.get("attached") or []],
        warnings=list(profile.warnings) + _eventlog_warnings(profile),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, dict):  # e.g. host/kernel recorded as a mapping
        value = value.get("name") or value.get("release")
    return None if value is None else str(value)


def _run_duration_ms(meta: Mapping[str, Any]) -> float | None:
    clock = meta.get("clock") or {}
    if clock.get("start") and clock.get("end"):
        return (int(clock["end"]["monotonic_ns"]) - int(clock["start"]["monotonic_ns"])) / 1e6
    return None


def _eventlog_warnings(profile: Profile) -> list[str]:
    eventlog = profile.eventlog
    if eventlog is None:
        return []  # the correlation's notes say so
    found = [f"event log: {w}" for w in eventlog.warnings]
    if eventlog.bad_lines:
        found.append(f"event log: {eventlog.bad_lines} malformed lines were skipped")
    return found


def jni_methods(profile: Profile) -> list[JniMethod] | None:
    jni = profile.optional_table("jni")
    if jni is None or not profile.traced_jni():
        return None
    threads = profile.optional_table("threads")
    task_tids = None if threads is None else set(
        fill_thread_roles(threads)[0].query("role == 'task-runner'")["tid"].astype(int))
    top = top_jni_methods(jni, task_tids=task_tids)
    return [JniMethod(str(r["library"]), str(r["class_name"]), str(r["method"]),
                      int(r["calls"]), float(r["total_ms"]), str(r["text"]),
                      None if pd.isna(r["task_ms"]) else float(r["task_ms"]))
            for r in top.to_dict("records")]

