"""Flame graphs of a recorded run: stacks in, folded / SVG / speedscope / pprof out.

``build_stacks(profile, kind, filter) -> StackTable`` collects stacks (cpu, offcpu, jni)
with process- and thread-role frames in front; the renderers are pure functions of a
StackTable; ``flamegraph(profile, ...)`` wraps both for notebooks. Needs no root or BCC.
"""

from __future__ import annotations

from profiler.flamegraph.folded import parse_folded, render_folded
from profiler.flamegraph.formats import FORMATS, OutputFormat, write_output
from profiler.flamegraph.notebook import FlameGraph, flamegraph, make_filter
from profiler.flamegraph.pprof import render_pprof
from profiler.flamegraph.selection import StackFilter
from profiler.flamegraph.sources import KINDS, SAMPLES_COLUMNS, build_stacks, default_kind
from profiler.flamegraph.speedscope import render_speedscope
from profiler.flamegraph.stacks import StackTable, clean_frame, from_frames
from profiler.flamegraph.svg import render_svg
from profiler.flamegraph.window import StageWindow, stage_window

__all__ = [
    "FORMATS",
    "KINDS",
    "SAMPLES_COLUMNS",
    "FlameGraph",
    "OutputFormat",
    "StackFilter",
    "StackTable",
    "StageWindow",
    "build_stacks",
    "clean_frame",
    "default_kind",
    "flamegraph",
    "from_frames",
    "make_filter",
    "parse_folded",
    "render_folded",
    "render_pprof",
    "render_speedscope",
    "render_svg",
    "stage_window",
    "write_output",
]
