"""The collector's heap while recording: start-up objects frozen out of the garbage
collector, young objects collected rarely; all as before afterwards."""

from __future__ import annotations

import gc

from profiler.record.heap import YOUNG_OBJECTS, recording_heap


def test_start_up_objects_are_frozen_while_young_garbage_is_still_collected() -> None:
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    with recording_heap():
        assert gc.get_freeze_count() > 1000  # at least the modules loaded so far
        assert gc.get_threshold() == (YOUNG_OBJECTS, *before[1:])
        collected: list[int] = []

        def count(phase: str, info: dict[str, int]) -> None:
            if phase == "stop" and info["generation"] == 0:
                collected.append(info["collected"])

        gc.callbacks.append(count)
        try:
            for _ in range(2 * YOUNG_OBJECTS):  # cycles nobody frees but the collector
                cycle: list[object] = []
                cycle.append(cycle)
        finally:
            gc.callbacks.remove(count)
        assert sum(collected) > 0  # collected on its own, at the raised threshold
        assert len(collected) <= 2 * YOUNG_OBJECTS // 1000  # not every 700 allocations
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
