"""Top findings: the largest (stage, category) pieces of task time, phrased for people."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from profiler.correlate.breakdown import Breakdown
from profiler.correlate.categories import CATEGORIES, PHRASES, UNEXPLAINED


@dataclass(frozen=True)
class Finding:
    stage_id: int
    attempt: int
    category: str
    ms: float
    pct_of_task_time: float
    text: str


def findings(breakdown: Breakdown, top: int = 10, min_pct: float = 1.0,
             min_ms: float = 10.0, include_unexplained: bool = False) -> list[Finding]:
    """The ``top`` (stage, category) pairs by ms, leaving out pieces under ``min_pct`` % of
    the stage's task time or under ``min_ms``; absent (NaN) categories never appear."""
    columns = [*CATEGORIES, UNEXPLAINED] if include_unexplained else list(CATEGORIES)
    found: list[Finding] = []
    for key, row in breakdown.ms.iterrows():
        stage_id, attempt = (int(part) for part in key)  # type: ignore[attr-defined]
        task_ms = float(row["task_time_ms"])
        if not task_ms > 0:
            continue
        for category in columns:
            ms = float(row[category])
            if math.isnan(ms):
                continue
            pct = 100.0 * ms / task_ms
            if ms < min_ms or pct < min_pct:
                continue
            found.append(Finding(stage_id, attempt, category, ms, pct,
                                 _text(stage_id, attempt, category, ms, pct)))
    found.sort(key=lambda f: (-f.ms, f.stage_id, f.attempt, f.category))
    return found[:top]


def _text(stage_id: int, attempt: int, category: str, ms: float, pct: float) -> str:
    stage = f"stage {stage_id}" + (f" (attempt {attempt})" if attempt else "")
    return f"{stage}: {pct:.0f}% of task time {PHRASES[category]} ({format_ms(ms)})"


def format_ms(ms: float) -> str:
    """850 ms, 1.2 s, 2.0 min."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def findings_frame(found: list[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame (one row each, columns = Finding's fields)."""
    return pd.DataFrame([vars(f) for f in found],
                        columns=["stage_id", "attempt", "category", "ms", "pct_of_task_time",
                                 "text"])


def top_jni_methods(jni: pd.DataFrame | None, top: int = 10,
                    task_tids: Collection[int] | None = None) -> pd.DataFrame:
    """The native methods that took longest over the run: library, class_name, method,
    calls, total_ms, task_ms, text ("LZ4JNI.LZ4_compress_limitedOutput 2.1 s over 48k
    calls"). ``task_ms`` is the part on task threads (``task_tids``; NaN when not given):
    the longest methods are often background threads blocked in a read (the Py4J server)."""
    columns = ["library", "class_name", "method", "calls", "total_ms", "task_ms", "text"]
    if jni is None or jni.empty:
        return pd.DataFrame(columns=columns)
    keys = ["library", "class_name", "method"]
    on_task = (jni["tid"].isin(list(task_tids)).to_numpy(bool) if task_tids is not None
               else np.zeros(len(jni), bool))
    frame = jni.astype({k: object for k in keys}).fillna({k: "?" for k in keys}).assign(
        task_ns=np.where(on_task, jni["total_ns"].to_numpy(np.float64), 0.0))
    summed = frame.groupby(keys, sort=False)[["calls", "total_ns", "task_ns"]].sum() \
        .reset_index()
    summed["total_ms"] = summed.pop("total_ns") / 1e6
    summed["task_ms"] = summed.pop("task_ns") / 1e6 if task_tids is not None else np.nan
    summed = summed.sort_values("total_ms", ascending=False, kind="stable").head(top)
    summed["text"] = [
        f"{_short_class(c)}.{m} {format_ms(ms)} over {_count(n)} calls"
        for c, m, ms, n in zip(summed["class_name"], summed["method"], summed["total_ms"],
                               summed["calls"], strict=True)]
    return summed[columns].reset_index(drop=True)


def _short_class(name: str) -> str:
    return name.replace("/", ".").rsplit(".", 1)[-1]


def _count(calls: float) -> str:
    """48k, 1.2M, 950."""
    if calls >= 1e6:
        return f"{calls / 1e6:.1f}M"
    if calls >= 1e3:
        return f"{calls / 1e3:.0f}k"
    return f"{calls:.0f}"
