"""Pure parts of the capture: record layouts, /proc parsing, peer classes, histogram slots,
syscall flags and the merge of drained aggregates."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from profiler.capture import procfs
from profiler.capture.options import CaptureOptions, parse_syscall_families
from profiler.capture.probes.net.peers import classify_peer, driver_rpc_port
from profiler.capture.probes.syscall_table import (
    FL_CLOSE,
    FL_CONNECT,
    FL_EXIT,
    FL_FD_READ,
    FL_FD_WAIT,
    FL_FD_WRITE,
    FL_OPENAT,
    build_flag_table,
    syscall_flags,
)
from profiler.capture.stream import records
from profiler.capture.stream.mapdrain import PendingRows, merge_rows


def test_record_sizes_match_the_c_structs():
    # Sizes of the structs in bpf/common.h, bpf/syscalls.c and bpf/sched.c.
    assert records.PROC_EVENT.itemsize == 176
    assert records.SOCK_EVENT.itemsize == 248
    assert records.SLOW_EVENT.itemsize == 48
    assert records.BLOCK_EVENT.itemsize == 40
    assert records.JVM_EVENT.itemsize == 168
    assert records.SYS_KEY.itemsize == 24 and records.SYS_VAL.itemsize == 168
    assert records.FDIO_KEY.itemsize == 24 and records.FDIO_VAL.itemsize == 32
    assert records.OFFCPU_KEY.itemsize == 24 and records.OFFCPU_VAL.itemsize == 24


def test_parse_slow_events_from_packed_bytes():
    raw = b"".join(struct.pack("<QQqIIiIiI", 1000 + i, 5_000_000, -11, 42, 43, 7, 1, i, 0)
                   for i in range(3))
    events = records.parse(bytearray(raw), records.SLOW_EVENT)
    assert list(events["ts"]) == [1000, 1001, 1002]
    assert list(events["ret"]) == [-11] * 3
    assert list(events["ustack"]) == [0, 1, 2]
    with pytest.raises(ValueError):
        records.parse(raw[:-1], records.SLOW_EVENT)


def test_cstr_cuts_at_length_or_nul():
    assert records.cstr(b"Reference Handler\0junk") == "Reference Handler"
    assert records.cstr(b"G1 Old Genjunk", 9) == "G1 Old Ge"
    assert records.cstr(b"name\0xx", 0) == "name"  # a length of 0 is not believed


@pytest.mark.parametrize(("ns", "slot"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3),
                                          (1023, 10), (1024, 11), (2**40, 31)])
def test_hist_slot_matches_bcc_log2l(ns, slot):
    assert records.hist_slot(ns) == slot


TCP_TEXT = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5551 1
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 5552 1
"""
TCP6_TEXT = (
    "  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt uid "
    "timeout inode\n"
    "   0: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:C350 01 "
    "0:0 0:0 0 0 0 777 1\n"
    "   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A "
    "0:0 0:0 0 0 0 778 1\n"
)


def test_parse_proc_net_tcp_v4():
    listen, conn = procfs.parse_proc_net_tcp(TCP_TEXT)
    assert (listen.local_addr, listen.local_port, listen.state, listen.inode) == (
        "127.0.0.1", 8080, 10, 5551)
    assert (conn.local_port, conn.remote_addr, conn.remote_port) == (54321, "127.0.0.1", 8080)


def test_parse_proc_net_tcp_v6_and_mapped_v4():
    mapped, loopback6 = procfs.parse_proc_net_tcp(TCP6_TEXT)
    assert (mapped.local_addr, mapped.local_port, mapped.remote_port) == ("127.0.0.1", 80,
                                                                          50000)
    assert loopback6.local_addr == "::1" and loopback6.local_port == 8081


def test_socket_inode_and_cmdline_and_stat():
    assert procfs.socket_inode("socket:[12345]") == 12345
    assert procfs.socket_inode("/tmp/x") is None
    assert procfs.split_cmdline(b"java\0-cp\0a b\0") == ["java", "-cp", "a b"]
    stat = "42 (my (odd) name) S 7 " + " ".join(["0"] * 17) + " 999 0"
    assert procfs.parse_stat_start_ticks(stat) == (7, 999)
    assert procfs.descendants_in(1, {2: 1, 3: 2, 4: 9, 5: 1}) == [2, 5, 3]


@pytest.mark.parametrize(("local", "remote", "ports", "is_local", "expected"), [
    ("python-driver", "driver-jvm", (5000, 25333), True, "py4j"),
    ("driver-jvm", "python-driver", (25333, 5000), True, "py4j"),
    ("python-worker", "executor-jvm", (5000, 40000), True, "python-worker"),
    ("driver-jvm", "pyspark-daemon", (40000, 5000), True, "python-worker"),
    ("executor-jvm", "driver-jvm", (5000, 7077), True, "driver-rpc"),
    ("executor-jvm", "executor-jvm", (5000, 6000), True, "shuffle"),
    ("executor-jvm", None, (5000, 6000), True, "unknown"),
    ("python-driver", "python-worker", (5000, 6000), True, "unknown"),
    ("executor-jvm", None, (5000, 443), False, "external"),
])
def test_classify_peer(local, remote, ports, is_local, expected):
    assert classify_peer(local, remote, ports[0], ports[1], is_local, {7077}) == expected


