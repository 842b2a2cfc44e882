"""The syscall latency histogram: dense 32 log2 buckets in memory, trimmed on disk.

Bucket k counts calls whose latency fell in log2 bucket k (as the capture computes it).
Most rows (one thread, one syscall, one 100 ms bucket) touch 1-3 buckets, so storing all
32 counts costs ~10x more to decode: on disk ``hist`` holds only the buckets from the first
to the last non-zero one and ``hist_first_bucket`` says which bucket ``hist[0]`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from profiler.rundir.schema import HIST_BUCKETS

Matrix = np.ndarray[Any, np.dtype[np.int64]]


def dense_matrix(values: Any) -> Matrix:
    """Dense (rows, 32) int64 counts from a 2-D array, a list of lists or an Arrow list array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, (pa.ListArray, pa.LargeListArray, pa.FixedSizeListArray)):
        lengths = values.value_lengths().to_numpy(zero_copy_only=False)
        if len(values) and (values.null_count or (lengths != HIST_BUCKETS).any()):
            raise ValueError(f"every hist must have exactly {HIST_BUCKETS} buckets")
        flat: Matrix = values.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return flat.reshape(len(values), HIST_BUCKETS)
    matrix = np.asarray(values, dtype=np.int64)
    if matrix.size == 0:
        return matrix.reshape(0, HIST_BUCKETS)
    if matrix.ndim != 2 or matrix.shape[1] != HIST_BUCKETS:
        raise ValueError(f"hist must be (rows, {HIST_BUCKETS}); got shape {matrix.shape}")
    return matrix


def trim(matrix: Matrix) -> tuple[pa.Array, pa.Array]:
    """Dense (rows, 32) -> (hist_first_bucket int32, hist list<int64> first..last non-zero)."""
    nonzero = matrix != 0
    used = nonzero.any(axis=1)
    first = np.where(used, nonzero.argmax(axis=1), 0)
    last = np.where(used, HIST_BUCKETS - 1 - nonzero[:, ::-1].argmax(axis=1), -1)
    lengths = np.where(used, last - first + 1, 0)
    buckets = np.arange(HIST_BUCKETS)
    keep = (buckets >= first[:, None]) & (buckets <= last[:, None])
    offsets = np.zeros(len(matrix) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    hist = pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix[keep], type=pa.int64()))
    return pa.array(first.astype(np.int32)), hist


def histogram_matrix(syscalls: pd.DataFrame) -> Matrix:
    """Dense (rows, 32) counts for rows of a loaded ``syscalls`` frame (any subset, in order).

    ``histogram_matrix(p.syscalls[mask]).sum(axis=0)`` is the latency histogram of a selection.
    """
    out = np.zeros((len(syscalls), HIST_BUCKETS), dtype=np.int64)
    if not len(syscalls):
        return out
    lists = pa.array(syscalls["hist"].array)  # ArrowDtype column: no copy
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    lengths = lists.value_lengths().fill_null(0).to_numpy()
    values = lists.flatten().to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(syscalls)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    first = syscalls["hist_first_bucket"].to_numpy(dtype=np.int64)
    columns = np.repeat(first, lengths) + (np.arange(len(values)) - starts)
    out[rows, columns] = values
    return out
