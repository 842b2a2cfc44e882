"""The latency-overhead report: ``build_report(profile) -> Report`` and one renderer per
format (text, md, json, html), each a pure ``Report -> str``.

``RENDERERS[name].render(report)``; ``write_report`` is the one place that writes a file.
``profiler.compare(p1, p2)`` (two runs) lives in ``profiler.comparison``.
"""

from __future__ import annotations

from profiler.report.build import build_report
from profiler.report.jsonout import render_json, report_dict
from profiler.report.markdown import render_markdown
from profiler.report.model import SCHEMA_VERSION, Report, StageReport
from profiler.report.output import RENDERERS, Renderer, write_report
from profiler.report.text import render_text

__all__ = [
    "RENDERERS",
    "SCHEMA_VERSION",
    "Renderer",
    "Report",
    "StageReport",
    "build_report",
    "render_json",
    "render_markdown",
    "render_text",
    "report_dict",
    "write_report",
]
