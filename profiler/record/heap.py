"""The collector's heap during a recording: no full garbage collections over start-up
objects.

Imports, BCC's compiled program and the kernel symbol table leave ~73,000 container
objects that live for the whole run. A full collection walks all of them (20-50 ms on
this machine) whenever enough new objects have survived, at a moment the collector is busy
with the job's events: in a demo run one landed in the sampler's drain and cost it 49 ms.
``gc.freeze`` moves them out of the collector's generations at no cost: young garbage is
still collected, and reference counting frees everything as before. (No ``gc.collect()``
first: it would be that very walk; what start-up left in reference cycles, a few MB at
most, is kept until the recording ends.)
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def startup_objects_frozen() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
