"""Medians with their range, and the paired ratios the overhead report is made of."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    count: int

    def percent(self) -> str:
        """As overhead in percent, e.g. "+0.8% (-1.2% / +3.0%)" for ratios 1.008 etc."""
        return (f"{(self.median - 1) * 100:+.1f}% ({(self.low - 1) * 100:+.1f}% / "
                f"{(self.high - 1) * 100:+.1f}%)")

    def plain(self, digits: int = 3) -> str:
        return f"{self.median:.{digits}f} ({self.low:.{digits}f} / {self.high:.{digits}f})"


def spread(values: list[float]) -> Spread | None:
    """Median, min and max of the finite values; None when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return Spread(statistics.median(finite), min(finite), max(finite), len(finite))


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else math.nan


def overhead_pct(ratio_value: float) -> float:
    return (ratio_value - 1) * 100
