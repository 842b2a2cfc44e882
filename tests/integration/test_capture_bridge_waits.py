"""Real eBPF capture of the Python bridge's two hard cases, on small programs:

- a selector created, waited on and closed between two drains (epoll_bridge.py): its waits
  must be network time on the registered socket's peer, not "other" (the fd is gone from
  /proc by the drain, so only the epoll_create/epoll_ctl events can say what it waited on);
- a Unix socket pair (unix_pair.py): exact byte counts, peer class from the other end.

Process roles come from Spark command lines, which these programs do not have: the test
gives the waiting parent the executor JVM's role and its forked peer the Python worker's,
as the capture's process table would for a real Spark job. Everything else is real.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.integration.record_helpers import PROGRAMS

pytestmark = [pytest.mark.root, pytest.mark.integration]

WAITS, DELAY_MS = 6, 40
TOTAL, CHUNK, HOLD_S = 300_000, 7_000, 2.5


def _run_with_roles(session: Any, args: list[str]) -> tuple[int, int, str]:
    """Run a program under ``session``: track it, start it, give it and its forked child
    the bridge's roles, let it finish. (pid, exit code, stdout)."""
    proc = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        session.track(proc.pid)
        proc.stdin.write(b"g")
        proc.stdin.flush()
        table = session.processes.processes
        deadline = time.monotonic() + 20
        while not any(p.ppid == proc.pid for p in table.values()):
            assert time.monotonic() < deadline, "the fork was not seen"
            session.poll(20)
        table[proc.pid].role = "executor-jvm"
        for info in table.values():
            if info.ppid == proc.pid:
                info.role = "python-worker"
        proc.stdin.write(b"g")
        proc.stdin.close()
        while proc.poll() is None:
            session.poll(20)
        return proc.pid, proc.returncode, proc.stdout.read().decode()
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if os.geteuid() != 0:
        pytest.skip("needs root")  # the root marker fails this in CI
    from profiler.capture.options import CaptureOptions
    from profiler.capture.session import CaptureSession
    from profiler.rundir.writer import RunWriter

    run_dir = tmp_path_factory.mktemp("bridge") / "run"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    options = CaptureOptions(gc=False, jvm_threads=False, sample=False, jni=False,
                             offcpu_stacks=False, slow_syscall_stacks=False)
    session = CaptureSession(options, writer)
    session.start()
    try:
        epoll = _run_with_roles(session, [str(PROGRAMS / "epoll_bridge.py"), str(WAITS),
                                          str(DELAY_MS)])
        unix = _run_with_roles(session, [str(PROGRAMS / "unix_pair.py"), str(TOTAL),
                                         str(CHUNK), str(HOLD_S)])
        for _ in range(3):  # drain what is still pending about them
            session.poll(int(options.drain_interval_s * 400))
    finally:
        session.stop()
        writer.close("complete")
    network = pq.read_table(run_dir / "network").to_pandas()
    yield {"epoll": epoll, "unix": unix, "network": network}


def test_a_short_lived_selector_waits_on_its_peer(captured: dict[str, Any]) -> None:
    pid, code, out = captured["epoll"]
    assert code == 0
    port, epfd = (int(word) for word in out.split())
    net = captured["network"]
    rows = net[(net.pid == pid) & (net.fd == epfd)]
    assert len(rows), net[net.pid == pid]
    assert set(rows.peer_class) == {"python-worker"}
    assert set(rows.remote_port) == {port}
    assert rows.bytes_received.sum() == 0 and rows.bytes_sent.sum() == 0
    waited_ms = rows.recv_ns.sum() / 1e6
    # Each wait lasts the peer's delay (plus scheduling): all of it, and not twice over.
    assert 0.9 * WAITS * DELAY_MS <= waited_ms <= 3 * WAITS * DELAY_MS, waited_ms
    assert rows.recv_calls.sum() >= WAITS


def test_a_unix_socket_pair_has_exact_bytes_and_a_peer_class(
        captured: dict[str, Any]) -> None:
    pid, code, _ = captured["unix"]
    assert code == 0
    net = captured["network"]
    unix = net[net.remote_port.eq(0) & net.local_addr.eq("")]
    parent, child = unix[unix.pid == pid], unix[unix.pid != pid]
    assert parent.bytes_received.sum() == TOTAL, parent
    assert parent.bytes_sent.sum() == 2
    assert child.bytes_sent.sum() == TOTAL and child.bytes_received.sum() == 2, child
    assert set(unix.peer_class) == {"python-worker"}
