"""``Profile.plot``: the report's figures for one run, as matplotlib Figures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from profiler.plots.figures import breakdown_figure, latency_figure, timeline_figure
from profiler.report.build import app_start, stage_reports
from profiler.report.extras import latency_histograms
from profiler.report.model import StageReport

if TYPE_CHECKING:
    from profiler.profile import Profile


class PlotAccessor:
    """``p.plot.timeline()``, ``p.plot.breakdown()``, ``p.plot.latency(...)``."""

    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    def _stages(self) -> list[StageReport]:
        return stage_reports(self._profile.stages, self._profile.correlation(),
                             app_start(self._profile))

    def timeline(self) -> Figure:
        """Gantt chart of the stages, bars split by category share of task time."""
        return timeline_figure(self._stages())

    def breakdown(self) -> Figure:
        """Stacked bars of task time by category, one per stage."""
        return breakdown_figure(self._stages())

    def latency(self, syscalls: str | Iterable[str] | None = None, top: int = 8) -> Figure:
        """Latency histograms of ``syscalls`` (default: the ``top`` by total time)."""
        wanted = [syscalls] if isinstance(syscalls, str) else (
            None if syscalls is None else list(syscalls))
        histograms = latency_histograms(self._profile, top=top if wanted is None else 10**6)
        chosen = histograms or []
        if wanted is not None:
            chosen = [h for h in chosen if h.syscall in wanted]
        return latency_figure(chosen)
