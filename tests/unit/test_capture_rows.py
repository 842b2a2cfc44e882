"""Turning drained aggregates and events into table columns (no BPF needed)."""

from __future__ import annotations

import numpy as np

from profiler.capture.probes.jvmevents import GcPairer, dispatch_jvm_events
from profiler.capture.probes.net.fds import FdResolver, FdTarget
from profiler.capture.stream import records
from profiler.capture.stream.rows import fd_io_columns, offcpu_columns, syscall_columns


def _fdio(rows):
    keys = np.zeros(len(rows), dtype=records.FDIO_KEY)
    vals = np.zeros(len(rows), dtype=records.FDIO_VAL)
    for i, (fd, direction, calls, nbytes) in enumerate(rows):
        keys[i]["bucket"], keys[i]["pid"], keys[i]["tid"] = 100, 10, 11
        keys[i]["fd"], keys[i]["gen_dir"] = fd, direction
        vals[i]["calls"], vals[i]["bytes"], vals[i]["total_ns"] = calls, nbytes, calls * 100
        vals[i]["max_ns"] = 100
    return keys, vals


def test_fd_io_splits_sockets_files_and_pipes():
    targets = {
        3: FdTarget(kind="socket", local_addr="127.0.0.1", local_port=5000,
                    remote_addr="127.0.0.1", remote_port=6000, peer_class="py4j"),
        4: FdTarget(kind="file", path="/data/part-0"),
        5: FdTarget(kind="other", path="pipe:[1]"),
    }
    keys, vals = _fdio([(3, 1, 4, 400), (3, 0, 2, 50), (4, 0, 3, 300), (5, 1, 1, 1)])
    network, file_io = fd_io_columns(keys, vals, lambda pid, fd, gen, bucket: targets[fd])
    assert network is not None and file_io is not None
    assert network["bytes_sent"] == [400] and network["bytes_received"] == [50]
    assert network["send_calls"] == [4] and network["recv_calls"] == [2]
    assert network["peer_class"] == ["py4j"] and network["remote_port"] == [6000]
    assert file_io["path"] == ["/data/part-0"] and file_io["op"] == ["read"]
    assert file_io["bytes"] == [300]


def test_epoll_waits_on_one_peer_are_its_recv_time_without_bytes():
    targets = {
        7: FdTarget(kind="epoll", path="anon_inode:[eventpoll]", local_addr="127.0.0.1",
                    local_port=5000, remote_addr="127.0.0.1", remote_port=6000,
                    peer_class="python-worker"),
        8: FdTarget(kind="epoll", path="anon_inode:[eventpoll]"),  # mixed: no row
    }
    keys, vals = _fdio([(7, 0, 3, 2), (8, 0, 5, 1)])
    network, file_io = fd_io_columns(keys, vals, lambda pid, fd, gen, bucket: targets[fd])
    assert network is not None and file_io is None
    assert network["fd"] == [7] and network["peer_class"] == ["python-worker"]
    assert network["recv_calls"] == [3] and network["recv_ns"] == [300]
    assert network["bytes_received"] == [0] and network["send_ns"] == [0]
    assert network["remote_port"] == [6000]


def test_syscall_and_offcpu_columns():
    keys = np.zeros(1, dtype=records.SYS_KEY)
    vals = np.zeros(1, dtype=records.SYS_VAL)
    keys[0]["nr"], vals[0]["calls"] = 44, 3
    vals[0]["hist"][5] = 3
    cols = syscall_columns(keys, vals, {44: "sendto"})
    assert cols["syscall"] == ["sendto"] and cols["family"] == ["net"]
    assert cols["hist"].shape == (1, 32)
    okeys = np.zeros(2, dtype=records.OFFCPU_KEY)
    okeys["state"] = [0, 2]
    ocols = offcpu_columns(okeys, np.zeros(2, dtype=records.OFFCPU_VAL))
    assert ocols["state"] == ["sleeping", "preempted"]


def test_fd_generations_keep_reused_numbers_apart():
    resolver = FdResolver(lambda pid: None, lambda: [], set)
    resolver.opened(1, 7, 100, FdTarget(kind="file", path="/a"))
    resolver.closed(1, 7, 200)
    resolver.opened(1, 7, 300, FdTarget(kind="file", path="/b"))
    assert resolver.target(1, 7, 0).path == "/a"
    assert resolver.target(1, 7, 1).path == "/b"
    resolver.inherit(1, 2, 500)
    assert resolver.target(2, 7, 0).path == "/b"
    resolver.prune(before_ns=250)  # /a closed at 200: forgotten
    assert resolver.target(1, 7, 0).kind == "unresolved"
    assert resolver.unresolved == 1
    assert resolver.forget_process(1) == [7]


def test_fd_io_generation_splits_rows():
    keys, vals = _fdio([(3, 0 | (0 << 1), 1, 10), (3, 0 | (1 << 1), 1, 20)])
    targets = {0: FdTarget(kind="file", path="/a"), 1: FdTarget(kind="file", path="/b")}
    _, file_io = fd_io_columns(keys, vals, lambda pid, fd, gen, bucket: targets[gen])
    assert file_io is not None
    assert dict(zip(file_io["path"], file_io["bytes"], strict=True)) == {"/a": 10, "/b": 20}


def test_gc_pairing():
    events = np.zeros(5, dtype=records.JVM_EVENT)
    rows = [(records.JVM_GC_BEGIN, 10, b""), (records.JVM_POOL_BEGIN, 11, b"G1 Old Gen"),
            (records.JVM_POOL_END, 15, b"G1 Old Gen"), (records.JVM_GC_END, 20, b""),
            (records.JVM_GC_END, 30, b"")]
    for ev, (kind, ts, pool) in zip(events, rows, strict=True):
        ev["type"], ev["ts"], ev["pid"], ev["tid"], ev["s2"] = kind, ts, 9, 9, pool
    gc = GcPairer()
    dispatch_jvm_events(events, gc, lambda *a: None, lambda *a: None)
    cols = gc.take_columns()
    assert cols is not None
    assert cols["kind"] == ["mem_pool", "gc"]
    assert cols["duration_ns"] == [4, 10] and cols["pool"] == ["G1 Old Gen", None]
    assert gc.unmatched_ends == 1


def test_slow_syscall_rows_are_stamped_when_the_call_returned() -> None:
    from profiler.capture.probes.events import slow_syscall_columns
    from profiler.capture.stream.records import SLOW_EVENT
    from profiler.capture.symbols.stacks import NO_STACK

    events = np.zeros(2, dtype=SLOW_EVENT)
    events["ts"] = [1_000, 5_000]  # entry times, as the probe sends them
    events["dur"] = [2_000_000, 300]
    events["nr"] = 0
    events["ustack"] = NO_STACK
    columns = slow_syscall_columns(events, {0: "read"}, None)  # type: ignore[arg-type]
    assert columns["ts_ns"].tolist() == [2_001_000, 5_300]


def test_stack_column_converts_each_shared_stack_once_and_keeps_row_order() -> None:
    from profiler.capture.probes.events import stack_column

    hot = ["LZ4_compress [liblz4.so]", "java.lang.Thread.run [jit]"]
    idle = ["__futex_abstimed_wait_common [libc.so.6]"]
    rows = [hot, idle, list(hot), [], idle, hot]
    column = stack_column(rows)
    assert column.to_pylist() == [hot, idle, hot, [], idle, hot]
    assert stack_column([hot, idle, []]).to_pylist() == [hot, idle, []]  # none shared
    assert stack_column([]).to_pylist() == []
