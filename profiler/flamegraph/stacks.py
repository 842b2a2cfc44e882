"""``StackTable``: one row per distinct stack (frames root first) with its weight.

Every renderer takes one of these and nothing else. Frame names are cleaned once here so
each output format can trust them: no ';' (the folded separator), no newlines or other
control characters, and no per-process noise in module names (perf-<pid>.map, the random
digits of native libraries extracted to /tmp) that would split one function into many.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

Unit = Literal["samples", "nanoseconds"]

MISSING_USER = "[missing user stack]"
MISSING_KERNEL = "[missing kernel stack]"
MISSING_STACK = "[missing stack]"
KERNEL_SUFFIX = "_[k]"  # flamegraph.pl's annotation for kernel frames

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# BCC writes user frames as "name [module]"; the module is the file's basename.
_MODULE = re.compile(r" \[([^\[\]]+)\]$")
_PERF_MAP = re.compile(r"^perf-\d+\.map$")
# Random digits that createTempFile and netty add to native libraries extracted at run time
# become "*" (they may swallow a trailing version digit: the digits cannot be told apart).
_TEMP_DIGITS = re.compile(r"\d{6,}(?=\.so)")


def clean_frame(name: str) -> str:
    """A frame name safe for every format and the same in every process."""
    name = _CONTROL.sub(" ", name.replace(";", ":")).strip() or "[empty frame]"
    match = _MODULE.search(name)
    if match is None:
        return name
    return f"{name[:match.start()]} [{clean_module(match.group(1))}]"


def clean_module(module: str) -> str:
    """A library's name without what differs between processes (pid, temp-file digits)."""
    module = module.removesuffix(" (deleted)")
    return "jit" if _PERF_MAP.match(module) else _TEMP_DIGITS.sub("*", module)


@dataclass(frozen=True)
class StackTable:
    """Distinct stacks (root first, the first ``label_depth`` frames are labels such as the
    process and thread role) with positive integer weights in ``unit``."""

    stacks: tuple[tuple[str, ...], ...]
    weights: tuple[int, ...]
    kind: str
    unit: Unit
    label_depth: int = 0
    title: str = ""

    @property
    def total(self) -> int:
        return sum(self.weights)

    def __len__(self) -> int:
        return len(self.stacks)

    def to_frame(self) -> pd.DataFrame:
        """One row per stack: ``frames`` (tuple, root first) and ``weight``."""
        return pd.DataFrame({"frames": list(self.stacks), "weight": list(self.weights)})


def stack_table(counts: Mapping[tuple[str, ...], int], kind: str, unit: Unit,
                label_depth: int = 0, title: str = "") -> StackTable:
    """A StackTable from already-clean stacks, dropping zero weights, heaviest first."""
    items = sorted(((stack, weight) for stack, weight in counts.items() if weight > 0),
                   key=lambda item: (-item[1], item[0]))
    return StackTable(tuple(stack for stack, _ in items), tuple(w for _, w in items),
                      kind, unit, label_depth, title)


def from_frames(rows: Iterable[tuple[Sequence[str], int]], kind: str, unit: Unit,
                label_depth: int = 0, title: str = "") -> StackTable:
    """A StackTable from raw (frames root first, weight) pairs: names cleaned, duplicates
    summed. Handy in notebooks and tests."""
    counts: dict[tuple[str, ...], int] = {}
    cleaned: dict[str, str] = {}
    for frames, weight in rows:
        key = tuple(cleaned.get(frame) or cleaned.setdefault(frame, clean_frame(str(frame)))
                    for frame in frames)
        counts[key] = counts.get(key, 0) + int(weight)
    return stack_table(counts, kind, unit, label_depth, title)


class StackJoiner:
    """Turns leaf-first user and kernel frame lists into cleaned root-first tuples, caching
    per distinct list (the same stacks repeat thousands of times in a run)."""

    def __init__(self, missing_kernel: str | None) -> None:
        # None: an empty kernel stack means "no kernel part" (an on-CPU sample in user mode).
        self._missing_kernel = missing_kernel
        self._user: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._kernel: dict[tuple[str, ...], tuple[str, ...]] = {}

    def user(self, leaf_first: Any) -> tuple[str, ...]:
        key = _as_tuple(leaf_first)
        cached = self._user.get(key)
        if cached is None:
            frames = key or (MISSING_USER,)
            cached = tuple(clean_frame(frame) for frame in reversed(frames))
            self._user[key] = cached
        return cached

    def kernel(self, leaf_first: Any) -> tuple[str, ...]:
        key = _as_tuple(leaf_first)
        cached = self._kernel.get(key)
        if cached is None:
            if not key:
                cached = () if self._missing_kernel is None else (self._missing_kernel,)
            else:
                cached = tuple(_kernel_frame(frame) for frame in reversed(key))
            self._kernel[key] = cached
        return cached


def _kernel_frame(frame: str) -> str:
    cleaned = clean_frame(frame)
    if cleaned.startswith("[missing") or cleaned.endswith(KERNEL_SUFFIX):
        return cleaned
    return cleaned + KERNEL_SUFFIX


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and value != value):  # NA
        return ()
    return tuple(str(frame) for frame in value)
