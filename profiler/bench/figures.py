"""The report figures as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from profiler.bench.collector import TARGET_EVENTS_PER_S, CollectorResults
from profiler.bench.compare import CompareResults
from profiler.bench.overhead import TARGET_MEDIAN_PCT, OverheadResults


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def overhead_figure(results: OverheadResults, path: Path) -> None:
    """Median wall overhead per workload, one bar group per probe set, min/max as errors."""
    plt = _pyplot()
    cells = [s for s in results.summaries() if s.wall_ratio]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(results.probe_sets), 1)
    for offset, probe_set in enumerate(results.probe_sets):
        mine = {s.workload: s.wall_ratio for s in cells if s.probe_set == probe_set}
        xs, ys, lows, highs = [], [], [], []
        for index, workload in enumerate(results.workloads):
            spread_ = mine.get(workload)
            if spread_ is None:
                continue
            xs.append(index + offset * width)
            ys.append((spread_.median - 1) * 100)
            lows.append((spread_.median - spread_.low) * 100)
            highs.append((spread_.high - spread_.median) * 100)
        ax.bar(xs, ys, width, yerr=[lows, highs], capsize=3, label=probe_set)
    ax.axhline(TARGET_MEDIAN_PCT, color="red", linestyle="--", linewidth=1, label="target")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks([i + width * (len(results.probe_sets) - 1) / 2
                   for i in range(len(results.workloads))], results.workloads)
    ax.set_ylabel("wall overhead % (median, min/max)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def variants_figure(results: CompareResults, path: Path) -> None:
    plt = _pyplot()
    keys = list(results.runs)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(keys, [results.runs[k].job_s for k in keys])
    ax.set_xlabel("job time s (profiled run)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def collector_figure(results: CollectorResults, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    runs = [str(i) for i in range(1, len(results.runs) + 1)]
    ax.bar(runs, [r["events_per_s"] for r in results.runs])
    ax.axhline(TARGET_EVENTS_PER_S, color="red", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("run")
    ax.set_ylabel("events/s")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
