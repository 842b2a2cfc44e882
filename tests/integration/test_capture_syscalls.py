"""Real eBPF capture of a deterministic C program: counts, bytes, peers, off-CPU time, a
forked child and the exit code must come out exactly as the program did them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import require

N_WRITES = 200
WRITE_SIZE = 1000
N_READS = 150
READ_SIZE = 512
CHILD_WRITES = 37
N_READS_B = 40  # from a second file that reuses the first one's fd number
SLEEP_MS = 300
DUP_WRITES = 25  # per dup'ed copy of the socket, in the forked child (as PySpark workers do)
EXIT_CODE = 7

# Statically linked so that the dynamic loader adds no syscalls of its own.
PROGRAM = r"""
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int port = atoi(argv[1]);
    const char *path = argv[2];
    char gate;
    if (read(0, &gate, 1) != 1) return 2;           /* wait until the test tracks us */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) != 0) return 3;
    char buf[WRITE_SIZE];
    memset(buf, 'x', sizeof(buf));
    for (int i = 0; i < N_WRITES; i++)
        if (send(s, buf, WRITE_SIZE, 0) != WRITE_SIZE) return 4;
    int f = open(path, O_RDONLY);
    char rbuf[READ_SIZE];
    for (int i = 0; i < N_READS; i++)
        if (pread(f, rbuf, READ_SIZE, (off_t)i * READ_SIZE) != READ_SIZE) return 5;
    close(f);
    int g = open(argv[3], O_RDONLY);               /* the same number again */
    if (g != f) return 6;
    for (int i = 0; i < N_READS_B; i++)
        if (read(g, rbuf, READ_SIZE) != READ_SIZE) return 7;
    struct timespec nap = {0, SLEEP_MS * 1000000L};
    nanosleep(&nap, NULL);
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        for (int i = 0; i < CHILD_WRITES; i++)
            write(null, buf, 10);
        /* An inherited socket written through dups that are closed long before the next
         * drain: os.dup is fcntl(F_DUPFD_CLOEXEC), the second copy reuses the number. */
        for (int k = 0; k < 2; k++) {
            int d = fcntl(s, F_DUPFD_CLOEXEC, 0);
            for (int i = 0; i < DUP_WRITES; i++)
                write(d, buf, WRITE_SIZE);
            close(d);
        }
        int e = dup2(s, 100);
        for (int i = 0; i < DUP_WRITES; i++)
            write(e, buf, WRITE_SIZE);
        close(e);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    close(s);
    return EXIT_CODE;
}
"""


def _compile(tmp: Path) -> Path:
    require(shutil.which("gcc") is not None, "gcc is needed to build the test program")
    source = tmp / "prog.c"
    source.write_text(PROGRAM)
    binary = tmp / "prog"
    defines = [f"-D{name}={value}" for name, value in (
        ("N_WRITES", N_WRITES), ("WRITE_SIZE", WRITE_SIZE), ("N_READS", N_READS),
        ("READ_SIZE", READ_SIZE), ("CHILD_WRITES", CHILD_WRITES), ("SLEEP_MS", SLEEP_MS),
        ("EXIT_CODE", EXIT_CODE), ("N_READS_B", N_READS_B), ("DUP_WRITES", DUP_WRITES))]
    subprocess.run(["gcc", "-static", "-O1", *defines, "-o", str(binary), str(source)],
                   check=True)
    return binary


class _Sink:
    """A loopback server that reads everything sent to it."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.received = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.received += len(chunk)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if os.geteuid() != 0:
        pytest.skip("needs root")  # the root marker fails this in CI
    from profiler.capture.options import CaptureOptions
    from profiler.capture.session import CaptureSession
    from profiler.rundir.writer import RunWriter

    tmp = tmp_path_factory.mktemp("capture")
    binary = _compile(tmp)
    data = tmp / "data.bin"
    data.write_bytes(os.urandom(N_READS * READ_SIZE))
    data_b = tmp / "data_b.bin"
    data_b.write_bytes(os.urandom(N_READS_B * READ_SIZE))
    run_dir = tmp / "run"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    fds_before = _fd_identities()
    session = CaptureSession(CaptureOptions(gc=False, jvm_threads=False), writer)
    session.start()
    # Opened while the capture runs and held past its end, like the writer's directory fd:
    # a double close anywhere in the capture would hit numbers like this one.
    sentinel = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
    sink = _Sink()
    proc = subprocess.Popen([str(binary), str(sink.port), str(data), str(data_b)],
                            stdin=subprocess.PIPE)
    try:
        session.track(proc.pid)
        assert proc.stdin is not None
        proc.stdin.write(b"g")
        proc.stdin.close()
        while proc.poll() is None:
            session.poll(50)
        report = session.stop()
        stopped_twice = session.stop() is report
    finally:
        proc.kill()
        proc.wait()
    sentinel_ok = _fd_identities().get(sentinel) == os.stat(tmp)[1:3]
    os.close(sentinel)
    sink.thread.join(5)
    sink.listener.close()
    fds_after = _fd_identities()
    writer.close("complete")
    tables = {name: pq.read_table(run_dir / name).to_pandas()
              for name in os.listdir(run_dir) if (run_dir / name).is_dir()}
    return {"pid": proc.pid, "exit": proc.returncode, "report": report, "tables": tables,
            "port": sink.port, "data": str(data), "data_b": str(data_b),
            "received": sink.received, "fds_before": fds_before, "fds_after": fds_after,
            "sentinel_ok": sentinel_ok, "stopped_twice": stopped_twice}


