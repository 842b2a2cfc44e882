"""CLOCK_MONOTONIC nanoseconds <-> UTC, from the clock anchors of a run (no Profile needed).

A run records pairs (monotonic_ns, realtime_ns) at its start and end. Between them the map is
linear (the slope absorbs NTP slewing over the run); with only the start anchor the two
clocks are taken to differ by a constant offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from profiler.errors import InputError

I64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClockMap:
    """utc_ns = realtime0 + (mono - monotonic0) * slope, computed in int64 plus a float fix."""

    monotonic0: int
    realtime0: int
    slope: float = 1.0

    @classmethod
    def from_anchors(cls, start: Mapping[str, Any],
                     end: Mapping[str, Any] | None = None) -> ClockMap:
        mono0, real0 = int(start["monotonic_ns"]), int(start["realtime_ns"])
        slope = 1.0
        if end and int(end["monotonic_ns"]) != mono0:
            slope = (int(end["realtime_ns"]) - real0) / (int(end["monotonic_ns"]) - mono0)
        return cls(mono0, real0, slope)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ClockMap:
        """The map of a run's meta.json; InputError when it holds no start anchor."""
        clock = meta.get("clock") or {}
        if not clock.get("start"):
            raise InputError("the run's meta.json has no clock anchors",
                             "the run was cut short before recording started")
        return cls.from_anchors(clock["start"], clock.get("end"))

    def to_utc_ns(self, monotonic_ns: npt.ArrayLike) -> I64Array:
        delta = np.asarray(monotonic_ns, dtype=np.int64) - self.monotonic0
        # the int64 offset keeps ns precision; only the (tiny) slope correction goes via float
        fix = np.rint(delta * (self.slope - 1.0)).astype(np.int64)
        return np.asarray(self.realtime0 + delta + fix, dtype=np.int64)

    def to_monotonic_ns(self, utc_ns: npt.ArrayLike) -> I64Array:
        delta = np.asarray(utc_ns, dtype=np.int64) - self.realtime0
        fix = np.rint(delta * (1.0 / self.slope - 1.0)).astype(np.int64)
        return np.asarray(self.monotonic0 + delta + fix, dtype=np.int64)

    def to_utc(self, monotonic_ns: npt.ArrayLike) -> pd.DatetimeIndex:
        """Monotonic ns -> tz-aware UTC timestamps."""
        return pd.DatetimeIndex(pd.to_datetime(self.to_utc_ns(monotonic_ns), unit="ns", utc=True))

    def datetimes_to_monotonic(self, times: pd.Series[Any] | pd.DatetimeIndex,
                               ) -> tuple[I64Array, npt.NDArray[np.bool_]]:
        """UTC datetimes (tz-aware or naive UTC) -> (monotonic ns, valid mask); NaT is invalid."""
        index = pd.DatetimeIndex(times)
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        valid = ~np.asarray(index.isna())
        raw = np.asarray(index.as_unit("ns").to_numpy(dtype="datetime64[ns]")).view(np.int64)
        utc_ns = np.where(valid, raw, 0)
        return self.to_monotonic_ns(utc_ns), valid
