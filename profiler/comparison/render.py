"""Renderers of a Comparison: text, md, json, html (pure: Comparison -> str)."""

from __future__ import annotations

import base64
import json
from html import escape
from typing import Any

from profiler import __version__
from profiler.comparison.model import Comparison, StageDelta
from profiler.report import fmt
from profiler.report.sections import Table


def _id(stage: Any) -> str:
    return "-" if stage is None else str(stage.stage_id)


def _biggest(delta: StageDelta, comparison: Comparison) -> str:
    parts = [(c, v) for c, v in delta.breakdown_delta_ms.items() if v]
    parts.sort(key=lambda item: -abs(item[1]))
    return ", ".join(f"{fmt.signed_ms(v)} {comparison.a.label(c)}" for c, v in parts[:2])


def overview_table(c: Comparison) -> Table:
    rows = [["end to end (application wall time)", fmt.ms(c.wall_a_ms, "?"),
             fmt.ms(c.wall_b_ms, "?"), fmt.signed_ms(_sub(c.wall_b_ms, c.wall_a_ms)),
             fmt.pct(c.wall_delta_pct, signed=True)],
            ["task time (all stages)", fmt.ms(c.task_a_ms), fmt.ms(c.task_b_ms),
             fmt.signed_ms(c.task_b_ms - c.task_a_ms), fmt.pct(c.task_delta_pct, signed=True)]]
    return Table(["", c.a_label, c.b_label, "delta", "change"], rows,
                 [False, True, True, True, True])


def _sub(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a


def category_table(c: Comparison) -> Table:
    ordered = sorted(c.categories, key=lambda d: (d.delta_ms is None, -abs(d.delta_ms or 0.0)))
    rows = [[d.label, fmt.ms(d.a_ms), fmt.ms(d.b_ms), fmt.signed_ms(d.delta_ms),
             fmt.pct(d.pct_of_a_task, signed=True)] for d in ordered]
    return Table(["category", c.a_label, c.b_label, "delta", f"% of {c.a_label} task time"],
                 rows, [False, True, True, True, True])


def stage_table(c: Comparison) -> Table:
    rows = []
    for d in c.stages:
        a, b = d.pair.a, d.pair.b
        rows.append([_id(a), _id(b), fmt.shorten(d.name, 40), d.pair.matched_by or "unmatched",
                     fmt.ms(a.wall_ms if a else None, "-"), fmt.ms(b.wall_ms if b else None, "-"),
                     fmt.signed_ms(d.wall_delta_ms), fmt.pct(d.wall_delta_pct, signed=True),
                     _biggest(d, c) or "-"])
    return Table([f"{c.a_label} stage", f"{c.b_label} stage", "name", "matched by",
                  f"wall {c.a_label}", f"wall {c.b_label}", "delta", "change",
                  "largest category deltas"], rows,
                 [True, True, False, False, True, True, True, True, False])


def render_text(c: Comparison) -> str:
    lines = [f"sparkprof compare: {c.a_label} = {c.a.headline.run_dir}, "
             f"{c.b_label} = {c.b.headline.run_dir}", "", c.summary, ""]
    for title, table in (("Overview", overview_table(c)),
                         ("Where the task time went (all stages)", category_table(c)),
                         ("Stages", stage_table(c))):
        lines += [title, *fmt.text_table(table.headers, table.rows, table.right), ""]
    if c.notes:
        lines += ["Notes", *(f"  ! {note}" for note in c.notes)]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(c: Comparison) -> str:
    lines = [f"# sparkprof compare: `{c.a.headline.run_dir}` vs `{c.b.headline.run_dir}`", "",
             f"**{c.summary}**", ""]
    for title, table in (("Overview", overview_table(c)),
                         ("Where the task time went (all stages)", category_table(c)),
                         ("Stages", stage_table(c))):
        lines += [f"## {title}", "", *fmt.md_table(table.headers, table.rows, table.right), ""]
    if c.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in c.notes)]
    return "\n".join(lines).rstrip() + "\n"


def comparison_dict(c: Comparison) -> dict[str, Any]:
    def stage(total: Any) -> dict[str, Any] | None:
        if total is None:
            return None
        return {"stage_id": total.stage_id, "attempts": total.attempts, "job_id": total.job_id,
                "name": total.name, "wall_ms": total.wall_ms, "task_ms": total.task_ms,
                "breakdown_ms": total.breakdown_ms, "unexplained_ms": total.unexplained_ms}

    return {
        "schema_version": c.schema_version, "kind": "compare",
        "generator": f"sparkprof {__version__}",
        "a": {"label": c.a_label, "path": c.a.headline.run_dir, "app_id": c.a.headline.app_id},
        "b": {"label": c.b_label, "path": c.b.headline.run_dir, "app_id": c.b.headline.app_id},
        "summary": c.summary,
        "end_to_end": {"a_ms": c.wall_a_ms, "b_ms": c.wall_b_ms,
                       "delta_ms": _sub(c.wall_b_ms, c.wall_a_ms),
                       "delta_pct": c.wall_delta_pct},
        "task_time": {"a_ms": c.task_a_ms, "b_ms": c.task_b_ms,
                      "delta_ms": c.task_b_ms - c.task_a_ms, "delta_pct": c.task_delta_pct},
        "categories": [vars(d) for d in c.categories],
        "stages": [{"matched_by": d.pair.matched_by, "a": stage(d.pair.a), "b": stage(d.pair.b),
                    "wall_delta_ms": d.wall_delta_ms, "wall_delta_pct": d.wall_delta_pct,
                    "task_delta_ms": d.task_delta_ms,
                    "breakdown_delta_ms": d.breakdown_delta_ms} for d in c.stages],
        "notes": c.notes,
    }


def render_json(c: Comparison) -> str:
    return json.dumps(comparison_dict(c), indent=2, allow_nan=False) + "\n"


def render_html(c: Comparison) -> str:
    from profiler.plots.compare import category_delta_figure
    from profiler.plots.figures import png_bytes
    from profiler.report.html import CSS, html_table

    image = base64.b64encode(png_bytes(category_delta_figure(c))).decode("ascii")
    parts = [f"<h1>sparkprof compare: {escape(c.a_label)} vs {escape(c.b_label)}</h1>",
             f"<p>{escape(c.a_label)} = {escape(c.a.headline.run_dir)}<br>"
             f"{escape(c.b_label)} = {escape(c.b.headline.run_dir)}</p>",
             f"<p><b>{escape(c.summary)}</b></p>", "<h2>Overview</h2>",
             html_table(overview_table(c)), "<h2>Where the task time went</h2>",
             f'<img alt="category deltas" src="data:image/png;base64,{image}">',
             html_table(category_table(c)), "<h2>Stages</h2>", html_table(stage_table(c))]
    if c.notes:
        parts.append('<div class="warn"><ul>' + "".join(f"<li>{escape(n)}</li>"
                                                       for n in c.notes) + "</ul></div>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>sparkprof compare</title><style>{CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
