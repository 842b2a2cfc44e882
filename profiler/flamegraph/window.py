"""A Spark stage's wall-clock window on the run's CLOCK_MONOTONIC timeline.

The event log gives a stage attempt's submission and completion in UTC (ms); the run's clock
anchors (``Profile.to_utc``) map monotonic ns to UTC linearly, so the inverse is linear too.
The window holds everything that ran meanwhile, including concurrent stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from profiler.errors import InputError, UsageError

if TYPE_CHECKING:
    from profiler.profile import Profile

_SPAN_NS = 1_000_000_000_000  # any long span works: the map is linear


@dataclass(frozen=True)
class StageWindow:
    stage_id: int
    attempt: int
    start_ns: int
    end_ns: int | None  # None: the attempt had not completed when the log ends

    @property
    def description(self) -> str:
        text = f"stage {self.stage_id}"
        return text + (f" attempt {self.attempt}" if self.attempt else "")


def parse_stage(text: str) -> tuple[int, int | None]:
    """``"3"`` -> (3, None), ``"3.1"`` -> (3, 1): stage id and optional attempt."""
    stage, _, attempt = text.partition(".")
    try:
        return int(stage), (int(attempt) if attempt else None)
    except ValueError:
        raise UsageError(f"--stage {text!r} is not a stage id",
                         "pass N or N.ATTEMPT, e.g. --stage 3 or --stage 3.1") from None


def stage_window(profile: Profile, stage_id: int, attempt: int | None = None) -> StageWindow:
    """The [submission, completion) window of a stage attempt (the last one that was
    submitted unless ``attempt`` is given), in monotonic ns."""
    eventlog = profile.eventlog
    if eventlog is None:
        raise InputError(f"{profile.path} has no Spark event log, so stages are unknown",
                         "record with the event log enabled (sparkprof record sets it up), "
                         "or drop --stage")
    stages = eventlog.stages
    rows = stages[stages["stage_id"] == stage_id]
    if rows.empty:
        known = sorted({int(s) for s in stages["stage_id"].tolist()})
        raise UsageError(f"the event log has no stage {stage_id}",
                         f"stages in this run: {_ranges(known) or 'none'}")
    if attempt is not None:
        rows = rows[rows["attempt"] == attempt]
        if rows.empty:
            raise UsageError(f"stage {stage_id} has no attempt {attempt}",
                             "drop the .ATTEMPT to take the last one")
    submitted = rows[rows["submission_time"].notna()]
    if submitted.empty:
        raise UsageError(f"stage {stage_id} never ran (skipped or still pending)",
                         "pick a stage listed by `sparkprof eventlog`")
    row = submitted.sort_values("attempt").iloc[-1]
    completion = row["completion_time"]
    return StageWindow(
        stage_id, int(row["attempt"]), utc_to_monotonic(profile, row["submission_time"]),
        None if pd.isna(completion) else utc_to_monotonic(profile, completion))


def utc_to_monotonic(profile: Profile, when: pd.Timestamp) -> int:
    """The inverse of ``Profile.to_utc``."""
    start = (profile.meta.get("clock") or {}).get("start") or {}
    mono0 = int(start.get("monotonic_ns", 0))
    utc0 = profile.to_utc(mono0).value
    utc1 = profile.to_utc(mono0 + _SPAN_NS).value
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return mono0 + round((stamp.value - utc0) * _SPAN_NS / (utc1 - utc0))


def _ranges(ids: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    spans: list[list[int]] = []
    for value in ids:
        if spans and value == spans[-1][1] + 1:
            spans[-1][1] = value
        else:
            spans.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
