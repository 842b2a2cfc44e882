"""Brendan Gregg's collapsed ("folded") stacks: ``root;...;leaf weight`` per line.

The input of flamegraph.pl, inferno, speedscope, Pyroscope and most flame-graph tools.
Lines are sorted by stack so two runs diff cleanly.
"""

from __future__ import annotations

from profiler.flamegraph.stacks import StackTable


def render_folded(table: StackTable) -> str:
    lines = sorted(f"{';'.join(stack)} {weight}"
                   for stack, weight in zip(table.stacks, table.weights, strict=True))
    return "".join(line + "\n" for line in lines)


def parse_folded(text: str) -> list[tuple[tuple[str, ...], int]]:
    """(frames root first, weight) per line; the weight is after the last space."""
    rows: list[tuple[tuple[str, ...], int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        stack, _, weight = line.rpartition(" ")
        if not stack or not weight.isdigit():
            raise ValueError(f"line {number} is not 'frame;frame;... weight': {line[:80]!r}")
        rows.append((tuple(stack.split(";")), int(weight)))
    return rows
