"""The report as a terminal-readable text page (the default of ``sparkprof report``)."""

from __future__ import annotations

from profiler.report import fmt, jni_interface, sections
from profiler.report.model import Report
from profiler.report.sections import Table


def _table(table: Table) -> list[str]:
    return fmt.text_table(table.headers, table.rows, table.right)


def render_text(report: Report) -> str:
    lines = [f"sparkprof report: {report.headline.run_dir}", ""]
    pairs = sections.headline_pairs(report)
    width = max(len(key) for key, _ in pairs)
    lines += [f"  {key.ljust(width)}  {value}" for key, value in pairs]
    found = sections.warnings(report)
    if found:
        lines += ["", "Warnings (the data below may be partial)"]
        lines += [f"  ! {warning}" for warning in found]
    lines += ["", f"Stages ({len(report.stages)}; * = categories scaled down to task time)"]
    lines += _table(sections.stage_table(report)) if report.stages else ["  no stages"]
    total = report.totals_ms.get("task")
    lines += ["", f"Task time by category (all stages, {fmt.ms(total)})"]
    lines += _table(sections.category_table(report, report.totals_ms, total))
    lines += ["", "Top findings"]
    lines += [f"  {i}. {f.text}" for i, f in enumerate(report.findings, 1)] or [
        "  none above 1% of a stage's task time"]
    jni = sections.jni_table(report)
    if jni is not None:
        lines += ["", "Top JNI methods"] + (_table(jni) if jni.rows else ["  no calls"])
    if report.jni_interface is not None:
        lines += ["", "JNI interface (native code calling the VM)"]
        lines += jni_interface.text_lines(report, _table)
    latency = sections.latency_table(report)
    if latency is not None and latency.rows:
        lines += ["", "Syscall latency (slowest syscalls by total time)", *_table(latency)]
    for stage in sections.detailed_stages(report):
        lines += ["", sections.stage_title(stage), f"  {sections.stage_facts(stage)}"]
        lines += _table(sections.stage_categories(report, stage))
        lines += ["", *_table(sections.spark_table(stage))]
    return "\n".join(lines) + "\n"
