"""Correlation maths: kernel evidence placed on Spark's timeline, executors and stages.

Pure functions over DataFrames (no file access, no BCC):

- ``ClockMap``: CLOCK_MONOTONIC ns <-> UTC from a run's clock anchors.
- ``executor_map``: pid -> executor id ("driver", an executor id, "driver-python").
- ``build_task_windows`` / ``overlaps``: per-executor task windows and their overlap with
  time intervals, per stage.
- ``attribute_rows``: bucketed rows -> long-form (row, stage) shares, labelled
  task / background, marked shared.
- ``compute_breakdown``: stage x category ms, coverage, Spark's own numbers beside them.
- ``findings``: the largest pieces of task time, phrased.

``sources_from_profile(profile)`` gathers the inputs of a loaded run.
"""

from __future__ import annotations

from profiler.correlate.attribute import LABELS, amount_columns, attribute_rows
from profiler.correlate.breakdown import Breakdown, compute_breakdown, spark_comparison
from profiler.correlate.categories import ALL_COLUMNS, CATEGORIES
from profiler.correlate.categories import LABELS as CATEGORY_LABELS
from profiler.correlate.clock import ClockMap
from profiler.correlate.executors import DRIVER, DRIVER_PYTHON, executor_map
from profiler.correlate.findings import (
    Finding,
    findings,
    findings_frame,
    format_ms,
    top_jni_methods,
)
from profiler.correlate.inputs import (
    Sources,
    fill_thread_roles,
    sample_period_ns,
    sources_from_profile,
    traced,
)
from profiler.correlate.windows import Overlaps, TaskWindows, build_task_windows, overlaps

__all__ = [
    "ALL_COLUMNS",
    "CATEGORIES",
    "CATEGORY_LABELS",
    "DRIVER",
    "DRIVER_PYTHON",
    "LABELS",
    "Breakdown",
    "ClockMap",
    "Finding",
    "Overlaps",
    "Sources",
    "TaskWindows",
    "amount_columns",
    "attribute_rows",
    "build_task_windows",
    "compute_breakdown",
    "executor_map",
    "fill_thread_roles",
    "findings",
    "findings_frame",
    "format_ms",
    "overlaps",
    "sample_period_ns",
    "sources_from_profile",
    "spark_comparison",
    "top_jni_methods",
    "traced",
]
