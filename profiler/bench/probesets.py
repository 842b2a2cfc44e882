"""The probe sets ``bench overhead`` compares, as ``sparkprof record`` options.

"default" is `sparkprof record` with no options (aggregates, 49 Hz sampling, JNI methods,
off-CPU stacks). "lean" keeps the aggregates and sampling but drops JNI uprobes and off-CPU
stacks; "jni" and "offcpu-stacks" add one of the two back to "lean"; "all" turns everything on
(JNI interface USDT and every syscall family included)."""

from __future__ import annotations

from profiler.errors import UsageError

# An off-CPU block threshold no block reaches: off-CPU aggregates stay, stacks are not streamed.
_NO_OFFCPU_STACKS = ["--offcpu-block-ms", "3600000"]

PROBE_SETS: dict[str, list[str]] = {
    "default": [],
    "lean": ["--no-jni", *_NO_OFFCPU_STACKS],
    "jni": ["--jni", *_NO_OFFCPU_STACKS],
    "offcpu-stacks": ["--no-jni", "--offcpu-block-ms", "1"],
    "all": ["--jni", "--jni-interface", "--offcpu-block-ms", "1", "--syscalls", "all"],
}


def parse_probe_sets(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PROBE_SETS]
    if unknown or not names:
        raise UsageError(f"unknown probe set(s): {', '.join(unknown) or '(none)'}",
                         f"choose from {', '.join(PROBE_SETS)}")
    return names
