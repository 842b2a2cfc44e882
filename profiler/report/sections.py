"""The report's sections as (title, key/value lines or table cells), shared by the text,
Markdown and HTML renderers so the three say the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from profiler.report import fmt
from profiler.report.model import (
    SPARK_METRIC_LABELS,
    LatencyHistogram,
    Report,
    StageReport,
    category_pct,
)

DETAIL_STAGES = 10  # stages detailed in text/md/html (JSON has all)
_REMEDIES = {  # why a category may be absent, for the "not captured" line
    "cpu_jvm": "record with CPU sampling", "cpu_python": "record with CPU sampling",
    "cpu_kernel": "record with CPU sampling", "jni": "record with JNI tracing",
    "futex": "record with --syscalls all", "file_io": "record with --syscalls io",
    "offcpu_other": "record without --no-offcpu", "gc": "record without --no-gc",
}


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    right: list[bool]


def headline_pairs(report: Report) -> list[tuple[str, str]]:
    h = report.headline
    app = h.app_name or "?"
    if h.app_id:
        app += f" ({h.app_id})"
    if h.spark_version:
        app += f", Spark {h.spark_version}"
    lost = "unknown (not recorded)" if h.lost_events is None else f"{h.lost_events:,}"
    if h.lost_events:
        lost += " (" + ", ".join(f"{k}: {v:,}" for k, v in sorted(h.lost_by_source.items())
                                 if v) + ")"
    failed = "; ".join(f"{k} ({v})" for k, v in sorted(h.probes_failed.items())) or "none"
    cost = ("unknown (not recorded)" if h.self_cost_pct is None
            else f"{h.self_cost_pct:.1f}% of the profiled CPU time")
    pairs = [("app", app),
             ("run", f"{h.status or '?'}, {fmt.ms(h.duration_ms, '?')}, {h.stage_count} "
                     f"stages, {h.task_count} tasks"),
             ("profiler self-cost", cost), ("lost events", lost), ("probes failed", failed)]
    missing = report.not_captured()
    if missing:
        pairs.append(("not captured", ", ".join(
            f"{c.label} ({_REMEDIES[c.id]})" if c.id in _REMEDIES else c.label
            for c in missing)))
    if h.command:
        pairs.append(("command", fmt.shorten(h.command, 160)))
    return pairs


def warnings(report: Report) -> list[str]:
    return [*report.headline.warnings, *report.notes]


def _largest(stage: StageReport, report: Report, count: int = 3) -> str:
    pieces = [(c, v) for c, v in stage.breakdown_ms.items() if v]
    pieces.sort(key=lambda item: -item[1])
    return ", ".join(f"{report.label(c)} {fmt.pct(stage.pct(c))}" for c, _ in pieces[:count])


def stage_table(report: Report) -> Table:
    rows = [[("-" if s.job_id is None else str(s.job_id)), fmt.stage_name(s.stage_id, s.attempt),
             fmt.shorten(s.name, 40), fmt.ms(s.wall_ms, "-"),
             "-" if s.num_tasks is None else str(s.num_tasks), fmt.ms(s.task_ms),
             fmt.pct(s.coverage_pct) + ("*" if s.overcommitted else ""),
             _largest(s, report) or "-"]
            for s in report.stages]
    return Table(["job", "stage", "name", "wall", "tasks", "task time", "explained",
                  "largest categories"], rows,
                 [True, True, False, True, True, True, True, False])


def category_table(report: Report, values: dict[str, float | None], total: float | None,
                   skip_zero: bool = False) -> Table:
    """Captured categories (largest first), unexplained, then the ones not captured."""
    rows = []
    captured = sorted(report.captured(), key=lambda c: -(values.get(c) or 0.0))
    for category in [*captured, "unexplained"]:
        value = values.get(category)
        if skip_zero and not value and category != "unexplained":
            continue
        rows.append([report.label(category), fmt.ms(value),
                     fmt.pct(category_pct(value, total))])
    missing = report.not_captured()
    if skip_zero and missing:
        rows.append([", ".join(c.label for c in missing), fmt.NOT_CAPTURED, "-"])
    elif missing:
        rows += [[c.label, fmt.NOT_CAPTURED, "-"] for c in missing]
    return Table(["category", "time", "% of task time"], rows, [False, True, True])


def stage_categories(report: Report, stage: StageReport) -> Table:
    """A stage's categories; those at 0 ms are left out to keep it short."""
    values: dict[str, float | None] = {**stage.breakdown_ms, "unexplained": stage.unexplained_ms}
    return category_table(report, values, stage.task_ms, skip_zero=True)


def spark_table(stage: StageReport) -> Table:
    rows = [[SPARK_METRIC_LABELS[m], fmt.ms(f.spark_ms, "-"), fmt.ms(f.measured_ms),
             fmt.signed_ms(f.diff_ms)] for m, f in stage.spark.items()]
    return Table(["Spark metric", "Spark", "measured", "difference"], rows,
                 [False, True, True, True])


def stage_title(stage: StageReport) -> str:
    job = "" if stage.job_id is None else f" (job {stage.job_id})"
    return f"stage {fmt.stage_name(stage.stage_id, stage.attempt)}{job}: {stage.name}"


def stage_facts(stage: StageReport) -> str:
    facts = [f"wall {fmt.ms(stage.wall_ms, '?')}", f"task time {fmt.ms(stage.task_ms)}",
             f"{fmt.pct(stage.coverage_pct)} explained", f"status {stage.status}"]
    if stage.overcommitted:
        facts.append("the measured categories exceeded task time (two threads waiting on "
                     "each other count once) and were scaled down to fit")
    return ", ".join(facts)


def detailed_stages(report: Report, count: int = DETAIL_STAGES) -> list[StageReport]:
    """The ``count`` stages with the most task time, in timeline order."""
    chosen = sorted(report.stages, key=lambda s: -s.task_ms)[:count]
    keep = {(s.stage_id, s.attempt) for s in chosen if s.task_ms > 0}
    return [s for s in report.stages if (s.stage_id, s.attempt) in keep]


def jni_table(report: Report) -> Table | None:
    if report.jni_methods is None:
        return None
    rows = [[m.class_name, m.method, f"{m.calls:,}", fmt.ms(m.total_ms),
             "-" if m.task_ms is None else fmt.ms(m.task_ms)] for m in report.jni_methods]
    return Table(["class", "method", "calls", "time", "on task threads"], rows,
                 [False, False, True, True, True])


def latency_table(report: Report) -> Table | None:
    if report.latency is None:
        return None
    rows = [[h.syscall, h.family, f"{h.calls:,}", fmt.ms(h.total_ms), _quantile(h, 0.5),
             _quantile(h, 0.99)] for h in report.latency]
    return Table(["syscall", "family", "calls", "total", "median <", "p99 <"], rows,
                 [False, False, True, True, True, True])


def _quantile(hist: LatencyHistogram, q: float) -> str:
    """The upper bound of the log2 slot that holds the q-quantile (slot k < 2^k ns)."""
    total = sum(hist.counts)
    if total == 0:
        return "-"
    running = 0
    for slot, count in enumerate(hist.counts):
        running += count
        if running >= q * total:
            return _ns(2 ** slot)
    return _ns(2 ** (len(hist.counts) - 1))


def _ns(value: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} ns"
