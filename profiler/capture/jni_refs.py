"""The global-reference leak report of ``--jni-interface``: which code created the JNI global
references still alive at the end of the run.

bpf/jni_iface.c keeps every global (and weak global) reference created during the run, with
the user stack id standing for its call site (the stack first seen creating references
there), until ``DeleteGlobalRef`` removes it, and counts creations and deletions per (pid,
stack, weak). The stacks are named at each
drain while the JVM is alive; at the end the references left in the map are the live ones.
Rows go to ``jni_global_ref_sites``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from profiler.capture.mapdrain import batch_lookup_and_delete
from profiler.capture.stacks import StackResolver
from profiler.rundir.writer import RunWriter

REF_KEY = np.dtype({"names": ["ref", "pid"], "formats": ["<u8", "<u4"],
                    "offsets": [0, 8], "itemsize": 16})
REF_VAL = np.dtype({"names": ["stack", "weak"], "formats": ["<i4", "<u4"],
                    "offsets": [0, 4], "itemsize": 8})
SITE_KEY = np.dtype({"names": ["pid", "stack", "weak"], "formats": ["<u4", "<i4", "<u4"],
                     "offsets": [0, 4, 8], "itemsize": 16})
SITE_VAL = np.dtype({"names": ["created", "deleted"], "formats": ["<u8", "<u8"],
                     "offsets": [0, 8], "itemsize": 16})
REFS_CAPACITY = 262144  # JNII_MAX_REFS
SITES_CAPACITY = 16384
VM_LIBRARY = "libjvm.so"
UNKNOWN_CALLER = "[unknown]"
_FRAME = re.compile(r"^(.*) \[([^\[\]]+)\]$")
SiteKey = tuple[int, int, int]  # pid, stack id, weak


def split_frame(frame: str) -> tuple[str, str | None]:
    """``"Java_A_b [liba.so]"`` -> (``"Java_A_b"``, ``"liba.so"``); no module -> None."""
    match = _FRAME.match(frame)
    return (match.group(1), match.group(2)) if match else (frame, None)


def caller_of(frames: list[str]) -> tuple[str, str]:
    """(library, symbol) of the first frame outside libjvm, leaf first: the native code that
    called the JNI function. ``[unknown]`` when the walk holds no such frame."""
    for frame in frames:
        name, module = split_frame(frame)
        if module is not None and module != VM_LIBRARY:
            return module, name
    return UNKNOWN_CALLER, UNKNOWN_CALLER


class GlobalRefTracker:
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter, stacks: StackResolver) -> None:
        self._bpf = bpf
        self._lib = lib
        self._writer = writer
        self._stacks = stacks
        self._frames: dict[SiteKey, list[str]] = {}

    def name_new_sites(self) -> None:
        """Name the stacks of creating sites not seen before (while their JVM lives)."""
        for key in self._bpf[b"jnii_ref_sites"]:
            site = (int(key.pid), int(key.stack), int(key.weak))
            if site not in self._frames:
                self._frames[site] = self._stacks.user(site[0], site[1])

    def stop(self) -> dict[str, int]:
        """Write the rows; returns counts for meta.json (sites, live references)."""
        self.name_new_sites()
        table = self._bpf[b"jnii_ref_sites"]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, SITE_KEY, SITE_VAL,
                                             SITES_CAPACITY)
        refs = self._bpf[b"jnii_refs"]
        live_keys, live_vals = batch_lookup_and_delete(self._lib, refs.map_fd, REF_KEY,
                                                       REF_VAL, REFS_CAPACITY)
        live: dict[SiteKey, int] = defaultdict(int)
        for pid, stack, weak in zip(live_keys["pid"], live_vals["stack"], live_vals["weak"],
                                    strict=True):
            live[(int(pid), int(stack), int(weak))] += 1
        if len(keys):
            self._write(keys, vals, live)
        return {"sites": len(keys), "live": len(live_keys)}

    def _write(self, keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any],
               live: dict[SiteKey, int]) -> None:
        sites = [(int(p), int(s), int(w)) for p, s, w in zip(keys["pid"], keys["stack"],
                                                              keys["weak"], strict=True)]
        frames = [self._frames.get(site) or self._stacks.user(site[0], site[1])
                  for site in sites]
        callers = [caller_of(stack) for stack in frames]
        self._writer.append("jni_global_ref_sites", {
            "pid": keys["pid"].astype(np.int32),
            "kind": ["weak" if site[2] else "global" for site in sites],
            "caller_library": [library for library, _ in callers],
            "caller_symbol": [symbol for _, symbol in callers],
            "user_stack": frames,
            "created": vals["created"].astype(np.int64),
            "deleted": vals["deleted"].astype(np.int64),
            "live_at_end": np.array([live.get(site, 0) for site in sites], dtype=np.int64)})
