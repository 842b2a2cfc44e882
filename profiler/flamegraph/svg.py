"""A self-contained interactive flame graph as one SVG document.

Root at the bottom, one ``<g class="f">`` per merged frame holding a ``<title>`` (name,
weight, share: the hover tooltip), a ``<rect>`` whose width is proportional to the weight,
and a label cut to fit. Frames narrower than ``min_fraction`` of the total are left out
and counted at the bottom. Labels are fitted here too, so the picture reads without
JavaScript (Jupyter shows SVG as an image); the inline script adds zoom and search.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from profiler.flamegraph.kinds import (
    KINDS,
    LABEL,
    ROOT_COLOR,
    frame_color,
    frame_kind,
    legend_color,
)
from profiler.flamegraph.stacks import StackTable
from profiler.flamegraph.svg_script import SCRIPT, STYLE
from profiler.flamegraph.tree import Layout, layout

WIDTH = 1200
PAD = 10
FRAME_HEIGHT = 16
TOP = 64  # title, subtitle and controls
BOTTOM = 40  # details line and hidden-frames note
CHAR_WIDTH = 7  # px per character of the 11px monospace labels (kept in step with the JS)


def render_svg(table: StackTable, min_fraction: float = 0.001) -> str:
    placed = layout(table, min_fraction)
    inner = WIDTH - 2 * PAD
    height = TOP + (placed.max_depth + 1) * FRAME_HEIGHT + BOTTOM
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" data-pad="{PAD}" '
        f'data-inner="{inner}" data-total="{placed.total}" '
        f'data-hidden-frames="{placed.hidden_frames}">\n',
        f"<style>{STYLE}</style>\n",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fbfbf8"/>\n',
        *_header(table, placed),
        '<g id="frames">\n',
    ]
    denominator = placed.total or 1  # an empty graph is just the root
    for box in placed.boxes:
        kind = frame_kind(box.name, is_label=0 < box.depth <= table.label_depth)
        fill = ROOT_COLOR if box.depth == 0 else frame_color(box.name, kind)
        x = PAD + box.start / denominator * inner
        width = box.weight / denominator * inner
        y = TOP + (placed.max_depth - box.depth) * FRAME_HEIGHT
        tooltip = f"{box.name}\n{format_weight(box.weight, table.unit)} " \
                  f"({100 * box.weight / denominator:.2f}%)"
        parts.append(
            f'<g class="f" data-d="{box.depth}" data-s="{box.start}" data-w="{box.weight}">'
            f"<title>{escape(tooltip)}</title>"
            f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{FRAME_HEIGHT - 1}" '
            f'fill="{fill}" rx="2"/>'
            f'<text x="{x + 3:.2f}" y="{y + 11.5}">{escape(_label(box.name, width))}</text>'
            "</g>\n")
    parts += ["</g>\n", *_footer(placed, height, min_fraction),
              f"<script><![CDATA[{SCRIPT}]]></script>\n</svg>\n"]
    return "".join(parts)


def format_weight(weight: int, unit: str) -> str:
    if unit != "nanoseconds":
        return f"{weight:,} {'sample' if weight == 1 else 'samples'}"
    for scale, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
        if weight >= scale:
            return f"{weight / scale:,.2f} {suffix}"
    return f"{weight} ns"


def _label(name: str, width: float) -> str:
    chars = int((width - 6) // CHAR_WIDTH)
    if chars < 3:
        return ""
    return name if len(name) <= chars else name[:chars - 2] + ".."


def _header(table: StackTable, placed: Layout) -> list[str]:
    title = table.title or f"sparkprof {table.kind}"
    subtitle = f"{format_weight(placed.total, table.unit)} in {len(table):,} distinct stacks"
    parts = [
        f'<text id="title" x="{WIDTH / 2}" y="22" text-anchor="middle">{escape(title)}</text>\n',
        f'<text id="subtitle" x="{WIDTH / 2}" y="38" text-anchor="middle">'
        f"{escape(subtitle)}</text>\n",
        f'<text id="reset" class="btn" x="{PAD}" y="22" style="display:none">Reset zoom</text>\n',
        f'<foreignObject x="{WIDTH - PAD - 240}" y="4" width="240" height="24">'
        '<input xmlns="http://www.w3.org/1999/xhtml" id="search" type="search" '
        'placeholder="Search (regular expression)" '
        'style="width:230px;font:12px sans-serif"/></foreignObject>\n',
        f'<text id="matched" x="{WIDTH - PAD}" y="44" text-anchor="end"></text>\n',
    ]
    x = PAD
    for kind in KINDS:  # legend
        name = "role" if kind == LABEL else kind
        parts.append(f'<rect x="{x}" y="44" width="10" height="10" fill="{legend_color(kind)}"/>'
                     f'<text class="legend" x="{x + 14}" y="53">{name}</text>\n')
        x += 24 + CHAR_WIDTH * len(name)
    return parts


def _footer(placed: Layout, height: int, min_fraction: float) -> list[str]:
    idle = "Hover over a frame for details; click to zoom."
    parts = [f'<text id="details" x="{PAD}" y="{height - 22}">{idle}</text>\n']
    if placed.hidden_frames:
        note = (f"{placed.hidden_frames:,} frames narrower than {min_fraction:.1%} of the "
                "width are not drawn (their callers' boxes still include their time)")
        parts.append(f'<text id="hidden" class="legend" x="{PAD}" y="{height - 6}">'
                     f"{escape(note)}</text>\n")
    return parts
