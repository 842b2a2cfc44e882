"""Tracked processes and their threads: built from the lifecycle events of bpf/procs.c and
the HotSpot thread probes, labelled with roles (profiler.roles), written as ``processes`` and
``threads`` rows whenever something about them changes (the last row per pid/tid wins)."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler import roles
from profiler.capture import procfs
from profiler.capture.stream.records import (
    PROC_EXEC,
    PROC_EXIT,
    PROC_FORK,
    THREAD_EXIT,
    THREAD_NEW,
    THREAD_RENAME,
    cstr,
)


@dataclass
class ProcessInfo:
    pid: int
    ppid: int
    start_ns: int
    comm: str
    cmdline: list[str]
    exe: str | None = None
    exit_ns: int | None = None
    exit_code: int | None = None
    role: str = roles.OTHER
    executor_id: str | None = None
    app_id: str | None = None




@dataclass
class ThreadInfo:
    pid: int
    tid: int
    name: str
    start_ns: int | None = None
    end_ns: int | None = None
    java_name: bool = False  # the full name from thread__start (comm is cut at 15 bytes)

    def role(self) -> str:
        """The role of the current name. Spark's task pool names its threads "Executor task
        launch worker-N" and (Spark 4) "Executor task idle worker ..." between tasks: both
        are task runners. A thread a task thread starts inherits its comm ("Executor task l")
        until it is named, so the role is never remembered across a rename."""
        return roles.classify_thread(self.name)


@dataclass
class ProcessTable:
    processes: dict[int, ProcessInfo] = field(default_factory=dict)
    threads: dict[int, ThreadInfo] = field(default_factory=dict)
    _dirty_pids: set[int] = field(default_factory=set)
    _dirty_tids: set[int] = field(default_factory=set)

    # -- processes -------------------------------------------------------------------------
    def add_existing(self, pid: int, now_ns: int) -> ProcessInfo | None:
        """A process found alive (the root, or attach mode): read from /proc."""
        start = procfs.read_start_ns(pid)
        cmdline = procfs.read_cmdline(pid)
        if start is None or cmdline is None:
            return None
        ppid, start_ns = start
        info = ProcessInfo(pid=pid, ppid=ppid, start_ns=min(start_ns, now_ns),
                           comm=procfs.read_comm(pid) or "", cmdline=cmdline,
                           exe=procfs.read_exe(pid))
        self.processes[pid] = info
        self._classify(info)
        tids = _list_tids(pid)
        for tid in tids:
            self.thread(pid, tid)
        return info

    def on_proc_events(self, events: np.ndarray[Any, Any]) -> None:
        for ev in events:
            kind = int(ev["type"])
            pid, tid, ts = int(ev["pid"]), int(ev["tid"]), int(ev["ts"])
            comm = cstr(ev["comm"])
            if kind == PROC_FORK:
                self._on_fork(pid, int(ev["ppid"]), ts, comm)
            elif kind == PROC_EXEC:
                self._on_exec(pid, ts, comm, cstr(ev["filename"]))
            elif kind == PROC_EXIT:
                self._on_exit(pid, tid, ts, int(ev["exit_code"]))
            elif kind == THREAD_NEW:
                thread = self.thread(pid, tid, name=comm)
                thread.start_ns = ts
            elif kind == THREAD_RENAME:
                self._rename(pid, tid, comm)
            elif kind == THREAD_EXIT:
                self.thread(pid, tid).end_ns = ts
                self._dirty_tids.add(tid)

    def _on_fork(self, pid: int, ppid: int, ts: int, comm: str) -> None:
        parent = self.processes.get(ppid)
        info = ProcessInfo(pid=pid, ppid=ppid, start_ns=ts, comm=comm,
                           cmdline=list(parent.cmdline) if parent else [],
                           exe=parent.exe if parent else None)
        self.processes[pid] = info
        self._classify(info)
        self.thread(pid, pid, name=comm).start_ns = ts

    def _on_exec(self, pid: int, ts: int, comm: str, filename: str) -> None:
        info = self.processes.get(pid)
        if info is None:
            info = ProcessInfo(pid=pid, ppid=0, start_ns=ts, comm=comm, cmdline=[])
            self.processes[pid] = info
        info.comm = comm
        info.cmdline = procfs.read_cmdline(pid) or [filename]
        info.exe = procfs.read_exe(pid) or filename
        self._classify(info)
        thread = self.thread(pid, pid)
        thread.name, thread.java_name = comm, False
        self._dirty_tids.add(pid)

    def _on_exit(self, pid: int, tid: int, ts: int, exit_code: int) -> None:
        info = self.processes.get(pid)
        if info is None:
            return
        info.exit_ns = ts
        info.exit_code = exit_code if exit_code >= 0 else None
        self._dirty_pids.add(pid)
        for thread in self.threads.values():
            if thread.pid == pid and thread.end_ns is None:
                thread.end_ns = ts
                self._dirty_tids.add(thread.tid)

    def _classify(self, info: ProcessInfo) -> None:
        parent = self.processes.get(info.ppid)
        found = roles.classify_process(info.cmdline, info.comm, parent.role if parent else None)
        info.role, info.executor_id, info.app_id = found.role, found.executor_id, found.app_id
        self._dirty_pids.add(info.pid)
        if parent is not None:
            parent_role = roles.role_of_parent(parent.role, parent.cmdline, parent.comm,
                                               info.role)
            if parent_role != parent.role:
                parent.role = parent_role
                self._dirty_pids.add(parent.pid)

    def role_of(self, pid: int) -> str | None:
        info = self.processes.get(pid)
        return info.role if info else None

    # -- threads ---------------------------------------------------------------------------
    def thread(self, pid: int, tid: int, name: str | None = None) -> ThreadInfo:
        thread = self.threads.get(tid)
        if thread is None or thread.pid != pid:
            if name is None:
                name = procfs.read_comm(pid, tid) or ""
            thread = ThreadInfo(pid=pid, tid=tid, name=name)
            self.threads[tid] = thread
            self._dirty_tids.add(tid)
        return thread

    def _rename(self, pid: int, tid: int, comm: str) -> None:
        thread = self.thread(pid, tid, name=comm)
        # A comm is the Java name cut at 15 bytes: keep the full one.
        if thread.java_name and thread.name.startswith(comm):
            return
        if thread.name != comm:
            thread.name, thread.java_name = comm, False
            self._dirty_tids.add(tid)

    def java_thread_started(self, pid: int, tid: int, name: str, ts: int) -> None:
        thread = self.thread(pid, tid, name=name)
        thread.name, thread.java_name = name, True
        if thread.start_ns is None:
            thread.start_ns = ts
        self._dirty_tids.add(tid)

    def java_thread_stopped(self, pid: int, tid: int, ts: int) -> None:
        thread = self.thread(pid, tid)
        thread.end_ns = ts
        self._dirty_tids.add(tid)

    def see_threads(self, pids: np.ndarray[Any, Any], tids: np.ndarray[Any, Any]) -> None:
        """Threads seen in aggregated data: name unknown ones from /proc while alive."""
        if len(tids) == 0:
            return
        pairs = np.unique(np.stack([pids.astype(np.int64), tids.astype(np.int64)]), axis=1)
        for pid, tid in pairs.T:
            if int(tid) not in self.threads:
                self.thread(int(pid), int(tid))

    # -- rows ------------------------------------------------------------------------------
    def take_rows(self) -> tuple[dict[str, list[Any]] | None, dict[str, list[Any]] | None]:
        """(processes columns, threads columns) of what changed since the last call."""
        procs = [self.processes[pid] for pid in sorted(self._dirty_pids)
                 if pid in self.processes]
        threads = [self.threads[tid] for tid in sorted(self._dirty_tids) if tid in self.threads]
        self._dirty_pids.clear()
        self._dirty_tids.clear()
        return _process_columns(procs), _thread_columns(threads)


def _list_tids(pid: int) -> list[int]:
    try:
        return [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def _process_columns(procs: list[ProcessInfo]) -> dict[str, list[Any]] | None:
    if not procs:
        return None
    return {
        "pid": [p.pid for p in procs], "ppid": [p.ppid for p in procs],
        "start_ns": [p.start_ns for p in procs], "exit_ns": [p.exit_ns for p in procs],
        "exit_code": [p.exit_code for p in procs], "comm": [p.comm for p in procs],
        "exe": [p.exe for p in procs], "cmdline": [shlex.join(p.cmdline) for p in procs],
        "role": [p.role for p in procs], "executor_id": [p.executor_id for p in procs],
        "app_id": [p.app_id for p in procs],
    }


def _thread_columns(threads: list[ThreadInfo]) -> dict[str, list[Any]] | None:
    if not threads:
        return None
    return {
        "pid": [t.pid for t in threads], "tid": [t.tid for t in threads],
        "name": [t.name for t in threads],
        "role": [t.role() for t in threads],
        "start_ns": [t.start_ns for t in threads], "end_ns": [t.end_ns for t in threads],
    }
