"""The figure of a comparison: task-time delta per category."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from profiler.plots.figures import COLORS, new_figure

if TYPE_CHECKING:
    from profiler.comparison.model import Comparison


def category_delta_figure(comparison: Comparison) -> Figure:
    """Horizontal bars: B - A task time per category (s), largest changes first."""
    deltas = sorted((d for d in comparison.categories if d.delta_ms is not None),
                    key=lambda d: -abs(d.delta_ms or 0.0))
    figure = new_figure(9, max(2.0, 0.3 * len(deltas) + 1.4))
    axes = figure.add_subplot()
    axes.barh(range(len(deltas)), [(d.delta_ms or 0.0) / 1e3 for d in deltas],
              color=[COLORS.get(d.category, "#999999") for d in deltas])
    axes.set_yticks(range(len(deltas)), [d.label for d in deltas], fontsize=8)
    axes.invert_yaxis()
    axes.axvline(0, color="#333333", linewidth=0.8)
    axes.set_xlabel(f"task time {comparison.b_label} - {comparison.a_label} (s)")
    axes.set_title(comparison.summary, fontsize=9, wrap=True)
    return figure
