"""The collector's heap during a recording: start-up objects frozen out of the garbage
collector, and young objects collected rarely.

Imports, BCC's compiled program and the kernel symbol table leave ~73,000 container
objects that live for the whole run. A full collection walks all of them (20-50 ms on
this machine) whenever enough new objects have survived, at a moment the collector is busy
with the job's events: in a demo run one landed in the sampler's drain and cost it 49 ms.
``gc.freeze`` moves them out of the collector's generations at no cost. (No ``gc.collect()``
first: it would be that very walk; what start-up left in reference cycles, a few MB at
most, is kept until the recording ends.)

The drains allocate ~100,000 short-lived objects a second (addresses, frames, rows) and
almost none in reference cycles: reference counting frees them. At Python's default
threshold (700 allocations) a demo recording ran ~60 young collections costing 15-17 ms of
the main thread, each walking objects about to be freed anyway; at 50,000 it runs a few.
Cyclic garbage is still collected, only later.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_OBJECTS = 50_000  # allocations (net of frees) between young collections


@contextlib.contextmanager
def recording_heap() -> Iterator[None]:
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
