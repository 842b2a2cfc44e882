"""Epoll registrations from epoll_create/epoll_ctl events (no /proc): what a wait in a time
bucket was on, through ADD/DEL/MOD, closes, dups and forks."""

from __future__ import annotations

import numpy as np

from profiler.capture.probes.events import ConnectionTracker
from profiler.capture.probes.net.epolls import (
    EPOLL_CTL_ADD,
    EPOLL_CTL_DEL,
    EPOLL_CTL_MOD,
    MAX_REGISTRATIONS,
    EpollInstance,
)
from profiler.capture.probes.net.fds import FdResolver, FdTarget
from profiler.capture.stream import records

JVM, WORKER = 10, 20
MS = 1_000_000
BUCKET = 100 * MS
ROLES = {JVM: "executor-jvm", WORKER: "python-worker"}


def _worker_socket(port: int = 6000) -> FdTarget:
    return FdTarget(kind="socket", local_addr="127.0.0.1", local_port=5000,
                    remote_addr="127.0.0.1", remote_port=port, peer_class="python-worker")


def _resolver() -> FdResolver:
    # No live pids: nothing may come from /proc, every answer is from the events.
    return FdResolver(ROLES.get, lambda: [], set, bucket_ns=BUCKET)


def _class_at(resolver: FdResolver, pid: int, fd: int, bucket: int) -> str:
    return resolver.target(pid, fd, resolver.generation(pid, fd), bucket_ns=bucket).peer_class


def test_add_mod_del_change_what_a_bucket_waits_on() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.opened(JVM, 31, 0, FdTarget(kind="other", path="anon_inode:[eventfd]"))
    fds.epoll_created(JVM, 40, 10 * MS)
    assert _class_at(fds, JVM, 40, 0) == "unknown"  # nothing registered yet
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 31, 11 * MS)  # the wake-up fd does not count
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 30, 12 * MS)
    fds.epoll_control(JVM, 40, EPOLL_CTL_MOD, 30, 50 * MS)  # the same registration
    view = fds.target(JVM, 40, 0, bucket_ns=0)
    assert (view.kind, view.peer_class, view.remote_port) == ("epoll", "python-worker", 6000)
    assert view.epoll is not None and len(view.epoll.registrations) == 2
    fds.epoll_control(JVM, 40, EPOLL_CTL_DEL, 30, 150 * MS)
    assert _class_at(fds, JVM, 40, BUCKET) == "python-worker"  # deleted during this bucket
    assert _class_at(fds, JVM, 40, 2 * BUCKET) == "unknown"  # and gone in the next


def test_a_selector_closed_before_the_drain_keeps_its_peer() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.epoll_created(JVM, 40, 10 * MS)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 30, 11 * MS)
    fds.closed(JVM, 40, 60 * MS)
    fds.epoll_created(JVM, 40, 70 * MS)  # the next task's selector reuses the number
    assert fds.target(JVM, 40, 0, bucket_ns=0).peer_class == "python-worker"
    assert fds.target(JVM, 40, 1, bucket_ns=0).peer_class == "unknown"
    assert fds.unresolved == 0


def test_closing_a_registered_fd_ends_its_registration_unless_a_dup_holds_it() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.epoll_created(JVM, 40, 0)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 30, 1 * MS)
    fds.closed(JVM, 30, 50 * MS)
    assert _class_at(fds, JVM, 40, 0) == "python-worker"
    assert _class_at(fds, JVM, 40, BUCKET) == "unknown"
    # The kernel drops a registration when the file's last fd closes, not the first.
    tracker = ConnectionTracker(fds)
    fds.opened(JVM, 32, 2 * BUCKET, _worker_socket(7000))
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 32, 2 * BUCKET + MS)
    tracker.on_events(_events((records.FD_DUP, JVM, 33, 32, 0, 2 * BUCKET + 2 * MS)))
    fds.closed(JVM, 32, 2 * BUCKET + 3 * MS)
    view = fds.target(JVM, 40, 0, bucket_ns=5 * BUCKET)
    assert (view.peer_class, view.remote_port) == ("python-worker", 7000)


def test_dups_and_forked_children_share_the_instance() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.epoll_created(JVM, 40, 0)
    tracker = ConnectionTracker(fds)
    tracker.on_events(_events((records.FD_DUP, JVM, 41, 40, 0, MS)))
    fds.inherit(JVM, 11, 2 * MS)
    # Registered through one number after the dup and the fork: all three see it.
    fds.epoll_control(JVM, 41, EPOLL_CTL_ADD, 30, 3 * MS)
    for pid, fd in ((JVM, 40), (JVM, 41), (11, 40)):
        assert _class_at(fds, pid, fd, 0) == "python-worker", (pid, fd)


