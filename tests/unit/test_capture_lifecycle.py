"""Fd ownership and the end of a capture: borrowed sockets never close a number twice, rings
and sessions close once, GC pairing with nested begins, sticky task-runner roles, and the
libjvm check. No root needed (pidfd_getfd on our own process is allowed)."""

from __future__ import annotations

import gc
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from profiler.capture.options import CaptureOptions
from profiler.capture.probes.events import kernel_stacks, user_stacks
from profiler.capture.probes.jvmcheck import JvmLibraryCheck, mapped_libjvm
from profiler.capture.probes.jvmevents import GcPairer
from profiler.capture.probes.net.sockets import FdBorrower, parse_sockaddr
from profiler.capture.probes.processes import ProcessInfo, ProcessTable, ThreadInfo
from profiler.capture.procfs import ProcessDescriptors
from profiler.capture.symbols.stacks import NO_STACK
from profiler.rundir.writer import RunWriter


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def socket_inode(fd: int) -> int:
    return int(os.readlink(f"/proc/self/fd/{fd}")[8:-1])


def test_a_process_descriptor_is_opened_once_and_closed_once() -> None:
    opened: list[int] = []

    def open_fd(pid: int) -> int:
        if pid < 0:
            raise OSError(3, "no such process")
        opened.append(os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC))
        return opened[-1]

    before = open_fds()
    descriptors = ProcessDescriptors(open_fd)
    assert descriptors.get(1) == descriptors.get(1) and len(opened) == 1
    descriptors.get(2)
    with pytest.raises(OSError):
        descriptors.get(-1)
    descriptors.forget(1)
    descriptors.forget(1)  # nothing left to close
    assert opened[0] not in open_fds() - before
    descriptors.get(1)
    assert len(opened) == 3  # forgotten, so opened again
    descriptors.close()
    assert open_fds() == before


def test_borrowed_sockets_never_close_a_reused_number() -> None:
    # The run directory's fd was closed mid-run when a borrowed socket's number was closed
    # a second time after reuse. Each borrowed copy must be closed exactly once, by us,
    # and nothing may close it again later (garbage collection included).
    borrower = FdBorrower()
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    before = open_fds()
    try:
        for _ in range(50):
            found = borrower.endpoint(os.getpid(), client.fileno(), socket_inode(client.fileno()))
            if not borrower.available:
                pytest.skip("pidfd_getfd is not permitted here")
            assert found is not None
            assert found.remote_port == server.getsockname()[1]
            assert found.local_port == client.getsockname()[1]
            # The freed number is reused at once, like the writer's directory fd was.
            sentinel = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
            gc.collect()
            os.fstat(sentinel)  # EBADF if anything closed the number again
            os.close(sentinel)
        listener = borrower.endpoint(os.getpid(), server.fileno(),
                                     socket_inode(server.fileno()))
        assert listener is not None and listener.state == 10 and listener.remote_port == 0
    finally:
        borrower.close()
        for sock in (accepted, client, server):
            sock.close()
    assert open_fds() <= before  # no copy and no pidfd left open


def test_a_non_socket_fd_is_not_an_endpoint(tmp_path: Path) -> None:
    borrower = FdBorrower()
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    before = open_fds()
    try:
        assert borrower.endpoint(os.getpid(), fd, 0) is None
    finally:
        borrower.close()
        os.close(fd)
    assert open_fds() <= before


def test_parse_sockaddr() -> None:
    v4 = (2).to_bytes(2, "little") + (8080).to_bytes(2, "big") + bytes([127, 0, 0, 1]) + b"\0" * 8
    assert parse_sockaddr(v4) == ("127.0.0.1", 8080)
    v6 = ((10).to_bytes(2, "little") + (443).to_bytes(2, "big") + b"\0" * 4
          + bytes(10) + b"\xff\xff" + bytes([10, 0, 0, 7]) + b"\0" * 4)
    assert parse_sockaddr(v6) == ("10.0.0.7", 443)  # IPv4-mapped shown as IPv4
    assert parse_sockaddr((1).to_bytes(2, "little") + b"/tmp/sock") is None  # AF_UNIX


def test_session_stop_is_safe_before_start_and_twice(tmp_path: Path) -> None:
    from profiler.capture.session import CaptureSession

    writer = RunWriter(tmp_path)
    try:
        session = CaptureSession(CaptureOptions(), writer)
        assert session.report.probes_attached == []  # available before and after start()
        first = session.stop()
        assert session.stop() is first
    finally:
        writer.close("complete")


