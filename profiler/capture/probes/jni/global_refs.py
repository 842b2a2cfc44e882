"""The global-reference leak report of ``--jni-interface``: which code created the JNI global
references still alive at the end of the run; and the creating-site bookkeeping it shares
with the local-reference report (profiler.capture.probes.jni.local_refs).

bpf/jni_iface.c keeps every global (and weak global) reference created during the run, with
the user stack id standing for its call site (the stack first seen creating references
there), until ``DeleteGlobalRef`` removes it, and counts creations and deletions per (pid,
stack, weak). The stacks are named at each drain while the JVM is alive; at the end the
references left in the map are the live ones. Rows go to ``jni_global_ref_sites``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from profiler.capture.stream.mapdrain import batch_lookup, batch_lookup_and_delete
from profiler.capture.symbols.stacks import StackResolver
from profiler.rundir.writer import RunWriter

REF_KEY = np.dtype({"names": ["ref", "pid"], "formats": ["<u8", "<u4"],
                    "offsets": [0, 8], "itemsize": 16})
REF_VAL = np.dtype({"names": ["stack", "weak"], "formats": ["<i4", "<u4"],
                    "offsets": [0, 4], "itemsize": 8})
SITE_VAL = np.dtype({"names": ["created", "deleted"], "formats": ["<u8", "<u8"],
                     "offsets": [0, 8], "itemsize": 16})
REFS_CAPACITY = 262144  # JNII_MAX_REFS
SITES_CAPACITY = 16384
VM_LIBRARY = "libjvm.so"
UNKNOWN_CALLER = "[unknown]"
_FRAME = re.compile(r"^(.*) \[([^\[\]]+)\]$")
SiteKey = tuple[int, int, int]  # pid, stack id, tag (weak; or the creating function)


def split_frame(frame: str) -> tuple[str, str | None]:
    """``"Java_A_b [liba.so]"`` -> (``"Java_A_b"``, ``"liba.so"``); no module -> None."""
    match = _FRAME.match(frame)
    return (match.group(1), match.group(2)) if match else (frame, None)


def caller_of(frames: list[str]) -> tuple[str, str]:
    """(library, symbol) of the first frame after the leading libjvm ones, leaf first: the
    code that called the JNI function. ``[unknown]`` when that frame is anonymous code (Java
    code calling the JNI function itself: ``Class.getSuperclass`` is bound straight to
    ``GetSuperclass``; a native method tail-calling it leaves no frame) or the walk holds
    none; the frames beyond it are not searched, as they belong to other functions."""
    for frame in frames:
        name, module = split_frame(frame)
        if module == VM_LIBRARY:
            continue
        return (module, name) if module is not None else (UNKNOWN_CALLER, UNKNOWN_CALLER)
    return UNKNOWN_CALLER, UNKNOWN_CALLER


def site_key_dtype(tag: str) -> np.dtype[Any]:
    """The BPF key of a creating-site count map: pid, stack id and one more field."""
    return np.dtype({"names": ["pid", "stack", tag], "formats": ["<u4", "<i4", "<u4"],
                     "offsets": [0, 4, 8], "itemsize": 16})


@dataclass
class SiteCounts:
    """One drain of a creating-site map: a row per (pid, stack, tag), frames leaf first."""

    sites: list[SiteKey]
    frames: list[list[str]]
    created: np.ndarray[Any, Any]
    deleted: np.ndarray[Any, Any]

    def columns(self) -> dict[str, Any]:
        """The columns every creating-site table starts with, and its counts."""
        callers = [caller_of(stack) for stack in self.frames]
        return {"pid": np.array([site[0] for site in self.sites], dtype=np.int32),
                "caller_library": [library for library, _ in callers],
                "caller_symbol": [symbol for _, symbol in callers],
                "user_stack": self.frames, "created": self.created.astype(np.int64),
                "deleted": self.deleted.astype(np.int64)}


class CreatingSites:
    """A BPF map of (pid, creating stack, tag) -> created/deleted counts whose stacks are named
    at each drain, while the JVM that made them is alive (its maps are needed)."""

    def __init__(self, bpf: Any, lib: Any, stacks: StackResolver, map_name: str,
                 tag: str) -> None:
        self._bpf = bpf
        self._lib = lib
        self._stacks = stacks
        self._map = map_name.encode()
        self._tag = tag
        self._key = site_key_dtype(tag)
        self._frames: dict[SiteKey, list[str]] = {}

    def name_new_sites(self) -> None:
        """Name the stacks of creating sites not seen before (while their JVM lives)."""
        keys, _ = batch_lookup(self._lib, self._bpf[self._map].map_fd, self._key, SITE_VAL,
                               SITES_CAPACITY)  # one syscall, not BCC's one per key
        for site in zip(keys["pid"].tolist(), keys["stack"].tolist(), keys[self._tag].tolist(),
                        strict=True):
            if site not in self._frames:
                self._frames[site] = self._stacks.user(site[0], site[1])

    def take(self) -> SiteCounts:
        """Every site's counts (the map is emptied), named."""
        self.name_new_sites()
        table = self._bpf[self._map]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, self._key, SITE_VAL,
                                             SITES_CAPACITY)
        sites = [(int(p), int(s), int(t)) for p, s, t in zip(
            keys["pid"], keys["stack"], keys[self._tag], strict=True)]
        frames = [self._frames.get(site) or self._stacks.user(site[0], site[1])
                  for site in sites]
        return SiteCounts(sites, frames, vals["created"], vals["deleted"])


class GlobalRefTracker(CreatingSites):
    def __init__(self, bpf: Any, lib: Any, writer: RunWriter, stacks: StackResolver) -> None:
        super().__init__(bpf, lib, stacks, "jnii_ref_sites", "weak")
        self._writer = writer

    def stop(self) -> dict[str, int]:
        """Write the rows; returns counts for meta.json (sites, live references)."""
        counts = self.take()
        refs = self._bpf[b"jnii_refs"]
        live_keys, live_vals = batch_lookup_and_delete(self._lib, refs.map_fd, REF_KEY,
                                                       REF_VAL, REFS_CAPACITY)
        live: dict[SiteKey, int] = defaultdict(int)
        for pid, stack, weak in zip(live_keys["pid"], live_vals["stack"], live_vals["weak"],
                                    strict=True):
            live[(int(pid), int(stack), int(weak))] += 1
        if counts.sites:
            columns = counts.columns()
            self._writer.append("jni_global_ref_sites", {
                **columns, "kind": ["weak" if site[2] else "global" for site in counts.sites],
                "live_at_end": np.array([live.get(site, 0) for site in counts.sites],
                                        dtype=np.int64)})
        return {"sites": len(counts.sites), "live": len(live_keys)}
