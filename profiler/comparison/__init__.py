"""``profiler.compare(p1, p2)``: what changed between two runs, stage by stage, and which
categories the difference comes from. Renderers: ``RENDERERS[name].render(comparison)``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

from profiler.comparison.match import StagePair, StageTotal, match_stages, stage_totals
from profiler.comparison.model import CategoryDelta, Comparison, StageDelta, compare_reports
from profiler.comparison.render import comparison_dict, render_json, render_markdown, render_text
from profiler.report.output import Renderer

if TYPE_CHECKING:
    from profiler.profile import Profile

RunLike = Union["Profile", str, os.PathLike[str]]


def _html(comparison: Comparison) -> str:
    from profiler.comparison.render import render_html

    return render_html(comparison)


RENDERERS: dict[str, Renderer[Comparison]] = {
    "text": Renderer("text", "txt", render_text),
    "md": Renderer("md", "md", render_markdown),
    "json": Renderer("json", "json", render_json),
    "html": Renderer("html", "html", _html, needs_figures=True),
}


def _profile(run: RunLike) -> Profile:
    from profiler.profile import Profile, load

    return run if isinstance(run, Profile) else load(Path(run))


def compare(a: RunLike, b: RunLike, a_label: str = "A", b_label: str = "B") -> Comparison:
    """Compare run ``b`` with run ``a`` (Profiles or run directories). ``str(result)`` is
    the text report; ``result.summary`` the one-line answer."""
    from profiler.report import build_report

    return compare_reports(build_report(_profile(a)), build_report(_profile(b)), a_label,
                           b_label)


__all__ = [
    "RENDERERS",
    "CategoryDelta",
    "Comparison",
    "StageDelta",
    "StagePair",
    "StageTotal",
    "compare",
    "compare_reports",
    "comparison_dict",
    "match_stages",
    "render_json",
    "render_markdown",
    "render_text",
    "stage_totals",
]
