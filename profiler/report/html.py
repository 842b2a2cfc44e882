"""The report as ONE self-contained HTML file: inline CSS, figures as base64 PNG, flame
graphs as inline SVG documents. Nothing is fetched from the network.

Each flame graph is an interactive SVG with its own ids and script, so it sits in an
``<iframe srcdoc>``: several of them on one page cannot clash.
"""

from __future__ import annotations

import base64
from html import escape

from matplotlib.figure import Figure

from profiler.plots.figures import (
    breakdown_figure,
    jni_figure,
    latency_figure,
    png_bytes,
    timeline_figure,
)
from profiler.report import jni_interface, sections
from profiler.report.model import Report
from profiler.report.sections import Table

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:15px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{padding:3px 9px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px}
.muted{color:#777}img{max-width:100%}
iframe{width:100%;height:520px;border:1px solid #ddd}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:600}
"""


def html_table(table: Table) -> str:
    """A ``Table`` as an HTML table (numeric columns right-aligned)."""
    def cell(tag: str, text: str, right: bool) -> str:
        return f'<{tag}{" class=r" if right else ""}>{escape(text)}</{tag}>'

    head = "".join(cell("th", h, r) for h, r in zip(table.headers, table.right, strict=True))
    body = "".join("<tr>" + "".join(cell("td", c, r) for c, r in zip(row, table.right,
                                                                      strict=True)) + "</tr>"
                   for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(figure: Figure, alt: str) -> str:
    data = base64.b64encode(png_bytes(figure)).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _flamegraphs(report: Report) -> list[str]:
    parts = ["<h2>Flame graphs of the largest stages</h2>"]
    for key, svg in report.flamegraphs.items():
        parts.append(f"<h3>stage {escape(key)}</h3>")
        parts.append(f'<iframe title="flame graph of stage {escape(key)}" sandbox="allow-scripts"'
                     f' srcdoc="{escape(svg, quote=True)}"></iframe>')
    if not report.flamegraphs:
        parts.append('<p class="muted">No flame graph embedded.</p>')
    parts += [f'<p class="muted">{escape(note)}</p>' for note in report.figure_notes]
    return parts


def _jni_interface(report: Report) -> list[str]:
    use = report.jni_interface
    if use is None:
        return []
    parts = ["<h2>JNI interface (native code calling the VM)</h2>"]
    functions = jni_interface.functions_table(report)
    if functions is not None and functions.rows:
        parts += [html_table(functions),
                  f'<p class="muted">{escape(jni_interface.NOT_SIZED_NOTE)}</p>']
    else:
        parts.append("<p>No interface calls.</p>")
    parts += ["<h3>Global references still live at the end</h3>",
              f"<p>{escape(jni_interface.live_refs_summary(use))}</p>"]
    refs = jni_interface.live_refs_table(report)
    if refs is not None:
        parts.append(html_table(refs))
    parts += [f"<h3>{escape(jni_interface.LOCAL_REFS_TITLE)}</h3>",
              f"<p>{escape(jni_interface.local_refs_summary(use))}</p>"]
    local_refs = jni_interface.local_refs_table(report)
    if local_refs is not None:
        parts += [html_table(local_refs),
                  f'<p class="muted">{escape(jni_interface.LOCAL_REFS_NOTE)}</p>']
    return parts


def render_html(report: Report) -> str:
    h = report.headline
    title = f"sparkprof report: {h.app_name or h.run_dir}"
    parts = [f"<h1>{escape(title)}</h1>", "<dl>"]
    parts += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
              for k, v in sections.headline_pairs(report)]
    parts.append("</dl>")
    found = sections.warnings(report)
    if found:
        parts.append('<div class="warn"><b>The data below may be partial:</b><ul>'
                     + "".join(f"<li>{escape(w)}</li>" for w in found) + "</ul></div>")
    parts += ["<h2>Stage timeline</h2>", _image(timeline_figure(report.stages),
                                                "stage timeline")]
    parts += ["<h2>Task time by category</h2>",
              _image(breakdown_figure(report.stages), "breakdown per stage"),
              html_table(sections.category_table(report, report.totals_ms,
                                             report.totals_ms.get("task")))]
    parts += ["<h2>Top findings</h2>", "<ol>" + "".join(
        f"<li>{escape(f.text)}</li>" for f in report.findings) + "</ol>"
        if report.findings else "<p>None above 1% of a stage's task time.</p>"]
    parts += ["<h2>Stages</h2>", '<p class="muted">* categories scaled down to task time</p>',
              html_table(sections.stage_table(report))]
    latency = sections.latency_table(report)
    if report.latency:
        parts += ["<h2>Syscall latency</h2>", _image(latency_figure(report.latency),
                                                     "syscall latency histograms")]
        parts.append(html_table(latency) if latency is not None else "")
    elif report.latency is None:
        parts += ["<h2>Syscall latency</h2>", '<p class="muted">not captured</p>']
    jni = sections.jni_table(report)
    parts.append("<h2>Top JNI methods</h2>")
    if report.jni_methods:
        parts += [_image(jni_figure(report.jni_methods), "top JNI methods"),
                  html_table(jni) if jni is not None else ""]
    else:
        parts.append('<p class="muted">not captured (record with JNI tracing)</p>'
                     if report.jni_methods is None else "<p>No JNI calls.</p>")
    parts += _jni_interface(report)
    for stage in sections.detailed_stages(report):
        parts += [f"<h2>{escape(sections.stage_title(stage))}</h2>",
                  f"<p>{escape(sections.stage_facts(stage))}</p>",
                  html_table(sections.stage_categories(report, stage)),
                  html_table(sections.spark_table(stage))]
    parts += _flamegraphs(report)
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
