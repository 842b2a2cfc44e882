"""Drained aggregates (numpy key/value arrays) to the column dicts RunWriter.append takes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from profiler.capture.probes.net.fds import FdTarget
from profiler.capture.probes.syscall_table import family_of
from profiler.capture.stream.records import OFFCPU_STATES

Columns = dict[str, Any]


def syscall_columns(keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any],
                    names: Mapping[int, str]) -> Columns:
    syscall = [names.get(int(nr), f"sys_{int(nr)}") for nr in keys["nr"]]
    return {
        "bucket_ns": keys["bucket"].astype(np.int64),
        "pid": keys["pid"].astype(np.int32), "tid": keys["tid"].astype(np.int32),
        "syscall": syscall, "family": [family_of(name) for name in syscall],
        "calls": vals["calls"].astype(np.int64), "errors": vals["errors"].astype(np.int64),
        "total_ns": vals["total_ns"].astype(np.int64), "max_ns": vals["max_ns"].astype(np.int64),
        "bytes": vals["bytes"].astype(np.int64), "hist": vals["hist"].astype(np.int64),
    }


def offcpu_columns(keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any]) -> Columns:
    states = np.array(OFFCPU_STATES, dtype=object)
    return {
        "bucket_ns": keys["bucket"].astype(np.int64),
        "pid": keys["pid"].astype(np.int32), "tid": keys["tid"].astype(np.int32),
        "state": list(states[np.minimum(keys["state"], len(states) - 1)]),
        "count": vals["count"].astype(np.int64), "total_ns": vals["total_ns"].astype(np.int64),
        "max_ns": vals["max_ns"].astype(np.int64),
    }


_NET_FIELDS = ("bytes_sent", "bytes_received", "send_calls", "recv_calls", "send_ns",
               "recv_ns")


def fd_io_columns(keys: np.ndarray[Any, Any], vals: np.ndarray[Any, Any],
                  target_of: Callable[[int, int, int, int], FdTarget],
                  ) -> tuple[Columns | None, Columns | None]:
    """(network columns, file_io columns): socket fds become one network row per
    (bucket, thread, fd), and so do pipes between a JVM and its Python processes and epoll
    fds whose sockets registered in that bucket share one peer class (waits as recv time;
    ``target_of(pid, fd, generation, bucket)``); regular
    files one file_io row per (bucket, thread, path, op); other fds are left to the
    syscalls table."""
    net: dict[tuple[int, int, int, int], tuple[FdTarget, list[int]]] = {}
    files: dict[tuple[int, int, int, str, str], list[int]] = {}
    for key, val in zip(keys.tolist(), vals.tolist(), strict=True):
        bucket, pid, tid, fd, gen_dir = key
        direction, generation = gen_dir & 1, gen_dir >> 1
        calls, nbytes, total_ns, max_ns = val
        target = target_of(pid, fd, generation, bucket)
        if target.kind == "epoll" and target.peer_class != "unknown":
            # A wait on sockets of one peer: that peer's recv time, no bytes moved.
            _, sums = net.setdefault((bucket, pid, tid, fd), (target, [0] * 6))
            sums[3] += calls
            sums[5] += total_ns
        elif target.kind in ("socket", "pipe"):
            _, sums = net.setdefault((bucket, pid, tid, fd), (target, [0] * 6))
            base = 0 if direction == 1 else 1
            sums[base] += nbytes          # bytes_sent / bytes_received
            sums[2 + base] += calls       # send_calls / recv_calls
            sums[4 + base] += total_ns    # send_ns / recv_ns
        elif target.kind == "file":
            op = "write" if direction == 1 else "read"
            acc = files.setdefault((bucket, pid, tid, target.path, op), [0, 0, 0, 0])
            acc[0] += calls
            acc[1] += nbytes
            acc[2] += total_ns
            acc[3] = max(acc[3], max_ns)
    return _network(net), _file_io(files)


def _network(net: dict[tuple[int, int, int, int], tuple[FdTarget, list[int]]]) -> Columns | None:
    if not net:
        return None
    cols: Columns = {name: [] for name in (
        "bucket_ns", "pid", "tid", "fd", "local_addr", "local_port", "remote_addr",
        "remote_port", "peer_class", *_NET_FIELDS)}
    for (bucket, pid, tid, fd), (target, sums) in net.items():
        for name, value in (("bucket_ns", bucket), ("pid", pid), ("tid", tid), ("fd", fd),
                            ("local_addr", target.local_addr),
                            ("local_port", target.local_port),
                            ("remote_addr", target.remote_addr),
                            ("remote_port", target.remote_port),
                            ("peer_class", target.peer_class)):
            cols[name].append(value)
        for name, value in zip(_NET_FIELDS, sums, strict=True):
            cols[name].append(value)
    return cols


def _file_io(files: dict[tuple[int, int, int, str, str], list[int]]) -> Columns | None:
    if not files:
        return None
    cols: Columns = {name: [] for name in ("bucket_ns", "pid", "tid", "path", "op", "calls",
                                           "bytes", "total_ns", "max_ns")}
    for (bucket, pid, tid, path, op), (calls, nbytes, total_ns, max_ns) in files.items():
        for name, value in (("bucket_ns", bucket), ("pid", pid), ("tid", tid), ("path", path),
                            ("op", op), ("calls", calls), ("bytes", nbytes),
                            ("total_ns", total_ns), ("max_ns", max_ns)):
            cols[name].append(value)
    return cols
