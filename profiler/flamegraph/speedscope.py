"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

One "sampled" profile: ``shared.frames`` holds each distinct frame name once, each sample
is a list of frame indices root first, and ``weights`` carries the stack's weight (sample
counts with unit "none", or nanoseconds).
"""

from __future__ import annotations

import json
from typing import Any

from profiler import __version__
from profiler.flamegraph.stacks import StackTable

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"


def render_speedscope(table: StackTable) -> str:
    index: dict[str, int] = {}
    samples: list[list[int]] = []
    for stack in table.stacks:
        samples.append([index.setdefault(frame, len(index)) for frame in stack])
    name = table.title or f"sparkprof {table.kind}"
    document: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "shared": {"frames": [{"name": frame} for frame in index]},
        "profiles": [{
            "type": "sampled",
            "name": name,
            "unit": "nanoseconds" if table.unit == "nanoseconds" else "none",
            "startValue": 0,
            "endValue": table.total,
            "samples": samples,
            "weights": list(table.weights),
        }],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": f"sparkprof {__version__}",
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
