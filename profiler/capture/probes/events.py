"""Streamed events to rows: slow syscalls, off-CPU blocks (with stacks) and connection
lifecycle (with fd resolution)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from profiler.capture.probes.net.fds import FdResolver, FdTarget
from profiler.capture.procfs import TCP_STATES, addr_from_bytes
from profiler.capture.stream.records import (
    EPOLL_CTL,
    EPOLL_NEW,
    FD_DUP,
    FILE_OPEN,
    OFFCPU_STATES,
    SOCK_ACCEPT,
    SOCK_CLOSE,
    SOCK_CONNECT,
    SOCK_RETRANSMIT,
    SOCK_STATE,
    cstr,
)
from profiler.capture.symbols.stacks import NO_STACK, StackResolver

Columns = dict[str, Any]


def syscall_names(numbers: np.ndarray[Any, Any], names: Mapping[int, str]) -> pa.Array:
    """Names for a column of syscall numbers, looked up once per distinct number."""
    unique, inverse = np.unique(numbers, return_inverse=True)
    table = pa.array([names.get(int(nr), f"sys_{int(nr)}") for nr in unique], pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)),
                                          table).cast(pa.string())


def user_stacks(pids: np.ndarray[Any, Any], stack_ids: np.ndarray[Any, Any],
                stacks: StackResolver) -> pa.Array:
    """Frames per event, resolved once per distinct (pid, stack id); NO_STACK -> []."""
    keys = (pids.astype(np.int64) << 32) | (stack_ids.astype(np.int64) & 0xFFFFFFFF)
    unique, inverse = np.unique(keys, return_inverse=True)
    frames = [[] if sid == NO_STACK else stacks.user(int(key >> 32), sid)
              for key, sid in zip(unique.tolist(),
                                  unique.astype(np.uint32).view(np.int32).tolist(),
                                  strict=True)]
    return _spread(frames, inverse)


def kernel_stacks(stack_ids: np.ndarray[Any, Any], stacks: StackResolver) -> pa.Array:
    """Kernel frames per event, resolved once per distinct stack id; NO_STACK -> []."""
    unique, inverse = np.unique(stack_ids.astype(np.int32), return_inverse=True)
    frames = [[] if sid == NO_STACK else stacks.kernel(sid) for sid in unique.tolist()]
    return _spread(frames, inverse)


_STACK = pa.list_(pa.string())


def stack_column(stacks: list[list[str]]) -> pa.Array:
    """A list<string> column from one stack per row. Rows sharing one list object (the
    sampler's rows of one stack share its list) convert it once; when no row shares, the
    rows convert directly (no copy through ``take``)."""
    index: dict[int, int] = {}
    rows = np.fromiter((index.setdefault(id(stack), len(index)) for stack in stacks),
                       dtype=np.int32, count=len(stacks))
    if len(index) == len(stacks):
        return pa.array(stacks, _STACK)
    distinct = list({id(stack): stack for stack in stacks}.values())  # in index order
    return _spread(distinct, rows)


def _spread(frames: list[list[str]], inverse: np.ndarray[Any, Any]) -> pa.Array:
    """One list per event from one list per distinct stack (no per-event Python work)."""
    distinct = pa.array(frames, _STACK)
    return distinct.take(pa.array(inverse.reshape(-1).astype(np.int32)))


def slow_syscall_columns(events: np.ndarray[Any, Any], names: Mapping[int, str],
                         stacks: StackResolver) -> Columns:
    return {
        # The probe sends the entry time; the contract (and the buckets of `syscalls` and
        # `network`, which count a call where it ended) wants the return.
        "ts_ns": (events["ts"] + events["dur"]).astype(np.int64),
        "pid": events["pid"].astype(np.int32), "tid": events["tid"].astype(np.int32),
        "syscall": syscall_names(events["nr"], names),
        "duration_ns": events["dur"].astype(np.int64), "ret": events["ret"].astype(np.int64),
        "fd": events["fd"].astype(np.int32),
        "user_stack": user_stacks(events["pid"], events["ustack"], stacks),
    }


def block_columns(events: np.ndarray[Any, Any], stacks: StackResolver) -> Columns:
    names = pa.array(OFFCPU_STATES, pa.string())
    codes = np.minimum(events["state"], len(OFFCPU_STATES) - 1).astype(np.int32)
    states = names.take(pa.array(codes))
    return {
        "start_ns": events["start"].astype(np.int64), "pid": events["pid"].astype(np.int32),
        "tid": events["tid"].astype(np.int32), "state": states,
        "duration_ns": events["dur"].astype(np.int64),
        "user_stack": user_stacks(events["pid"], events["ustack"], stacks),
        "kernel_stack": kernel_stacks(events["kstack"], stacks),
    }


class ConnectionTracker:
    """sock_events -> fd history (opens, connects, accepts, closes) + ``connections`` rows."""

    def __init__(self, fds: FdResolver) -> None:
        self._fds = fds
        self._rows: list[tuple[int, int, int, str, str, FdTarget]] = []

    def on_events(self, events: np.ndarray[Any, Any]) -> None:
        # Per-CPU buffers: an epoll_ctl can come before the epoll_create of another CPU.
        events = events[np.argsort(events["ts"], kind="stable")]
        # Whole columns to Python ints at once: a numpy record's field access costs ~0.5 us.
        columns = zip(events["type"].tolist(), events["pid"].tolist(), events["tid"].tolist(),
                      events["fd"].tolist(), events["ts"].tolist(),
                      events["oldstate"].tolist(), events["newstate"].tolist(), strict=True)
        for index, (kind, pid, tid, fd, ts, old, new) in enumerate(columns):
            if kind == EPOLL_CTL:
                self._fds.epoll_control(pid, old, new, fd, ts)
                continue
            ev = events[index]
            if kind == FILE_OPEN:
                self._fds.opened(pid, fd, ts, FdTarget(kind="file",
                                                       path=_absolute(pid, cstr(ev["path"]))))
            elif kind in (SOCK_CONNECT, SOCK_ACCEPT):
                self._on_connection(ev, kind, pid, tid, fd, ts)
            elif kind == SOCK_CLOSE:
                target = self._fds.target(pid, fd, self._fds.generation(pid, fd))
                self._fds.closed(pid, fd, ts)
                if target.kind == "socket" and target.remote_port:
                    self._rows.append((ts, pid, tid, "close", "", target))
            elif kind in (SOCK_STATE, SOCK_RETRANSMIT):
                self._on_tcp(ev, kind, pid, tid, ts)
            elif kind == FD_DUP:
                self._on_dup(pid, fd, old, bool(new), ts)
            elif kind == EPOLL_NEW:
                self._fds.epoll_created(pid, fd, ts)

    def _on_dup(self, pid: int, fd: int, source: int, replaced: bool, ts: int) -> None:
        """The new fd names what the source fd names now (dup2/dup3 first close the old)."""
        if replaced:
            self._fds.closed(pid, fd, ts)
        target = self._fds.current(pid, source) or self._fds.resolve_now(pid, fd)
        if target is not None:  # else resolved from /proc when its rows are drained
            self._fds.opened(pid, fd, ts, target)

    def _on_connection(self, ev: Any, kind: int, pid: int, tid: int, fd: int, ts: int) -> None:
        target = self._fds.resolve_now(pid, fd)
        if target is not None and target.path == "unix":
            self._fds.opened(pid, fd, ts, target)  # no TCP story to tell: no row
            return
        if target is None or target.kind != "socket" or not target.remote_port:
            family = int(ev["family"])
            if family not in (2, 10):
                return  # a Unix socket: no TCP story to tell
            raddr = addr_from_bytes(bytes(ev["raddr"]), family)
            target = self._fds.classified(pid, "", 0, raddr, int(ev["rport"]))
        self._fds.opened(pid, fd, ts, target)
        event = "connect" if kind == SOCK_CONNECT else "accept"
        detail = "in progress" if int(ev["ret"]) == -115 else ""
        self._rows.append((ts, pid, tid, event, detail, target))

    def _on_tcp(self, ev: Any, kind: int, pid: int, tid: int, ts: int) -> None:
        family = int(ev["family"])
        laddr = addr_from_bytes(bytes(ev["laddr"]), family)
        raddr = addr_from_bytes(bytes(ev["raddr"]), family)
        # TCP state changes are frequent around connects: no forced /proc re-read for them.
        target = self._fds.classified(pid, laddr, int(ev["lport"]), raddr, int(ev["rport"]),
                                      refresh=False)
        if kind == SOCK_STATE:
            detail = (f"{TCP_STATES.get(int(ev['oldstate']), ev['oldstate'])}->"
                      f"{TCP_STATES.get(int(ev['newstate']), ev['newstate'])}")
            self._rows.append((ts, pid, tid, "state", detail, target))
        else:
            detail = f"state={TCP_STATES.get(int(ev['newstate']), ev['newstate'])}"
            self._rows.append((ts, pid, tid, "retransmit", detail, target))

    def take_columns(self) -> Columns | None:
        rows, self._rows = self._rows, []
        if not rows:
            return None
        return {
            "ts_ns": [r[0] for r in rows], "pid": [r[1] for r in rows],
            "tid": [r[2] for r in rows], "event": [r[3] for r in rows],
            "detail": [r[4] for r in rows],
            "local_addr": [r[5].local_addr for r in rows],
            "local_port": [r[5].local_port for r in rows],
            "remote_addr": [r[5].remote_addr for r in rows],
            "remote_port": [r[5].remote_port for r in rows],
            "peer_class": [r[5].peer_class for r in rows],
        }


def _absolute(pid: int, path: str) -> str:
    if path.startswith("/") or not path:
        return path
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return path
    return os.path.normpath(os.path.join(cwd, path))