def test_nested_gc_begins_make_one_row_and_no_unmatched_end() -> None:
    pairer = GcPairer()
    pairer.begin_gc(10, 11, 100)
    pairer.begin_gc(10, 11, 120)  # a collection begun inside the pause
    pairer.end_gc(10, 150)
    pairer.end_gc(10, 200)
    pairer.end_gc(10, 300)  # a real end without a begin is still counted
    assert [(r.start_ns, r.end_ns) for r in pairer.rows] == [(100, 200)]
    assert pairer.nested_begins == 1
    assert pairer.unmatched_ends == 1
    assert pairer.open_begins == 0


def test_task_runner_role_survives_spark_renaming_the_thread() -> None:
    table = ProcessTable()
    table.java_thread_started(5, 6, "Executor task launch worker-0", 1)
    _, threads = table.take_rows()
    assert threads is not None and threads["role"] == ["task-runner"]
    # Spark renames the thread per task and back to "Executor task idle worker ..." between
    # tasks; the kernel sees the 15-byte comm of each name.
    table._rename(5, 6, "Executor task l")
    table._rename(5, 6, "Executor task i")
    _, threads = table.take_rows()
    assert threads is not None and threads["role"] == ["task-runner"]
    assert ThreadInfo(1, 2, "Executor task i").role() == "task-runner"  # the idle pool


def test_a_thread_started_by_a_task_thread_takes_the_role_of_its_own_name() -> None:
    table = ProcessTable()
    table.java_thread_started(5, 6, "Executor task launch worker-0", 1)
    # A clone of the task thread inherits its comm, then gets its own name.
    table._rename(5, 7, "Executor task l")
    assert table.thread(5, 7).role() == "task-runner"
    table._rename(5, 7, "stdout/stderr r")
    _, threads = table.take_rows()
    assert threads is not None
    assert dict(zip(threads["tid"], threads["role"], strict=True)) == {6: "task-runner",
                                                                       7: "other"}
    table.java_thread_started(5, 8, "Worker Monitor for /usr/bin/python3", 2)
    assert table.thread(5, 8).role() == "other"


def test_stacks_are_resolved_once_per_distinct_key() -> None:
    calls: list[tuple[str, int, int]] = []

    class Resolver:
        def user(self, pid: int, stack_id: int) -> list[str]:
            calls.append(("user", pid, stack_id))
            return [f"f{pid}.{stack_id}"]

        def kernel(self, stack_id: int) -> list[str]:
            calls.append(("kernel", 0, stack_id))
            return [f"k{stack_id}"]

    pids = np.array([7, 7, 8, 7], dtype=np.uint32)
    ids = np.array([3, 3, 3, NO_STACK], dtype=np.int32)
    resolver = Resolver()
    users = user_stacks(pids, ids, resolver)  # type: ignore[arg-type]
    assert users.to_pylist() == [["f7.3"], ["f7.3"], ["f8.3"], []]
    kernels = kernel_stacks(np.array([5, NO_STACK, 5], dtype=np.int32), resolver)  # type: ignore[arg-type]
    assert kernels.to_pylist() == [["k5"], [], ["k5"]]
    assert sorted(calls) == [("kernel", 0, 5), ("user", 7, 3), ("user", 8, 3)]


MAPS = """\
7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1000000000-7f1000100000 r-xp 00000000 08:01 456 /opt/jdk-21/lib/server/libjvm.so
"""


def test_a_jvm_of_another_jdk_is_reported_once(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert mapped_libjvm(MAPS) == "/opt/jdk-21/lib/server/libjvm.so"
    assert mapped_libjvm(MAPS.splitlines()[0]) is None
    attached = tmp_path / "libjvm.so"
    attached.write_bytes(b"")
    check = JvmLibraryCheck(str(attached))
    monkeypatch.setattr(check, "_library", lambda pid: "/opt/jdk-21/lib/server/libjvm.so")
    jvm = ProcessInfo(pid=42, ppid=1, start_ns=0, comm="java", cmdline=["java"],
                      role="driver-jvm")
    python = ProcessInfo(pid=43, ppid=1, start_ns=0, comm="python3", cmdline=["python3"])
    notices = check.notices([jvm, python])
    assert len(notices) == 1 and "pid 42" in notices[0] and "/opt/jdk-21" in notices[0]
    assert check.notices([jvm]) == []  # once per JVM
    monkeypatch.setattr(check, "_library", lambda pid: str(attached))
    jvm_same = ProcessInfo(pid=44, ppid=1, start_ns=0, comm="java", cmdline=["java"])
    assert check.notices([jvm_same]) == []
