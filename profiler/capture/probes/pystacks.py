"""The user-space half of Python frame sampling (bpf/stacks.c ``py_stack_of``).

Samples reach user space one to two drains after they were taken, too late both to register
a new process and to name the last samples of one that exited. So at each drain ``look_ahead``
works on what the kernel holds now: every tracked process not looked at yet (and any that
exec'd) is inspected, and a walkable Python process gets an entry in the kernel's ``py_procs``
map (its forked children inherit it in the kernel); the code objects of the Python stacks in
the copy being written are named while their processes live. Then ``prepare`` reads and
deletes the quiet copy's Python stacks and ``splice`` puts their names into the samples'
user stacks.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler.capture.stream.mapdrain import batch_lookup, batch_lookup_and_delete
from profiler.capture.symbols.frames import Frame
from profiler.capture.symbols.pyframes import CodeNamer, splice
from profiler.capture.symbols.pyruntime import ProcessMemory, PyProcess, PyVerdict, inspect_process

PY_MAX_FRAMES = 64  # bpf/stacks.c PY_MAX_FRAMES
_STACK_CAPACITY = 4096  # bpf/stacks.c PY_STACK_ENTRIES
_MAX_RETRIES = 5  # looks at a process whose interpreter was not ready yet
PY_STACK_KEY = np.dtype("<u8")
PY_STACK_VAL = np.dtype([("pid", "<u4"), ("depth", "<u4"), ("code", "<u8", (PY_MAX_FRAMES,))])
_PID, _FLAG = np.dtype("<u4"), np.dtype("u1")  # the `tracked` map of bpf/common.h
_TRACKED_CAPACITY = 8192  # MAX_TRACKED


@dataclass
class _Seen:
    exe: str
    verdict: PyVerdict
    looks: int = 1


@dataclass
class PythonSamplingReport:
    processes: dict[int, str] = field(default_factory=dict)  # pid -> version walked
    problems: dict[int, str] = field(default_factory=dict)  # pid -> why not
    samples_with_frames: int = 0
    frames_named: int = 0
    frames_unreadable: int = 0
    collector_s: float = 0.0  # CPU spent on Python stacks (part of sampling's collector_s)

    def as_meta(self) -> dict[str, Any]:
        return {"processes": {str(k): v for k, v in sorted(self.processes.items())},
                "problems": {str(k): v for k, v in sorted(self.problems.items())},
                "samples_with_frames": self.samples_with_frames,
                "frames_named": self.frames_named,
                "frames_unreadable": self.frames_unreadable,
                "collector_s": round(self.collector_s, 3)}

    def notices(self) -> list[str]:
        if not self.problems:
            return []
        first = next(iter(self.problems.values()))
        return [f"Python frames not named in {len(self.problems)} process(es), shown as "
                f"[python]: {first} (see meta.json sampling.python.problems)"]


class PythonStacks:
    def __init__(self, bpf: Any, lib: Any) -> None:
        self._bpf = bpf
        self._lib = lib
        self._seen: dict[int, _Seen] = {}
        self._stacks: dict[int, np.ndarray[Any, Any]] = {}
        self._memory = ProcessMemory()
        self._namer = CodeNamer(self._memory.reader)
        self._default_set = False
        self.report = PythonSamplingReport()

    def start(self) -> None:
        """Guess the profiler's own interpreter for processes not looked at yet: the command
        usually runs the same one (a venv's python is a link to it)."""
        own = inspect_process(os.getpid()).process
        if own is not None:
            self._set_default(own)

    def look_ahead(self, active_copy: int) -> None:
        """Register new Python processes; name the stacks ``active_copy`` holds so far."""
        started = time.thread_time()
        self._namer.retry_failures()
        tracked, _ = batch_lookup(self._lib, self._bpf[b"tracked"].map_fd, _PID, _FLAG,
                                  _TRACKED_CAPACITY)
        for pid in tracked.tolist():
            self._look_at(pid)
        table = self._bpf[f"py_stacks{active_copy}".encode()]
        _, stacks = batch_lookup(self._lib, table.map_fd, PY_STACK_KEY, PY_STACK_VAL,
                                 _STACK_CAPACITY)
        for pid, depth, codes in zip(stacks["pid"].tolist(), stacks["depth"].tolist(),
                                     stacks["code"], strict=True):
            seen = self._seen.get(pid)
            if seen is not None and seen.verdict.process is not None:
                self._namer.frames(seen.verdict.process,
                                   codes[:min(depth, PY_MAX_FRAMES)].tolist())
        self.report.collector_s += time.thread_time() - started

    def prepare(self, copy: int, pids: Iterable[int]) -> None:
        """Register the Python processes among ``pids``; load ``copy``'s Python stacks."""
        started = time.thread_time()
        for pid in set(pids):
            self._look_at(pid)
        table = self._bpf[f"py_stacks{copy}".encode()]
        keys, vals = batch_lookup_and_delete(self._lib, table.map_fd, PY_STACK_KEY,
                                             PY_STACK_VAL, _STACK_CAPACITY)
        self._stacks = {int(key): val for key, val in zip(keys, vals, strict=True)}
        self.report.collector_s += time.thread_time() - started

    def splice(self, pid: int, stack_key: int, native: list[Frame], count: int,
               ) -> list[Frame]:
        """``native`` with the names of Python stack ``stack_key`` spliced in."""
        stack = self._stacks.get(stack_key) if stack_key else None
        seen = self._seen.get(pid)
        process = seen.verdict.process if seen else None
        if stack is None or process is None:
            return native
        started = time.thread_time()
        depth = min(int(stack["depth"]), PY_MAX_FRAMES)
        named, unreadable = self._namer.named, self._namer.unreadable
        python = self._namer.frames(process, [int(code) for code in stack["code"][:depth]])
        self.report.frames_named += (self._namer.named - named) * count
        self.report.frames_unreadable += (self._namer.unreadable - unreadable) * count
        if python:
            self.report.samples_with_frames += count
        spliced = splice(native, python)
        self.report.collector_s += time.thread_time() - started
        return spliced

    def close(self) -> None:
        """Release what reading processes' memory holds open."""
        self._memory.close()

    def forget_process(self, pid: int) -> None:
        self._seen.pop(pid, None)
        self._namer.forget_process(pid)
        self._memory.forget(pid)
        for name in (b"py_procs", b"py_skip"):
            table = self._bpf[name]
            with contextlib.suppress(KeyError):
                del table[table.Key(pid)]

    # -- registering processes ------------------------------------------------------------
    def _look_at(self, pid: int) -> None:
        exe = _exe(pid)
        if exe is None:
            return  # gone: its samples keep what the kernel recorded
        seen = self._seen.get(pid)
        if seen is not None and seen.exe == exe:
            if seen.verdict.retry and seen.looks < _MAX_RETRIES:
                seen.looks += 1
            elif seen.verdict.process is None or self._registered(pid):
                return
        verdict = inspect_process(pid)
        looks = seen.looks if seen is not None and seen.exe == exe else 1
        self._seen[pid] = _Seen(exe, verdict, looks)
        self._namer.forget_process(pid)
        self._memory.forget(pid)  # opened on an image it no longer runs
        if verdict.process is not None:
            self._register(verdict.process)
            self.report.processes[pid] = verdict.process.version_text
            self.report.problems.pop(pid, None)
        else:
            if verdict.problem is not None and (not verdict.retry or looks >= _MAX_RETRIES):
                self.report.problems[pid] = verdict.problem  # not a passing start-up state
            if not verdict.retry:
                skip = self._bpf[b"py_skip"]
                skip[skip.Key(pid)] = skip.Leaf(1)

    def _registered(self, pid: int) -> bool:
        table = self._bpf[b"py_procs"]
        try:
            table[table.Key(pid)]
        except KeyError:
            return False  # exec'd (the kernel dropped it) or evicted
        return True

    def _register(self, process: PyProcess) -> None:
        table = self._bpf[b"py_procs"]
        table[table.Key(process.pid)] = _leaf(table, process)
        if not self._default_set:
            self._set_default(process)

    def _set_default(self, process: PyProcess) -> None:
        if process.fixed_runtime:
            table = self._bpf[b"py_default"]
            table[table.Key(0)] = _leaf(table, process)
            self._default_set = True


def _leaf(table: Any, process: PyProcess) -> Any:
    leaf = table.Leaf()
    leaf.runtime = process.runtime
    for name in ("interp_head", "tstate_current", "tstate_head", "tstate_next",
                 "tstate_native_id", "tstate_cframe", "cframe_frame", "frame_code",
                 "frame_previous"):
        setattr(leaf, name, getattr(process.layout, name))
    return leaf


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
