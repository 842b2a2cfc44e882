"""matplotlib figures of a run: ``Profile.plot`` (notebooks) and the HTML report."""

from __future__ import annotations

from profiler.plots.accessor import PlotAccessor
from profiler.plots.figures import (
    COLORS,
    breakdown_figure,
    jni_figure,
    latency_figure,
    png_bytes,
    timeline_figure,
)

__all__ = [
    "COLORS",
    "PlotAccessor",
    "breakdown_figure",
    "jni_figure",
    "latency_figure",
    "png_bytes",
    "timeline_figure",
]
