"""``flamegraph(profile, kind=..., stage=...)``: a flame graph object for notebooks.

``FlameGraph`` shows itself as SVG in Jupyter and renders every output format on demand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from profiler.flamegraph.folded import render_folded
from profiler.flamegraph.formats import format_for_path, format_named, write_output
from profiler.flamegraph.pprof import render_pprof
from profiler.flamegraph.selection import StackFilter
from profiler.flamegraph.sources import build_stacks, default_kind
from profiler.flamegraph.speedscope import render_speedscope
from profiler.flamegraph.stacks import StackTable
from profiler.flamegraph.svg import render_svg
from profiler.flamegraph.window import parse_stage, stage_window

if TYPE_CHECKING:
    from profiler.profile import Profile


class FlameGraph:
    """Stacks of one kind, ready to render: ``.svg()``, ``.folded()``, ``.speedscope()``,
    ``.pprof()``, ``.save(path)``; ``.stacks`` is the StackTable, ``.to_frame()`` a
    DataFrame of it."""

    def __init__(self, stacks: StackTable) -> None:
        self.stacks = stacks
        self._svg: str | None = None

    @property
    def kind(self) -> str:
        return self.stacks.kind

    @property
    def total(self) -> int:
        return self.stacks.total

    def folded(self) -> str:
        return render_folded(self.stacks)

    def svg(self) -> str:
        if self._svg is None:
            self._svg = render_svg(self.stacks)
        return self._svg

    def speedscope(self) -> str:
        return render_speedscope(self.stacks)

    def pprof(self) -> bytes:
        return render_pprof(self.stacks)

    def to_frame(self) -> pd.DataFrame:
        return self.stacks.to_frame()

    def save(self, path: str | os.PathLike[str], format: str | None = None,
             force: bool = False) -> Path:
        """Write to ``path`` in ``format`` (default: from the extension); OutputError if the
        file exists and ``force`` is false."""
        target = Path(path)
        output = format_named(format) if format else format_for_path(target)
        write_output(target, output.render(self.stacks), force)
        return target

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return (f"<FlameGraph {self.stacks.title or self.kind}: {len(self.stacks)} stacks, "
                f"total {self.total} {self.stacks.unit}>")


def flamegraph(profile: Profile, kind: str | None = None, stage: int | str | None = None,
               pids: Iterable[int] = (), roles: Iterable[str] = (),
               start_ns: int | None = None, end_ns: int | None = None) -> FlameGraph:
    """The flame graph of ``kind`` ("cpu", "offcpu", "jni"; default: cpu when the run has
    samples, else offcpu), optionally of one stage's wall window (``3`` or ``"3.1"`` for an
    attempt), some pids, some roles, or a [start_ns, end_ns) monotonic window."""
    return FlameGraph(build_stacks(profile, kind or default_kind(profile),
                                   make_filter(profile, stage, pids, roles, start_ns, end_ns)))


def make_filter(profile: Profile, stage: int | str | None, pids: Iterable[int],
                roles: Iterable[str], start_ns: int | None = None,
                end_ns: int | None = None) -> StackFilter:
    """A StackFilter; a stage narrows the window to its wall window."""
    description = ""
    if stage is not None:
        stage_id, attempt = parse_stage(str(stage))
        window = stage_window(profile, stage_id, attempt)
        start_ns = window.start_ns if start_ns is None else max(start_ns, window.start_ns)
        if window.end_ns is not None:
            end_ns = window.end_ns if end_ns is None else min(end_ns, window.end_ns)
        description = window.description
    return StackFilter(frozenset(int(pid) for pid in pids), frozenset(roles), start_ns,
                       end_ns, description)
