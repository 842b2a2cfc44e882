"""Vectorised key -> value lookups (pid -> executor, tid -> thread role, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def positions(keys: npt.ArrayLike, queries: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Position of each query in ``keys`` (unique), -1 when absent."""
    return np.asarray(pd.Index(np.asarray(keys)).get_indexer(pd.Index(np.asarray(queries))))


def lookup(keys: npt.ArrayLike, values: npt.ArrayLike, queries: npt.ArrayLike,
           missing: Any = None) -> npt.NDArray[np.object_]:
    """values[position of each query in keys] as objects; ``missing`` where absent."""
    at = positions(keys, queries)
    out = np.full(len(at), missing, dtype=object)
    hit = at >= 0
    out[hit] = np.asarray(values, dtype=object)[at[hit]]
    return out


def compact_codes(values: npt.NDArray[np.int64],
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(code per value, the distinct values): like ``pd.factorize`` but sorted, and by
    counting (no hashing) when the values span a range not much larger than their number."""
    if len(values) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    low = int(values.min())
    span = int(values.max()) - low + 1
    if span <= max(4 * len(values), 1 << 20):
        seen = np.bincount(values - low, minlength=span) > 0
        renumber = np.cumsum(seen) - 1
        return renumber[values - low], np.flatnonzero(seen) + low
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)