def _fd_identities() -> dict[int, tuple[int, int]]:
    """fd -> (inode, device) of this process's open fds."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            info = os.stat(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the listing's own fd
        found[int(name)] = (info.st_ino, info.st_dev)
    return found


pytestmark = [pytest.mark.root, pytest.mark.integration]


def test_socket_sends_counted_exactly(capture):
    pid, tables = capture["pid"], capture["tables"]
    assert capture["received"] == (N_WRITES + 3 * DUP_WRITES) * WRITE_SIZE
    sys = tables["syscalls"]
    sends = sys[(sys.pid == pid) & (sys.syscall == "sendto")]
    assert sends.calls.sum() == N_WRITES
    assert sends.bytes.sum() == N_WRITES * WRITE_SIZE
    assert (sends.family == "net").all()
    net = tables["network"]
    mine = net[net.pid == pid]
    assert mine.bytes_sent.sum() == N_WRITES * WRITE_SIZE
    assert mine.send_calls.sum() == N_WRITES
    assert set(mine.remote_port) == {capture["port"]}
    assert set(mine.remote_addr) == {"127.0.0.1"}


def test_file_reads_counted_exactly(capture):
    pid, tables = capture["pid"], capture["tables"]
    sys = tables["syscalls"]
    preads = sys[(sys.pid == pid) & (sys.syscall == "pread64")]
    assert preads.calls.sum() == N_READS
    assert preads.bytes.sum() == N_READS * READ_SIZE
    assert int(preads["hist"].map(sum).sum()) == N_READS
    files = tables["file_io"]
    reads = files[(files.pid == pid) & (files.path == capture["data"]) & (files.op == "read")]
    assert reads.calls.sum() == N_READS
    assert reads.bytes.sum() == N_READS * READ_SIZE


def test_reused_fd_number_keeps_files_apart(capture):
    files = capture["tables"]["file_io"]
    reads = files[(files.pid == capture["pid"]) & (files.op == "read")]
    by_path = reads.groupby("path")[["calls", "bytes"]].sum()
    assert by_path.loc[capture["data_b"]].tolist() == [N_READS_B, N_READS_B * READ_SIZE]
    assert by_path.loc[capture["data"]].tolist() == [N_READS, N_READS * READ_SIZE]


def test_sleep_shows_as_off_cpu(capture):
    offcpu = capture["tables"]["offcpu"]
    sleeping = offcpu[(offcpu.pid == capture["pid"]) & (offcpu.state == "sleeping")]
    seconds = sleeping.total_ns.sum() / 1e9
    assert SLEEP_MS / 1000 * 0.95 <= seconds <= SLEEP_MS / 1000 + 0.5
    blocks = capture["tables"]["offcpu_blocks"]
    long_blocks = blocks[(blocks.pid == capture["pid"]) & (blocks.duration_ns >= 0.25e9)]
    assert len(long_blocks) >= 1
    assert any("nanosleep" in frame for stack in long_blocks.kernel_stack for frame in stack)


def test_forked_child_is_tracked(capture):
    procs = capture["tables"]["processes"]
    children = procs[procs.ppid == capture["pid"]]
    assert len(set(children.pid)) == 1
    child = int(children.pid.iloc[0])
    sys = capture["tables"]["syscalls"]
    writes = sys[(sys.pid == child) & (sys.syscall == "write")]
    assert writes.calls.sum() == CHILD_WRITES + 3 * DUP_WRITES
    files = capture["tables"]["file_io"]
    null = files[(files.pid == child) & (files.path == "/dev/null")]
    assert null.calls.sum() == CHILD_WRITES


def test_writes_through_dups_of_an_inherited_socket_are_network_rows(capture):
    procs = capture["tables"]["processes"]
    child = int(procs[procs.ppid == capture["pid"]].pid.iloc[0])
    net = capture["tables"]["network"]
    mine = net[net.pid == child]
    assert mine.send_calls.sum() == 3 * DUP_WRITES
    assert mine.bytes_sent.sum() == 3 * DUP_WRITES * WRITE_SIZE
    assert set(mine.remote_port) == {capture["port"]}


def test_exit_code_and_no_losses(capture):
    assert capture["exit"] == EXIT_CODE
    procs = capture["tables"]["processes"].drop_duplicates("pid", keep="last")
    root = procs[procs.pid == capture["pid"]].iloc[0]
    assert int(root.exit_code) == EXIT_CODE
    report = capture["report"]
    assert set(report.lost_events.values()) == {0}
    assert "raw_tracepoint:sys_enter" in report.probes_attached
    assert report.probes_failed == {}
    assert report.self_cost.profiled_cpu_ns > 0


def test_capture_closes_only_its_own_fds(capture):
    # The capture once closed an fd number twice, taking the run directory's fd with it.
    assert capture["sentinel_ok"]
    before, after = capture["fds_before"], capture["fds_after"]
    kept = {fd: ident for fd, ident in before.items() if fd in after}
    assert set(kept) == set(before)  # every fd we had before is still open...
    assert kept == {fd: after[fd] for fd in kept}  # ...and still the same file
    assert set(after) - set(before) == set()  # and stop() released all of the capture's
    assert capture["stopped_twice"]


def test_connection_lifecycle(capture):
    conns = capture["tables"]["connections"]
    mine = conns[conns.pid == capture["pid"]]
    assert "connect" in set(mine.event)
    connect = mine[mine.event == "connect"].iloc[0]
    assert connect.remote_port == capture["port"]
    assert "close" in set(mine.event)
