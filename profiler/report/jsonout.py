"""The report as JSON: the stable, documented schema of docs/report.md (schema_version 1).

Keys are only ever added within a schema version; a missing measurement is ``null``.
"""

from __future__ import annotations

import json
from typing import Any

from profiler import __version__
from profiler.report.model import Report, StageReport, category_pct


def report_dict(report: Report) -> dict[str, Any]:
    h = report.headline
    return {
        "schema_version": report.schema_version,
        "generator": f"sparkprof {__version__}",
        "run": {"path": h.run_dir, "status": h.status, "command": h.command, "host": h.host,
                "started_utc": h.started_utc},
        "app": {"id": h.app_id, "name": h.app_name, "spark_version": h.spark_version,
                "duration_ms": h.duration_ms, "stages": h.stage_count, "tasks": h.task_count},
        "profiler": {"self_cost_pct": h.self_cost_pct, "lost_events": h.lost_events,
                     "lost_events_by_source": h.lost_by_source,
                     "probes_failed": h.probes_failed, "probes_attached": h.probes_attached},
        "warnings": [*h.warnings, *report.notes],
        "categories": [{"id": c.id, "label": c.label, "captured": c.captured}
                       for c in report.categories],
        "totals": {"task_ms": report.totals_ms.get("task"),
                   "unexplained_ms": report.totals_ms.get("unexplained"),
                   "breakdown_ms": {c.id: report.totals_ms.get(c.id)
                                    for c in report.categories}},
        "stages": [stage_dict(s) for s in report.stages],
        "findings": [vars(f) for f in report.findings],
        "jni_methods": None if report.jni_methods is None else [
            vars(m) for m in report.jni_methods],
        "latency": None if report.latency is None else [vars(h) for h in report.latency],
        "jni_interface": None if report.jni_interface is None else {
            "functions": [vars(f) for f in report.jni_interface.functions],
            "global_refs_live_at_end": report.jni_interface.live_at_end,
            "global_refs_created": report.jni_interface.created,
            "global_ref_sites": [vars(s) for s in report.jni_interface.global_refs],
            "local_ref_libraries": [vars(s) for s in report.jni_interface.local_libraries],
            "local_ref_sites": [vars(s) for s in report.jni_interface.local_refs]},
    }


def stage_dict(stage: StageReport) -> dict[str, Any]:
    return {
        "stage_id": stage.stage_id, "attempt": stage.attempt, "job_id": stage.job_id,
        "name": stage.name, "status": stage.status, "num_tasks": stage.num_tasks,
        "start_ms": stage.start_ms, "wall_ms": stage.wall_ms, "task_ms": stage.task_ms,
        "breakdown_ms": dict(stage.breakdown_ms),
        "breakdown_pct": {c: category_pct(v, stage.task_ms)
                          for c, v in stage.breakdown_ms.items()},
        "unexplained_ms": stage.unexplained_ms, "coverage_pct": stage.coverage_pct,
        "overcommitted": stage.overcommitted, "scale": stage.scale,
        "spark": {metric: {"spark_ms": f.spark_ms, "measured_ms": f.measured_ms,
                           "diff_ms": f.diff_ms} for metric, f in stage.spark.items()},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, allow_nan=False) + "\n"
