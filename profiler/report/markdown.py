"""The report as Markdown (GitHub-flavoured tables), for issues, pull requests and wikis."""

from __future__ import annotations

from profiler.report import fmt, jni_interface, sections
from profiler.report.model import Report
from profiler.report.sections import Table


def _table(table: Table) -> list[str]:
    return fmt.md_table(table.headers, table.rows, table.right)


def render_markdown(report: Report) -> str:
    lines = [f"# sparkprof report: `{report.headline.run_dir}`", ""]
    lines += [f"- **{key}**: {value}" for key, value in sections.headline_pairs(report)]
    found = sections.warnings(report)
    if found:
        lines += ["", "## Warnings (the data below may be partial)", ""]
        lines += [f"- ⚠ {warning}" for warning in found]
    lines += ["", "## Stages", ""]
    lines += _table(sections.stage_table(report)) if report.stages else ["No stages."]
    total = report.totals_ms.get("task")
    lines += ["", f"## Task time by category (all stages, {fmt.ms(total)})", ""]
    lines += _table(sections.category_table(report, report.totals_ms, total))
    lines += ["", "## Top findings", ""]
    lines += [f"{i}. {f.text}" for i, f in enumerate(report.findings, 1)] or [
        "None above 1% of a stage's task time."]
    jni = sections.jni_table(report)
    if jni is not None:
        lines += ["", "## Top JNI methods", ""] + (_table(jni) if jni.rows else ["No calls."])
    if report.jni_interface is not None:
        lines += ["", "## JNI interface (native code calling the VM)", ""]
        lines += jni_interface.text_lines(report, _table)
    latency = sections.latency_table(report)
    if latency is not None and latency.rows:
        lines += ["", "## Syscall latency", "", *_table(latency)]
    for stage in sections.detailed_stages(report):
        lines += ["", f"## {sections.stage_title(stage)}", "", sections.stage_facts(stage), ""]
        lines += _table(sections.stage_categories(report, stage))
        lines += ["", *_table(sections.spark_table(stage))]
    return "\n".join(lines) + "\n"
