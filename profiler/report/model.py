"""The report model: everything a report says, as plain data (no DataFrames, no files).

``build_report(profile)`` fills it from a loaded run (see ``build``); the renderers
(``text``, ``md``, ``json``, ``html``) only format it. A category whose source was not
captured is ``None`` everywhere in the model (shown as "not captured"), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
SPARK_METRIC_LABELS: dict[str, str] = {
    "executor_run_time": "executor run time (task time)",
    "executor_cpu_time": "executor CPU time (vs on-CPU JVM + kernel)",
    "jvm_gc_time": "JVM GC time (vs GC pauses)",
    "shuffle_fetch_wait_time": "shuffle fetch wait (vs network: shuffle)",
}


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    captured: bool


@dataclass(frozen=True)
class SparkFigure:
    """One of Spark's own task metrics (summed over the stage) beside the measured one."""

    spark_ms: float | None
    measured_ms: float | None
    diff_ms: float | None  # measured - spark


@dataclass(frozen=True)
class StageReport:
    stage_id: int
    attempt: int
    job_id: int | None
    name: str
    status: str
    num_tasks: int | None
    start_ms: float | None  # submission, ms after the application (or first stage) start
    wall_ms: float | None  # completion - submission
    task_ms: float  # sum over its tasks of (finish - launch)
    breakdown_ms: dict[str, float | None]  # category -> ms (None: not captured)
    unexplained_ms: float
    coverage_pct: float | None  # share of task time the categories explain
    overcommitted: bool  # measured categories exceeded task time and were scaled down
    scale: float  # the factor they were scaled by (1.0 unless overcommitted)
    spark: dict[str, SparkFigure]

    def pct(self, category: str) -> float | None:
        value = self.unexplained_ms if category == "unexplained" else self.breakdown_ms.get(
            category)
        if value is None or not self.task_ms > 0:
            return None
        return 100.0 * value / self.task_ms


@dataclass(frozen=True)
class FindingReport:
    stage_id: int
    attempt: int
    category: str
    ms: float
    pct_of_task_time: float
    text: str


@dataclass(frozen=True)
class JniMethod:
    library: str
    class_name: str
    method: str
    calls: int
    total_ms: float
    text: str
    task_ms: float | None = None  # the part on task threads (None: threads unknown)


@dataclass(frozen=True)
class JniFunctionUse:
    """One JNI interface function over the run (``jni_interface``). ``bytes`` is None for
    a function whose copies the probes cannot size (or that copies nothing)."""

    function: str
    calls: int
    total_ms: float
    bytes: int | None
    held_ms: float  # critical regions ended by this function (Release*Critical), else 0


@dataclass(frozen=True)
class GlobalRefSite:
    """Global references one native function created (``jni_global_ref_sites``, all JVMs)."""

    library: str
    symbol: str
    kind: str  # global or weak
    created: int
    deleted: int
    live_at_end: int


@dataclass(frozen=True)
class LocalRefSite:
    """Local references one native function created through one JNI function
    (``jni_local_ref_sites``, all JVMs and stacks summed)."""

    library: str
    symbol: str
    function: str  # the JNI function that returned them, e.g. NewStringUTF
    created: int
    deleted: int  # by DeleteLocalRef
    left_to_vm: int  # freed by the VM when the native method returned (or PopLocalFrame)


@dataclass(frozen=True)
class LocalRefLibrary:
    """Local references created by one native library (all its functions)."""

    library: str
    created: int
    deleted: int
    left_to_vm: int


@dataclass(frozen=True)
class JniInterfaceUse:
    functions: list[JniFunctionUse]  # by time, largest first
    global_refs: list[GlobalRefSite]  # creators with references live at the end, most first
    live_at_end: int  # references created during the run and never deleted
    created: int
    # local references: per library and per creating function, most left to the VM first
    local_libraries: list[LocalRefLibrary] = field(default_factory=list)
    local_refs: list[LocalRefSite] = field(default_factory=list)
    local_traced: bool = True  # False: recorded by a sparkprof that did not trace them


@dataclass(frozen=True)
class LatencyHistogram:
    """A syscall's latency histogram over the run: 32 log2(ns) slots (see docs/format.md)."""

    syscall: str
    family: str
    calls: int
    total_ms: float
    counts: list[int]


@dataclass(frozen=True)
class Headline:
    run_dir: str
    status: str | None
    command: str | None
    host: str | None
    started_utc: str | None
    app_id: str | None
    app_name: str | None
    spark_version: str | None
    duration_ms: float | None
    stage_count: int
    task_count: int
    self_cost_pct: float | None
    lost_events: int | None  # None: the run did not say
    lost_by_source: dict[str, int]
    probes_failed: dict[str, str]
    probes_attached: list[str]
    warnings: list[str]


@dataclass
class Report:
    """A run's latency-overhead report. ``flamegraphs`` maps "stage_id.attempt" to inline
    SVG (HTML only); ``figure_notes`` says why a figure is missing."""

    headline: Headline
    categories: list[Category]
    stages: list[StageReport]
    totals_ms: dict[str, float | None]  # category (and "unexplained", "task") -> ms
    findings: list[FindingReport]
    jni_methods: list[JniMethod] | None  # None: the run has no jni table
    latency: list[LatencyHistogram] | None  # None: not computed or syscalls not captured
    notes: list[str] = field(default_factory=list)
    flamegraphs: dict[str, str] = field(default_factory=dict)
    figure_notes: list[str] = field(default_factory=list)
    jni_interface: JniInterfaceUse | None = None  # None: not recorded (--jni-interface)
    schema_version: int = SCHEMA_VERSION

    def captured(self) -> list[str]:
        return [c.id for c in self.categories if c.captured]

    def not_captured(self) -> list[Category]:
        return [c for c in self.categories if not c.captured]

    def label(self, category: str) -> str:
        for known in self.categories:
            if known.id == category:
                return known.label
        return "unexplained" if category == "unexplained" else category


def category_pct(value: float | None, total: float | None) -> float | None:
    if value is None or total is None or not total > 0:
        return None
    return 100.0 * value / total


def as_float(value: Any) -> float | None:
    """A number, or None for NaN/NA/None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
