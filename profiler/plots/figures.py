"""matplotlib figures of a report model: stage timeline, breakdown bars, latency, JNI.

Pure functions of report data returning ``matplotlib.figure.Figure`` (no pyplot state, no
files): notebooks display them, the HTML renderer embeds them as PNG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from profiler.correlate import CATEGORIES, CATEGORY_LABELS
from profiler.report.model import JniMethod, LatencyHistogram, StageReport

COLORS: dict[str, str] = {
    "cpu_jvm": "#4c9a2a", "cpu_python": "#3b75af", "cpu_kernel": "#e8a33d",
    "net_py4j": "#b07aa1", "net_python_worker": "#d62728", "net_shuffle": "#9467bd",
    "net_driver_rpc": "#8c564b", "net_external": "#e377c2", "net_unknown": "#f7b6d2",
    "file_io": "#17becf", "jni": "#bcbd22", "gc": "#ff7f0e", "futex": "#7f7f7f",
    "offcpu_other": "#aec7e8", "unexplained": "#e5e5e5",
}
MAX_BARS = 40  # more stages than this: the ones with most task time


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _stage_label(stage: StageReport) -> str:
    name = stage.name if len(stage.name) <= 28 else stage.name[:27] + "…"
    attempt = f".{stage.attempt}" if stage.attempt else ""
    return f"{stage.stage_id}{attempt} {name}"


def _shares(stage: StageReport) -> list[tuple[str, float]]:
    """(category, fraction of task time) of the captured categories plus unexplained."""
    if not stage.task_ms > 0:
        return []
    parts = [(c, (stage.breakdown_ms.get(c) or 0.0) / stage.task_ms) for c in CATEGORIES]
    parts.append(("unexplained", stage.unexplained_ms / stage.task_ms))
    return [(c, f) for c, f in parts if f > 0]


def _legend(figure: Figure, used: Sequence[str]) -> None:
    handles = [Patch(color=COLORS[c], label=CATEGORY_LABELS.get(c, c))
               for c in [*CATEGORIES, "unexplained"] if c in used]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8,
                      frameon=False)


def _largest(stages: Sequence[StageReport]) -> list[StageReport]:
    if len(stages) <= MAX_BARS:
        return list(stages)
    keep = {id(s) for s in sorted(stages, key=lambda s: -s.task_ms)[:MAX_BARS]}
    return [s for s in stages if id(s) in keep]


def timeline_figure(stages: Sequence[StageReport]) -> Figure:
    """Gantt chart of stage attempts (submission to completion); each bar is split into
    the categories' shares of the stage's task time."""
    timed = [s for s in stages if s.start_ms is not None and s.wall_ms is not None]
    timed = _largest(timed)
    figure = new_figure(10, max(2.5, 0.32 * len(timed) + 1.6))
    axes = figure.add_subplot()
    used: set[str] = set()
    for row, stage in enumerate(timed):
        start, wall = (stage.start_ms or 0.0) / 1e3, (stage.wall_ms or 0.0) / 1e3
        axes.barh(row, wall, left=start, height=0.8, color="#f4f4f4", edgecolor="#555555",
                  linewidth=0.6)
        left = start
        for category, fraction in _shares(stage):
            axes.barh(row, wall * fraction, left=left, height=0.55, color=COLORS[category])
            left += wall * fraction
            used.add(category)
    axes.set_yticks(range(len(timed)), [_stage_label(s) for s in timed], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("seconds since application start")
    axes.set_title("Stage timeline (bar = wall time, colours = share of task time)",
                   fontsize=10)
    if not timed:
        axes.text(0.5, 0.5, "no stages with a known wall time", ha="center",
                  transform=axes.transAxes)
    _legend(figure, sorted(used))
    return figure


def breakdown_figure(stages: Sequence[StageReport]) -> Figure:
    """Stacked bars: each stage's task time by category (ms), unexplained in grey."""
    shown = _largest([s for s in stages if s.task_ms > 0])
    figure = new_figure(10, max(2.5, 0.32 * len(shown) + 1.6))
    axes = figure.add_subplot()
    used: set[str] = set()
    for row, stage in enumerate(shown):
        left = 0.0
        for category, fraction in _shares(stage):
            width = fraction * stage.task_ms / 1e3
            axes.barh(row, width, left=left, height=0.7, color=COLORS[category])
            left += width
            used.add(category)
    axes.set_yticks(range(len(shown)), [_stage_label(s) for s in shown], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("task time (s, summed over the stage's tasks)")
    axes.set_title("Task time by category per stage", fontsize=10)
    if not shown:
        axes.text(0.5, 0.5, "no task time", ha="center", transform=axes.transAxes)
    _legend(figure, sorted(used))
    return figure


_SLOT_TICKS = {10: "1 µs", 20: "1 ms", 30: "1 s", 14: "16 µs", 17: "128 µs", 24: "16 ms",
               27: "128 ms"}


def latency_figure(histograms: Sequence[LatencyHistogram]) -> Figure:
    """Calls per log2 latency slot, one line per syscall (slot k: [2^(k-1), 2^k) ns)."""
    figure = new_figure(10, 3.8)
    axes = figure.add_subplot()
    for hist in histograms:
        axes.step(range(len(hist.counts)), hist.counts, where="mid",
                  label=f"{hist.syscall} ({hist.calls:,} calls)")
    axes.set_yscale("symlog")
    axes.set_xticks(list(_SLOT_TICKS), list(_SLOT_TICKS.values()), fontsize=8)
    axes.set_xlabel("latency (log2 slots)")
    axes.set_ylabel("calls")
    axes.set_title("Syscall latency histograms (slowest syscalls by total time)", fontsize=10)
    if histograms:
        axes.legend(fontsize=8, frameon=False)
    else:
        axes.text(0.5, 0.5, "no syscalls captured", ha="center", transform=axes.transAxes)
    return figure


def jni_figure(methods: Sequence[JniMethod]) -> Figure:
    figure = new_figure(10, max(2.0, 0.3 * len(methods) + 1.2))
    axes = figure.add_subplot()
    axes.barh(range(len(methods)), [m.total_ms for m in methods], color=COLORS["jni"])
    axes.set_yticks(range(len(methods)),
                    [f"{m.class_name.rsplit('.', 1)[-1]}.{m.method}" for m in methods],
                    fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("time in the method (ms, all threads)")
    axes.set_title("Top JNI methods", fontsize=10)
    return figure


def png_bytes(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
