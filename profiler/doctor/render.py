"""The doctor's report as a readable table or as one stable JSON object."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import Any

from profiler import __version__
from profiler.doctor.model import Check, DoctorReport

_MARK = {"ok": "ok", "degraded": "DEGRADED", "missing": "MISSING"}
JSON_CHECK_KEYS = ("name", "status", "detail", "remedy", "required")


def check_to_json(check: Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "status": check.status,
        "detail": check.detail,
        "remedy": check.remedy,
        "required": check.required_for_record,
    }


def report_to_json(report: DoctorReport) -> dict[str, Any]:
    """{"ready", "version", "checks": [{name, status, detail, remedy, required}]}: the same
    keys on every host and every run; ``remedy`` is null when there is nothing to fix."""
    return {
        "ready": report.ready,
        "version": __version__,
        "checks": [check_to_json(check) for check in report.checks],
    }


def render_json(report: DoctorReport) -> str:
    return json.dumps(report_to_json(report), indent=2)


def verdict(report: DoctorReport) -> str:
    if report.ready:
        return "verdict: READY: sparkprof record can run with its default probe set"
    names = ", ".join(check.name for check in report.blockers)
    return f"verdict: NOT READY: sparkprof record needs {names} (see the fixes above)"


def _wrap(text: str, width: int) -> list[str]:
    # Paths and package names read better unbroken than split at their hyphens.
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False) or [""]


def render_text(report: DoctorReport, width: int | None = None) -> str:
    """One row per check: status, name, detail wrapped to the terminal; a fix line below."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    name_width = max(len(check.name) + 1 for check in report.checks)
    indent = " " * (9 + 2 + name_width + 2)
    detail_width = max(40, width - len(indent))
    lines = [f"{'STATUS':9}  {'CHECK':{name_width}}  DETAIL"]
    for check in report.checks:
        name = check.name + ("*" if check.required_for_record else "")
        wrapped = _wrap(check.detail, detail_width)
        lines.append(f"{_MARK[check.status]:9}  {name:{name_width}}  {wrapped[0]}")
        lines.extend(indent + more for more in wrapped[1:])
        if check.remedy:
            lines.extend(indent + part for part in _wrap("fix: " + check.remedy, detail_width))
    lines.append("")
    lines.append("* needed by sparkprof record's default probe set; the rest is optional evidence")
    lines.append(verdict(report))
    return "\n".join(lines)
