"""Match the stages of two runs of the same application.

Stage ids differ between runs (a cached table, one more action), so stages are matched by
what a person would recognise: first by (job order, stage name, order within the job), then
the rest by (stage name, occurrence order of that name). Attempts of a stage are summed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from profiler.report.model import StageReport

BY_JOB = "job-order"
BY_NAME = "name-order"


@dataclass(frozen=True)
class StageTotal:
    """A stage with its attempts summed; breakdown values None when not captured."""

    stage_id: int
    attempts: int
    job_id: int | None
    name: str
    wall_ms: float | None
    task_ms: float
    breakdown_ms: dict[str, float | None]
    unexplained_ms: float


@dataclass(frozen=True)
class StagePair:
    a: StageTotal | None
    b: StageTotal | None
    matched_by: str | None  # BY_JOB, BY_NAME, None (only in one run)


def stage_totals(stages: Sequence[StageReport]) -> list[StageTotal]:
    grouped: dict[int, list[StageReport]] = defaultdict(list)
    for stage in stages:
        grouped[stage.stage_id].append(stage)
    out = []
    for stage_id in sorted(grouped):
        attempts = grouped[stage_id]
        first = attempts[0]
        walls = [s.wall_ms for s in attempts if s.wall_ms is not None]
        breakdown: dict[str, float | None] = {}
        for category in first.breakdown_ms:
            values = [s.breakdown_ms[category] for s in attempts]
            breakdown[category] = None if all(v is None for v in values) else sum(
                v or 0.0 for v in values)
        out.append(StageTotal(stage_id, len(attempts), first.job_id, first.name,
                              sum(walls) if walls else None, sum(s.task_ms for s in attempts),
                              breakdown, sum(s.unexplained_ms for s in attempts)))
    return out


def _job_keys(stages: Sequence[StageTotal]) -> dict[tuple[int, str, int], StageTotal]:
    jobs = sorted({s.job_id for s in stages if s.job_id is not None})
    rank = {job: index for index, job in enumerate(jobs)}
    seen: dict[int, int] = defaultdict(int)
    keys = {}
    for stage in stages:  # sorted by stage id: the order stages were created in the job
        if stage.job_id is None:
            continue
        order = seen[stage.job_id]
        seen[stage.job_id] += 1
        keys[(rank[stage.job_id], stage.name, order)] = stage
    return keys


def _name_keys(stages: Sequence[StageTotal]) -> dict[tuple[str, int], StageTotal]:
    seen: dict[str, int] = defaultdict(int)
    keys = {}
    for stage in stages:
        keys[(stage.name, seen[stage.name])] = stage
        seen[stage.name] += 1
    return keys


def match_stages(a: Sequence[StageTotal], b: Sequence[StageTotal]) -> list[StagePair]:
    """Pairs in A's order, then B's stages found in no pair."""
    pairs: dict[int, StagePair] = {}
    used_b: set[int] = set()
    b_by_job = _job_keys(b)
    for job_key, stage in _job_keys(a).items():
        other = b_by_job.get(job_key)
        if other is not None:
            pairs[stage.stage_id] = StagePair(stage, other, BY_JOB)
            used_b.add(other.stage_id)
    rest_a = [s for s in a if s.stage_id not in pairs]
    rest_b = [s for s in b if s.stage_id not in used_b]
    b_by_name = _name_keys(rest_b)
    for key, stage in _name_keys(rest_a).items():
        other = b_by_name.get(key)
        if other is not None:
            pairs[stage.stage_id] = StagePair(stage, other, BY_NAME)
            used_b.add(other.stage_id)
    ordered = [pairs.get(s.stage_id) or StagePair(s, None, None) for s in a]
    return ordered + [StagePair(None, s, None) for s in b if s.stage_id not in used_b]
