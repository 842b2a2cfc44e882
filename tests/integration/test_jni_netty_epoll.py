"""Netty's native epoll transport registers its natives by hand (no ``Java_*`` symbols):
``sparkprof record`` must still trace them, named by Java class and method. A local[2] PySpark
driver serves RPC through epoll (``spark.rpc.io.mode=EPOLL``) and the job opens a known number
of connections to it: each is one accept and at least one read in the driver JVM. (Spark 4.3's
default ``spark.io.mode.default=AUTO`` picks epoll on Linux already; the job sets it anyway.)"""

from __future__ import annotations

import re

import pytest

import profiler
from tests.integration.record_helpers import (
    PROGRAMS,
    PYTHON,
    record_env,
    shared_workdir,
    start_record,
)

pytestmark = [pytest.mark.root, pytest.mark.spark, pytest.mark.integration]

CONNECTIONS = 20
EPOLL = "io.netty.channel.epoll."
UNIX = "io.netty.channel.unix."


def test_netty_epoll_natives_are_traced() -> None:
    with shared_workdir() as work:
        args = ["-o", "run", "--no-sample", "--",
                PYTHON, str(PROGRAMS / "netty_epoll_job.py"),
                "--connections", str(CONNECTIONS)]
        recorder = start_record(args, work, record_env())
        stdout, stderr = recorder.communicate(timeout=300)
        assert recorder.returncode == 0, stderr
        printed = re.search(r"jvm_pid=(\d+) netty_epoll_mapped=(\w+)", stdout)
        assert printed and printed.group(2) == "True", stdout
        jvm_pid = int(printed.group(1))
        profile = profiler.load(work / "run")
        jni = profile.jni
        netty = jni[jni["library"].str.contains("libnetty_transport_native_epoll")]
        calls = netty.groupby(["class_name", "method"])["calls"].sum()
        assert set(netty["pid"]) == {jvm_pid}, calls
        waits = sum(int(calls.get((EPOLL + "Native", m), 0))
                    for m in ("epollWait", "epollWait0", "epollBusyWait0"))
        assert waits > 0, calls
        # the server accepts in a loop until EAGAIN: at least one call per connection
        assert int(calls.get((UNIX + "Socket", "accept"), 0)) >= CONNECTIONS, calls
        # each connection's bytes and its end are read (Netty 4.2: Socket.recvAddress)
        reads = sum(int(c) for (cls, m), c in calls.items()
                    if (cls, m[:4]) in ((UNIX + "FileDescriptor", "read"),
                                        (UNIX + "Socket", "recv")))
        assert reads >= CONNECTIONS, calls
        assert int(netty["total_ns"].sum()) > 0
        assert (netty["symbol"].str.startswith("netty_")).all()
        meta = profile.meta["jni"]
        attached = {lib: n for lib, n in meta["libraries"].items()
                    if lib.startswith("libnetty_transport_native_epoll")}
        assert attached and max(attached.values()) >= 20, meta["libraries"]
        assert meta["unknown_address_calls"] == 0
