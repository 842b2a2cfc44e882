"""Stacks laid out as flame-graph boxes, one per merged frame (node of the call tree).

Boxes are in weight units (``start``, ``weight``), children ordered by name like
flamegraph.pl, so the same stacks always give the same picture. Boxes narrower than a
fraction of the total are left out with their subtrees, and counted.

The tree is never built as objects (100k stacks x 50 frames would be millions of them):
frames become integer ids in name order, stacks become rows of a matrix sorted
lexicographically, and a node is a contiguous range of rows sharing a prefix, so each
visible node costs a few numpy operations and invisible subtrees cost nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from profiler.flamegraph.stacks import StackTable

ROOT_NAME = "all"
_END = -1  # padding after a stack's last frame: sorts before every frame id


@dataclass(frozen=True)
class FrameBox:
    name: str
    depth: int  # 0 = the root "all"; stack frame i is at depth i + 1
    start: int  # offset from the left edge, in weight units
    weight: int


@dataclass(frozen=True)
class Layout:
    boxes: list[FrameBox]
    total: int
    max_depth: int
    hidden_frames: int  # merged frames left out for being too narrow (subtrees included)
    hidden_weight: int  # weight of the narrow subtrees left out at their top


Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class _Sorted:
    """Stacks as a sorted id matrix with the prefix sums the layout needs."""

    frames: Array  # (stacks, max depth) frame ids, _END padded, rows sorted
    cum_weight: Array  # cum_weight[k] = weight of rows before k
    cum_new_nodes: Array  # cum_new_nodes[k] = sum over rows before k of (len - lcp)
    lengths: Array
    names: list[str]


def layout(table: StackTable, min_fraction: float = 0.001) -> Layout:
    """Boxes of all nodes at least ``min_fraction`` of the total width, parents first."""
    total = table.total
    if not any(table.stacks):
        return Layout([FrameBox(ROOT_NAME, 0, 0, total)], total, 0, 0, 0)
    data = _sort(table)
    min_weight = total * min_fraction
    boxes: list[FrameBox] = []
    hidden_frames = hidden_weight = max_depth = 0
    pending: list[tuple[int, int, int, int, str]] = [(0, len(data.frames), 0, 0, ROOT_NAME)]
    while pending:
        lo, hi, depth, start, name = pending.pop()
        weight = int(data.cum_weight[hi] - data.cum_weight[lo])
        boxes.append(FrameBox(name, depth, start, weight))
        max_depth = max(max_depth, depth)
        if depth >= data.frames.shape[1]:
            continue
        column = data.frames[lo:hi, depth]
        first = lo + int(np.searchsorted(column, 0))  # rows ending here sort first
        if first >= hi:
            continue
        changes = first + 1 + np.flatnonzero(np.diff(column[first - lo:]))
        edges = [first, *changes.tolist(), hi]
        children = []
        for a, b in itertools.pairwise(edges):
            child_weight = int(data.cum_weight[b] - data.cum_weight[a])
            child_start = start + int(data.cum_weight[a] - data.cum_weight[first])
            if child_weight < min_weight:
                hidden_weight += child_weight
                hidden_frames += _subtree_size(data, a, b, depth)
            else:
                children.append((a, b, depth + 1, child_start,
                                 data.names[data.frames[a, depth]]))
        pending.extend(reversed(children))
    return Layout(boxes, total, max_depth, hidden_frames, hidden_weight)


def _sort(table: StackTable) -> _Sorted:
    names = sorted(set().union(*table.stacks))
    ids = {name: index for index, name in enumerate(names)}
    lengths = np.fromiter((len(stack) for stack in table.stacks), dtype=np.int64,
                          count=len(table.stacks))
    width = int(lengths.max())
    frames = np.full((len(table.stacks), width), _END, dtype=np.int32)
    rows = np.repeat(np.arange(len(table.stacks)), lengths)
    columns = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frames[rows, columns] = np.fromiter((ids[f] for stack in table.stacks for f in stack),
                                        dtype=np.int32, count=int(lengths.sum()))
    order = np.lexsort(frames.T[::-1])  # first column is the primary key
    frames, lengths = frames[order], lengths[order]
    weights = np.asarray(table.weights, dtype=np.int64)[order]
    same = (frames[1:] == frames[:-1]) & (frames[1:] != _END)
    lcp = np.where(same.all(axis=1), width, same.argmin(axis=1))  # common prefix lengths
    new_nodes = lengths - np.concatenate(([0], lcp))
    return _Sorted(frames, np.concatenate(([0], np.cumsum(weights))),
                   np.concatenate(([0], np.cumsum(new_nodes))), lengths, names)


def _subtree_size(data: _Sorted, a: int, b: int, depth: int) -> int:
    """Distinct nodes at depth > ``depth`` in rows [a, b) (which share frames[:depth + 1]).

    Row a starts lengths[a] - depth of them; each later row adds the frames after its
    common prefix with the row before.
    """
    return int(data.lengths[a] - depth + data.cum_new_nodes[b] - data.cum_new_nodes[a + 1])
