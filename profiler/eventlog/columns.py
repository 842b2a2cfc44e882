"""Column conversions shared by the table builders: epoch ms -> UTC datetimes, nullable ints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

# Epoch ms beyond this do not fit datetime64[ns] (year 2262): treat them as unknown.
_MAX_MS = 9_200_000_000_000_000
_MISSING = -1

Int64Array = npt.NDArray[np.int64]


def _as_int(value: object) -> int | None:
    # Event fields come from untrusted JSON: anything but an int64-sized int is unknown.
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    return None


def int_array(values: Sequence[object]) -> Int64Array:
    """int64 array; None and non-integers become -1 (callers treat -1 as missing)."""
    return np.fromiter(
        (_MISSING if (i := _as_int(v)) is None else i for v in values), np.int64, len(values)
    )


def datetimes(ms: Int64Array | Sequence[object]) -> pd.DatetimeIndex:
    """Epoch milliseconds to UTC datetimes; values <= 0 (Spark's 'unset') become NaT."""
    arr = ms if isinstance(ms, np.ndarray) else int_array(ms)
    valid = (arr > 0) & (arr < _MAX_MS)
    out = np.where(valid, arr, 0).astype("datetime64[ms]").astype("datetime64[ns]")
    out[~valid] = np.datetime64("NaT")
    return pd.DatetimeIndex(out).tz_localize("UTC")


def duration_ms(start: pd.DatetimeIndex, end: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """end - start in float ms; NaN where either is unknown."""
    delta = (end - start).to_numpy(dtype="timedelta64[ns]")
    result = delta.astype(np.int64).astype(np.float64) / 1e6
    result[np.isnat(delta)] = np.nan
    return result


def nullable_ints(values: Sequence[object]) -> pd.arrays.IntegerArray:
    """Nullable Int64 array; None and non-integers become NA."""
    array: pd.arrays.IntegerArray = pd.array([_as_int(v) for v in values], dtype="Int64")
    return array


def masked_ints(values: Int64Array, missing: npt.NDArray[np.bool_]) -> pd.arrays.IntegerArray:
    """Nullable Int64 array from int64 values and a missing-mask."""
    return pd.arrays.IntegerArray(np.ascontiguousarray(values), missing.copy())


def objects(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """An object array holding ``values`` as they are (lists stay lists)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out
