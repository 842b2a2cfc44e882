"""FdResolver: pipes between a Spark JVM and its Python processes, and epoll fds waiting on
them, count as bridge traffic."""

from __future__ import annotations

import os
import select
import socket
import subprocess

from profiler.capture import procfs
from profiler.capture.probes.net.fds import FdResolver


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


def test_a_unix_socket_is_classified_by_the_process_holding_its_peer() -> None:
    mine, theirs = socket.socketpair()
    child = subprocess.Popen(["sleep", "30"], pass_fds=[theirs.fileno()])
    theirs.close()
    roles = {os.getpid(): "executor-jvm", child.pid: "python-worker"}
    try:
        target = FdResolver(roles.get, lambda: list(roles), set).resolve_now(
            os.getpid(), mine.fileno())
        assert target is not None
        assert (target.kind, target.path, target.peer_class) == (
            "socket", "unix", "python-worker")
        assert target.inode == os.fstat(mine.fileno()).st_ino
        roles[child.pid] = "executor-jvm"  # JVM <-> JVM over a Unix socket: no bridge
        other = FdResolver(roles.get, lambda: list(roles), set).resolve_now(
            os.getpid(), mine.fileno())
        assert other is not None and other.peer_class == "unknown"
    finally:
        child.kill()
        child.wait()
        mine.close()


def test_unix_diag_answers_are_parsed() -> None:
    from profiler.capture.probes.net.unix_peers import UnixPeers, diag_request, parse_diag_answer

    # An answer seen on this kernel: socket 2806537 whose peer is 2806538, then a
    # UNIX_DIAG_SHUTDOWN attribute.
    answer = bytes.fromhex("300000001400000001000000322100000101010009d32a000100000000000000"
                           "080002000ad32a000500060000000000")
    assert parse_diag_answer(answer, 2806537) == (True, 2806538)
    assert parse_diag_answer(answer, 1) == (False, None)  # about another socket
    error = bytes.fromhex("24000000020000000000000000000000feffffff") + bytes(16)
    assert parse_diag_answer(error, 5) == (False, None)
    assert len(diag_request(5, 1)) == 16 + 24
    peers = UnixPeers()
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        assert peers.peer_inode(os.fstat(listener.fileno()).st_ino) == (False, None)
    finally:
        listener.close()
        peers.close()