def test_driver_rpc_port_from_executor_cmdline():
    cmd = ["java", "org.apache.spark.executor.CoarseGrainedExecutorBackend", "--driver-url",
           "spark://CoarseGrainedScheduler@10.0.0.5:37251", "--executor-id", "1"]
    assert driver_rpc_port(cmd) == 37251
    assert driver_rpc_port(["java", "-version"]) is None


def test_syscall_flags():
    net_io = frozenset({"net", "io"})
    assert syscall_flags("sendto", net_io, True) == 1 | FL_FD_WRITE
    assert syscall_flags("read", net_io, True) == 2 | FL_FD_READ
    assert syscall_flags("openat", net_io, False) == 2 | FL_OPENAT
    assert syscall_flags("close", net_io, True) == 2 | FL_CLOSE
    assert syscall_flags("connect", frozenset(), True) == FL_CONNECT
    assert syscall_flags("futex", net_io, False) == 0
    assert syscall_flags("futex", frozenset({"other"}), False) == 3
    assert syscall_flags("exit_group", frozenset(), False) == FL_EXIT
    table = build_flag_table({0: "read", 202: "futex", 9999: "read"}, net_io, True)
    assert table == {0: 2 | FL_FD_READ}
    assert syscall_flags("epoll_wait", net_io, True) & FL_FD_WAIT
    assert not syscall_flags("epoll_wait", frozenset({"io"}), True) & FL_FD_WAIT


def test_metadata_calls_only_with_the_other_family():
    # Never waits on a device: not worth ~1.7 us of BPF time per call by default.
    for name in ("lseek", "newfstatat", "fstat", "statx", "mmap", "munmap"):
        assert syscall_flags(name, frozenset({"net", "io"}), True) == 0
        assert syscall_flags(name, frozenset({"net", "io", "other"}), True) == 3
    assert syscall_flags("fsync", frozenset({"io"}), False) == 2


def test_options_families():
    assert parse_syscall_families("all") == frozenset({"net", "io", "other"})
    assert parse_syscall_families("net") == frozenset({"net"})
    assert parse_syscall_families("none") == frozenset()
    assert CaptureOptions(syscalls=frozenset({"all"})).syscalls == {"net", "io", "other"}
    with pytest.raises(ValueError):
        CaptureOptions(syscalls=frozenset({"disk"}))
    assert CaptureOptions(bucket_ms=50).bucket_ns == 50_000_000


def _sys_rows(rows):
    keys = np.zeros(len(rows), dtype=records.SYS_KEY)
    vals = np.zeros(len(rows), dtype=records.SYS_VAL)
    for i, (bucket, tid, calls, max_ns, slot) in enumerate(rows):
        keys[i]["bucket"], keys[i]["pid"], keys[i]["tid"], keys[i]["nr"] = bucket, 1, tid, 0
        vals[i]["calls"], vals[i]["total_ns"], vals[i]["max_ns"] = calls, calls * 10, max_ns
        vals[i]["hist"][slot] = calls
    return keys, vals


def test_merge_rows_sums_and_maxes():
    keys, vals = _sys_rows([(0, 5, 2, 30, 3), (0, 5, 3, 10, 4), (100, 5, 1, 7, 3)])
    mkeys, mvals = merge_rows(keys, vals)
    assert len(mkeys) == 2
    first = mvals[mkeys["bucket"] == 0][0]
    assert first["calls"] == 5 and first["total_ns"] == 50 and first["max_ns"] == 30
    assert first["hist"][3] == 2 and first["hist"][4] == 3


def test_pending_rows_hold_back_recent_buckets():
    pending = PendingRows(bucket_ns=100)
    keys, vals = _sys_rows([(0, 1, 1, 1, 1), (100, 1, 2, 2, 1)])
    done_keys, _ = pending.add(keys, vals, final_before_ns=150)
    assert list(done_keys["bucket"]) == [0]  # bucket 100 ends at 200, still open
    keys, vals = _sys_rows([(100, 1, 5, 9, 1)])
    done_keys, done_vals = pending.add(keys, vals, final_before_ns=400)
    assert list(done_keys["bucket"]) == [100]
    assert done_vals[0]["calls"] == 7 and done_vals[0]["max_ns"] == 9


def _sample(ts: int) -> bytes:
    event = struct.pack("<QQIIIiiI", ts, 7, 1, 2, 3, -1, -1, 0)  # a BLOCK_EVENT, 40 bytes
    body = struct.pack("<I", len(event) + 4) + event + b"\0" * 4
    return struct.pack("<IHH", 9, 0, 8 + len(body)) + body


def test_ring_records_fast_path():
    from profiler.capture.stream.perfring import parse_records, record_size

    assert record_size(records.BLOCK_EVENT.itemsize) == 56
    raw = b"".join(_sample(ts) for ts in (5, 6, 7))
    events, lost = parse_records(raw, records.BLOCK_EVENT)
    assert lost == 0
    assert list(events["start"]) == [5, 6, 7] and list(events["kstack"]) == [-1] * 3


def test_ring_records_with_a_lost_notice():
    from profiler.capture.stream.perfring import parse_records

    lost_record = struct.pack("<IHHQQ", 2, 0, 24, 0, 1234)
    raw = _sample(1) + lost_record + _sample(2)
    events, lost = parse_records(raw, records.BLOCK_EVENT)
    assert lost == 1234
    assert list(events["start"]) == [1, 2]
