"""`sparkprof record` as a subprocess, without Spark: bad input, a deterministic socket
writer whose syscalls and bytes are known exactly, and the user switch."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import profiler
from tests.integration.record_helpers import (
    NOBODY,
    PROGRAMS,
    PYTHON,
    SPARKPROF,
    byte_counting_server,
    owners,
    record_env,
    shared_workdir,
)

pytestmark = [pytest.mark.root, pytest.mark.integration]

WRITES, WRITE_SIZE = 200, 1000


def run_record(args: list[str], cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SPARKPROF, "record", *args], cwd=cwd, env=env or record_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_bad_input_exit_codes() -> None:
    with shared_workdir() as work:
        as_nobody = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SPARKPROF,
             "record", "--", "true"], cwd=work, env=record_env(), capture_output=True,
            text=True, timeout=60, check=False)
        assert as_nobody.returncode == 2, as_nobody.stderr
        assert "sudo" in as_nobody.stderr and "Traceback" not in as_nobody.stderr
        assert len(as_nobody.stderr.strip().splitlines()) <= 2

        unknown = run_record(["-o", "run", "--", "no-such-command-sparkprof"], work)
        assert unknown.returncode == 127, unknown.stderr
        assert "command not found" in unknown.stderr
        assert not (work / "run").exists()

        (work / "taken").mkdir()
        (work / "taken" / "file").write_text("x")
        existing = run_record(["-o", "taken", "--", "true"], work)
        assert existing.returncode == 2, existing.stderr
        assert "exists" in existing.stderr and "--force" in existing.stderr

        no_parent = run_record(["-o", "missing/run", "--", "touch", "started"], work)
        assert no_parent.returncode == 2, no_parent.stderr
        assert not (work / "started").exists()

        printed = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SPARKPROF,
             "record", "--print-bpf", "--syscalls=all"], cwd=work, env=record_env(),
            capture_output=True, text=True, timeout=60, check=False)
        assert printed.returncode == 0, printed.stderr
        assert "TRACEPOINT_PROBE" in printed.stdout or "SEC(" in printed.stdout \
            or "int " in printed.stdout


def test_socket_writer_counts_are_exact_and_run_is_owned_by_the_user() -> None:
    with shared_workdir() as work, byte_counting_server() as server:
        result = run_record(
            ["-o", "run", "--syscalls=all", "--", PYTHON, str(PROGRAMS / "socket_writer.py"),
             str(server.port), str(WRITES), str(WRITE_SIZE)],
            work, record_env(NOBODY))
        assert result.returncode == 0, result.stderr
        assert server.received == [WRITES * WRITE_SIZE]
        run = work / "run"
        assert owners(run) == {(65534, 65534)}
        profile = profiler.load(run)
        assert profile.meta["status"] == "complete"
        assert profile.meta["exit_code"] == 0
        assert sum(profile.meta["lost_events"].values()) == 0
        processes = profile.processes
        writer_pids = set(processes.loc[processes["cmdline"].str.contains("socket_writer.py"),
                                        "pid"])
        assert len(writer_pids) == 1
        (pid,) = writer_pids
        network = profile.network
        mine = network[(network["pid"] == pid) & (network["remote_port"] == server.port)]
        assert mine["bytes_sent"].sum() == WRITES * WRITE_SIZE
        assert mine["send_calls"].sum() == WRITES
        syscalls = profile.syscalls
        sends = syscalls[(syscalls["pid"] == pid) & (syscalls["syscall"] == "sendto")]
        assert sends["calls"].sum() == WRITES
        assert sends["bytes"].sum() == WRITES * WRITE_SIZE


BUSY_LOOP = """
import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
end = time.time() + 60
while time.time() < end:
    for _ in range(200):
        os.stat("/")
    time.sleep(0.001)
"""


def test_disk_full_stops_the_command_and_keeps_what_was_written() -> None:
    with shared_workdir() as work:
        small = work / "small"
        small.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                       check=True)
        try:
            pid_file = work / "pid"
            result = run_record(["-o", str(small / "run"), "--", PYTHON, "-c", BUSY_LOOP,
                                 str(pid_file)], work, timeout=60)
            assert result.returncode == 2, result.stderr
            assert "No space left on device" in result.stderr
            assert "Traceback" not in result.stderr
            with pytest.raises(ProcessLookupError):  # the command was stopped
                os.kill(int(pid_file.read_text()), 0)
            profile = profiler.load(small / "run")  # what was flushed before stays readable
            assert not profile.processes.empty
        finally:
            subprocess.run(["umount", "-l", str(small)], check=False)


def test_attach_to_a_running_process_for_a_duration() -> None:
    with shared_workdir() as work:
        pid_file = work / "pid"
        busy = subprocess.Popen([PYTHON, "-c", BUSY_LOOP, str(pid_file)])
        try:
            while not pid_file.exists() or not pid_file.read_text():
                time.sleep(0.05)
            began = time.monotonic()
            result = run_record(["-o", "run", "--pid", str(busy.pid), "--duration", "2"], work)
            assert result.returncode == 0, result.stderr
            assert time.monotonic() - began < 60
            profile = profiler.load(work / "run")
            assert profile.meta["status"] == "complete"
            assert profile.meta["attached_pids"] == [busy.pid]
            assert busy.pid in set(profile.processes["pid"])
            assert busy.poll() is None  # attaching leaves the process alone
        finally:
            busy.kill()
            busy.wait()


JDK17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
OTHER_JDK = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
SLEEPER = "class Sleeper { public static void main(String[] a) throws Exception { " \
          "Thread.sleep(2500); } }\n"


def test_a_jvm_of_another_jdk_is_reported() -> None:
    # The HotSpot probes go on JAVA_HOME's libjvm.so; a JVM of another JDK fires none of
    # them, so the run must say its GC and thread rows are missing.
    if not (JDK17 / "lib/server/libjvm.so").exists() or not (OTHER_JDK / "bin/java").exists():
        pytest.skip("needs two JDKs (Debian's 17 and Temurin 25, as on the project's hosts)")
    with shared_workdir() as work:
        (work / "Sleeper.java").write_text(SLEEPER)
        env = record_env({"JAVA_HOME": str(JDK17)})
        done = run_record(["-o", "run", "--syscalls", "none", "--no-offcpu",
                           "--no-net-lifecycle", "--", str(OTHER_JDK / "bin/java"),
                           "Sleeper.java"], work, env)
        assert done.returncode == 0, done.stderr
        notices = profiler.load(work / "run").meta["notices"]
        mismatch = [n for n in notices if str(OTHER_JDK / "lib/server/libjvm.so") in n]
        assert len(mismatch) == 1, notices
        assert str(JDK17) in mismatch[0]
        assert "note: JVM pid" in done.stderr
