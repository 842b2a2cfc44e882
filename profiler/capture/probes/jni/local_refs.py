"""Local-reference growth of ``--jni-interface``: which native code creates JNI local
references, how many it deletes itself (``DeleteLocalRef``) and how many it leaves for the VM
to free when the native method returns.

bpf/jni_iface.c counts, per (pid, creating stack, JNI function), the local references the
function returned (the stack stands for the call site: the first one seen there) and those a
later ``DeleteLocalRef`` of the same handle deleted. The stacks are named at each drain while
the JVM is alive; rows go to ``jni_local_ref_sites`` at the end of the run.

``left_to_vm`` = created - deleted: references freed by the VM at the native method's return
or by ``PopLocalFrame``, and references the native method returned to Java. A native method
creating many of them in one call (a loop without ``DeleteLocalRef``) grows the thread's
local handle blocks; the counts cannot tell one long call from many short ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from profiler.capture.probes.jni.functions import FUNCTIONS
from profiler.capture.probes.jni.global_refs import CreatingSites, SiteCounts
from profiler.capture.symbols.stacks import StackResolver
from profiler.rundir.writer import RunWriter

TABLE = "jni_local_ref_sites"


def local_ref_columns(counts: SiteCounts) -> dict[str, Any]:
    """The ``jni_local_ref_sites`` columns of one drain (the tag is the function's number)."""
    columns = counts.columns()
    return {**columns, "function": [_function_name(site[2]) for site in counts.sites],
            "left_to_vm": columns["created"] - columns["deleted"]}


def _function_name(number: int) -> str:
    return FUNCTIONS[number] if 0 <= number < len(FUNCTIONS) else f"[function {number}]"


class LocalRefTracker(CreatingSites):
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter, stacks: StackResolver) -> None:
        super().__init__(bpf, lib, stacks, "jnii_local_sites", "fn")
        self._writer = writer

    def stop(self) -> dict[str, int]:
        """Write the rows; returns counts for meta.json (sites, created, deleted)."""
        counts = self.take()
        if counts.sites:
            self._writer.append(TABLE, local_ref_columns(counts))
        return {"sites": len(counts.sites), "created": int(np.sum(counts.created)),
                "deleted": int(np.sum(counts.deleted))}
