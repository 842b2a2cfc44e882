"""FdResolver: pipes between a Spark JVM and its Python processes, and epoll fds waiting on
them, count as bridge traffic."""

from __future__ import annotations

import os
import select
import socket
import subprocess

from profiler.capture import procfs
from profiler.capture.fds import FdResolver


def test_a_pipe_to_a_python_process_is_classified_by_the_other_ends_role() -> None:
    read_end, write_end = os.pipe()
    # The child holds the write end as its stdout, like pyspark.daemon telling its port.
    child = subprocess.Popen(["sleep", "30"], stdout=write_end)
    os.close(write_end)
    roles = {os.getpid(): "executor-jvm", child.pid: "pyspark-daemon"}
    try:
        resolver = FdResolver(roles.get, lambda: list(roles), set)
        target = resolver.resolve_now(os.getpid(), read_end)
        assert target is not None
        assert (target.kind, target.peer_class) == ("pipe", "python-worker")
        roles[child.pid] = "other"  # a pipe to an unrelated helper stays out of network
        other = FdResolver(roles.get, lambda: list(roles), set).resolve_now(os.getpid(),
                                                                            read_end)
        assert other is not None and other.kind == "other"
    finally:
        child.kill()
        child.wait()
        os.close(read_end)


def test_an_epoll_fd_on_a_python_worker_waits_on_that_peer() -> None:
    """A selector whose registered sockets/pipes all lead to the Python worker is bridge
    time; its own wake-up eventfd does not count, an unrelated socket makes it mixed."""
    read_end, write_end = os.pipe()
    child = subprocess.Popen(["sleep", "30"], stdout=write_end)
    os.close(write_end)
    roles = {os.getpid(): "executor-jvm", child.pid: "pyspark-daemon"}
    poller, wakeup = select.epoll(), os.eventfd(0)
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    try:
        for fd in (read_end, wakeup):
            poller.register(fd, select.EPOLLIN)
        # Seen first at a scan (created before tracking): registrations from fdinfo.
        resolver = FdResolver(roles.get, lambda: list(roles), set)
        target = resolver.target(os.getpid(), poller.fileno(), 0, bucket_ns=10**9)
        assert (target.kind, target.peer_class) == ("epoll", "python-worker")
        poller.register(client.fileno(), select.EPOLLIN)  # a peer of class unknown
        mixed = FdResolver(roles.get, lambda: list(roles), set).target(
            os.getpid(), poller.fileno(), 0, bucket_ns=10**9)
        assert (mixed.kind, mixed.peer_class) == ("epoll", "unknown")
    finally:
        child.kill()
        child.wait()
        for closable in (poller, client, listener):
            closable.close()
        os.close(read_end)
        os.close(wakeup)


def test_epoll_fdinfo_lists_registered_fds() -> None:
    text = ("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
            "tfd:       12 events:       19 data:                c  pos:0 ino:3f sdev:8\n"
            "tfd:        7 events:       19 data:                7  pos:0 ino:40 sdev:8\n")
    assert procfs.parse_epoll_tfds(text) == [12, 7]
    assert procfs.read_epoll_tfds(os.getpid(), 10**6) is None
