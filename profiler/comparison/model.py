"""``compare_reports(a, b) -> Comparison``: per-stage and end-to-end deltas of two runs and
which categories the difference comes from.

Category deltas are expressed as % of run A's total task time, so that with the wall time
bound by task time they add up (with unexplained) to the task-time change:
"+11.3% end to end: +8.1% Python worker bridge, +2.0% GC pauses, ...".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profiler.comparison.match import StagePair, match_stages, stage_totals
from profiler.report import fmt
from profiler.report.model import Report

_SUMMARY_PARTS = 5  # categories named in the summary line
_MIN_PCT = 0.05  # smaller contributions are left out of the summary


@dataclass(frozen=True)
class CategoryDelta:
    category: str
    label: str
    a_ms: float | None  # None: not captured in that run
    b_ms: float | None
    delta_ms: float | None  # None unless captured in both
    pct_of_a_task: float | None


@dataclass(frozen=True)
class StageDelta:
    pair: StagePair
    wall_delta_ms: float | None
    wall_delta_pct: float | None
    task_delta_ms: float | None
    breakdown_delta_ms: dict[str, float | None]

    @property
    def name(self) -> str:
        stage = self.pair.a or self.pair.b
        return stage.name if stage is not None else "?"


@dataclass
class Comparison:
    a: Report
    b: Report
    a_label: str
    b_label: str
    wall_a_ms: float | None
    wall_b_ms: float | None
    task_a_ms: float
    task_b_ms: float
    categories: list[CategoryDelta]
    stages: list[StageDelta]
    notes: list[str] = field(default_factory=list)
    schema_version: int = 1

    @property
    def wall_delta_pct(self) -> float | None:
        return _pct(self.wall_a_ms, self.wall_b_ms)

    @property
    def task_delta_pct(self) -> float | None:
        return _pct(self.task_a_ms, self.task_b_ms)

    def __str__(self) -> str:
        from profiler.comparison.render import render_text

        return render_text(self)

    def _repr_markdown_(self) -> str:
        from profiler.comparison.render import render_markdown

        return render_markdown(self)

    @property
    def summary(self) -> str:
        """"+11.3% end to end (12.0 s -> 13.4 s): +8.1% Python worker bridge, ..."."""
        e2e = self.wall_delta_pct
        head = ("end-to-end time unknown" if e2e is None else
                f"{e2e:+.1f}% end to end ({fmt.ms(self.wall_a_ms)} -> {fmt.ms(self.wall_b_ms)})")
        parts = sorted((c for c in self.categories if c.pct_of_a_task is not None
                        and abs(c.pct_of_a_task) >= _MIN_PCT),
                       key=lambda c: -abs(c.pct_of_a_task or 0.0))[:_SUMMARY_PARTS]
        if not parts:
            return head + ": no category changed measurably"
        return head + ": " + ", ".join(f"{c.pct_of_a_task:+.1f}% {c.label}" for c in parts)


def _pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not a > 0:
        return None
    return 100.0 * (b - a) / a


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def compare_reports(a: Report, b: Report, a_label: str = "A", b_label: str = "B",
                    ) -> Comparison:
    task_a = a.totals_ms.get("task") or 0.0
    task_b = b.totals_ms.get("task") or 0.0
    categories = []
    for category in [*(c.id for c in a.categories), "unexplained"]:
        a_ms, b_ms = a.totals_ms.get(category), b.totals_ms.get(category)
        delta = _delta(a_ms, b_ms)
        categories.append(CategoryDelta(category, a.label(category), a_ms, b_ms, delta,
                                        None if delta is None or not task_a > 0
                                        else 100.0 * delta / task_a))
    pairs = match_stages(stage_totals(a.stages), stage_totals(b.stages))
    stages = [_stage_delta(pair) for pair in pairs]
    notes = _notes(a, b, pairs)
    return Comparison(a, b, a_label, b_label, a.headline.duration_ms, b.headline.duration_ms,
                      task_a, task_b, categories, stages, notes)


def _stage_delta(pair: StagePair) -> StageDelta:
    if pair.a is None or pair.b is None:
        return StageDelta(pair, None, None, None, {})
    breakdown = {c: _delta(pair.a.breakdown_ms.get(c), pair.b.breakdown_ms.get(c))
                 for c in pair.a.breakdown_ms}
    breakdown["unexplained"] = pair.b.unexplained_ms - pair.a.unexplained_ms
    return StageDelta(pair, _delta(pair.a.wall_ms, pair.b.wall_ms),
                      _pct(pair.a.wall_ms, pair.b.wall_ms), pair.b.task_ms - pair.a.task_ms,
                      breakdown)


def _notes(a: Report, b: Report, pairs: list[StagePair]) -> list[str]:
    notes = []
    only_a = sum(1 for p in pairs if p.b is None)
    only_b = sum(1 for p in pairs if p.a is None)
    if only_a or only_b:
        notes.append(f"{only_a} stage(s) only in A and {only_b} only in B (not matched)")
    by_name = sum(1 for p in pairs if p.matched_by == "name-order")
    if by_name:
        notes.append(f"{by_name} stage(s) matched by name and order only (their jobs differ)")
    one_sided = sorted({c.label for c in a.categories if c.captured}
                       ^ {c.label for c in b.categories if c.captured})
    if one_sided:
        notes.append("captured in only one run (no delta): " + ", ".join(one_sided))
    for label, report in (("A", a), ("B", b)):
        notes += [f"{label}: {w}" for w in [*report.headline.warnings, *report.notes]]
    return notes