def test_events_are_applied_in_time_order() -> None:
    """Per-CPU buffers hand over an ADD before the epoll_create of another CPU."""
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    ConnectionTracker(fds).on_events(_events(
        (records.EPOLL_CTL, JVM, 30, 40, EPOLL_CTL_ADD, 2 * MS),
        (records.EPOLL_NEW, JVM, 40, 0, 0, 1 * MS)))
    assert _class_at(fds, JVM, 40, 0) == "python-worker"


def test_mixed_or_crowded_instances_wait_on_no_single_peer() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.opened(JVM, 31, 0, FdTarget(kind="socket", remote_addr="127.0.0.1", remote_port=7077,
                                    peer_class="shuffle"))
    fds.epoll_created(JVM, 40, 0)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 30, MS)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 31, MS)
    assert _class_at(fds, JVM, 40, 0) == "unknown"
    crowded = EpollInstance()
    for fd in range(MAX_REGISTRATIONS + 1):
        crowded.control(EPOLL_CTL_ADD, JVM, fd, 0, MS)
    assert crowded.overflowed and len(crowded.registrations) == MAX_REGISTRATIONS


def test_toggling_one_channel_keeps_one_registration() -> None:
    """A JDK selector DELs a channel whose interest drops to none and ADDs it back."""
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.epoll_created(JVM, 40, 0)
    for i in range(10 * MAX_REGISTRATIONS):
        fds.epoll_control(JVM, 40, EPOLL_CTL_ADD if i % 2 == 0 else EPOLL_CTL_DEL, 30,
                          (i + 1) * MS)
    view = fds.target(JVM, 40, 0, bucket_ns=0)
    assert view.epoll is not None and not view.epoll.overflowed
    assert len(view.epoll.registrations) == 1
    assert view.peer_class == "python-worker"


def test_old_registrations_are_pruned_and_exits_forgotten() -> None:
    fds = _resolver()
    fds.opened(JVM, 30, 0, _worker_socket())
    fds.opened(JVM, 31, 0, _worker_socket(7000))
    fds.epoll_created(JVM, 40, 0)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 30, MS)
    fds.epoll_control(JVM, 40, EPOLL_CTL_DEL, 30, 2 * MS)
    fds.epoll_control(JVM, 40, EPOLL_CTL_ADD, 31, 3 * MS)
    view = fds.target(JVM, 40, 0)
    assert view.epoll is not None and len(view.epoll.registrations) == 2
    fds.prune(before_ns=2 * BUCKET)
    assert len(view.epoll.registrations) == 1  # the live one stays
    fds.forget_process(JVM)
    assert fds.target(JVM, 40, 0).kind == "unresolved"


def _events(*rows: tuple[int, int, int, int, int, int]) -> np.ndarray:
    """sock_events records: (type, pid, fd, oldstate, newstate, ts)."""
    events = np.zeros(len(rows), dtype=records.SOCK_EVENT)
    for ev, (kind, pid, fd, old, new, ts) in zip(events, rows, strict=True):
        ev["type"], ev["pid"], ev["tid"], ev["fd"] = kind, pid, pid, fd
        ev["oldstate"], ev["newstate"], ev["ts"] = old, new, ts
    return events


def test_flags_and_event_numbers_match_the_bpf_side() -> None:
    import re

    from profiler.bpf_sources import read_bpf_source
    from profiler.capture.probes.syscall_table import FL_EPOLL_CTL, FL_EPOLL_NEW, syscall_flags

    net_io = frozenset({"net", "io"})
    assert syscall_flags("epoll_ctl", net_io, True) == FL_EPOLL_CTL
    assert syscall_flags("epoll_create1", net_io, True) == FL_EPOLL_NEW
    assert syscall_flags("epoll_create", net_io, True) == FL_EPOLL_NEW
    assert syscall_flags("epoll_ctl", frozenset({"io"}), True) == 0  # no waits counted
    header = read_bpf_source("common.h")
    syscalls_c = read_bpf_source("syscalls.c")
    assert re.search(rf"EPOLL_CTL_EV = {records.EPOLL_CTL}\b", header)
    assert re.search(rf"EPOLL_NEW = {records.EPOLL_NEW}\b", header)
    assert re.search(rf"#define FL_EPOLL_CTL {FL_EPOLL_CTL}\b", syscalls_c)
    assert re.search(rf"#define FL_EPOLL_NEW {FL_EPOLL_NEW}\b", syscalls_c)
    assert re.search(rf"#define EPOLL_CTL_MOD_ {EPOLL_CTL_MOD}\b", syscalls_c)
