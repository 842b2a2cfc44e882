"""The collector's heap while recording: start-up objects frozen out of the garbage
collector, and thawed afterwards."""

from __future__ import annotations

import gc

from profiler.record.heap import startup_objects_frozen


def test_start_up_objects_are_frozen_while_young_garbage_is_still_collected() -> None:
    assert gc.get_freeze_count() == 0
    with startup_objects_frozen():
        assert gc.get_freeze_count() > 1000  # at least the modules loaded so far
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0
