"""Peer classes of TCP connections from the roles of the processes at both ends. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from profiler.roles import (
    DRIVER_JVM,
    EXECUTOR_JVM,
    PYSPARK_DAEMON,
    PYTHON_DRIVER,
    PYTHON_WORKER,
)

PEER_CLASSES: tuple[str, ...] = (
    "py4j", "python-worker", "shuffle", "driver-rpc", "external", "unknown",
)
_JVMS = frozenset({DRIVER_JVM, EXECUTOR_JVM})
_PYTHON_WORKERS = frozenset({PYTHON_WORKER, PYSPARK_DAEMON})
_DRIVER_URL = re.compile(r"spark://[^@/\s]+@[^:/\s]+:(\d+)")


def driver_rpc_port(cmdline: Sequence[str]) -> int | None:
    """The driver's RPC port from an executor's ``--driver-url spark://...@host:PORT``."""
    for arg in cmdline:
        match = _DRIVER_URL.search(arg)
        if match:
            return int(match.group(1))
    return None


def classify_peer(local_role: str | None, remote_role: str | None, local_port: int,
                  remote_port: int, remote_is_local: bool,
                  driver_rpc_ports: Collection[int] = ()) -> str:
    """py4j | python-worker | shuffle | driver-rpc | external | unknown.

    ``remote_is_local``: the remote address is one of this host's. ``remote_role`` is the role
    of the process owning the other end (None when not found among tracked processes).
    """
    if not remote_is_local:
        return "external"
    if local_role is None or remote_role is None:
        return "unknown"
    roles = {local_role, remote_role}
    if roles == {PYTHON_DRIVER, DRIVER_JVM}:
        return "py4j"
    if roles & _PYTHON_WORKERS and roles & _JVMS:
        return "python-worker"
    if roles <= _JVMS:
        if local_port in driver_rpc_ports or remote_port in driver_rpc_ports:
            return "driver-rpc"
        return "shuffle"
    return "unknown"


def classify_unix_peer(local_role: str | None, remote_role: str | None) -> str:
    """py4j | python-worker | unknown for a Unix-domain socket between two tracked
    processes: only the JVM <-> Python bridges run over Unix sockets in Spark
    (``spark.python.unix.domain.socket.enabled``); shuffle and RPC never do."""
    if local_role is None or remote_role is None:
        return "unknown"
    peer = classify_peer(local_role, remote_role, 0, 0, True)
    return peer if peer in ("py4j", "python-worker") else "unknown"
