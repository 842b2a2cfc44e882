"""`sparkprof record` on real PySpark jobs (local[2]) whose effects the test knows exactly.

Two recordings (each ~20-30 s here), several checks each:
- ``python job.py`` as the unprivileged user ``nobody`` (through SUDO_UID/SUDO_GID): exit
  status passes through, bytes a Python worker sends to the test's server are in
  ``network``, forced GCs are in ``gc``, roles, the event log in DIR/eventlog, no lost
  events, every file owned by the user.
- ``spark-submit job.py`` interrupted by SIGINT to sparkprof during a stage: the command is
  interrupted, the run directory is finalized and loads.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import profiler
from profiler.profile import Profile
from tests.conftest import VENV_BIN
from tests.integration.record_helpers import (
    NOBODY,
    PROGRAMS,
    PYTHON,
    byte_counting_server,
    owners,
    record_env,
    shared_workdir,
    start_record,
)

pytestmark = [pytest.mark.root, pytest.mark.spark, pytest.mark.integration]

JOB = str(PROGRAMS / "truth_job.py")
SENT_BYTES = 123_457
FORCED_GCS = 4
JOB_EXIT = 3


def pids_with_role(profile: Profile, role: str) -> set[int]:
    processes = profile.processes
    return {int(pid) for pid in processes.loc[processes["role"] == role, "pid"]}


def roles_table(profile: Profile) -> str:
    """The processes as pid/ppid/role/cmdline lines, for assertion messages."""
    rows = profile.processes[["pid", "ppid", "role", "cmdline"]]
    return "\n".join(f"{r.pid} {r.ppid} {r.role} {str(r.cmdline)[:120]}"
                     for r in rows.itertuples())


def check_worker_bytes(profile: Profile, port: int) -> None:
    network = profile.network
    to_server = network[network["remote_port"] == port]
    assert to_server["bytes_sent"].sum() == SENT_BYTES
    assert set(to_server["pid"]) <= pids_with_role(profile, "python-worker")


def check_worker_socket_time(profile: Profile) -> None:
    """A worker's reads on its (dup'ed) socket to the JVM are in ``network`` with their
    time: every slow read on such an fd is inside that fd's ``recv_ns``."""
    network, slow = profile.network, profile.slow_syscalls
    bridge = network[(network["peer_class"] == "python-worker")
                     & network["pid"].isin(pids_with_role(profile, "python-worker"))]
    assert len(bridge), "no python-worker rows from the workers' side"
    recv_ns = bridge.groupby(["pid", "fd"])["recv_ns"].sum()
    reads = slow[(slow["syscall"] == "read") & (slow["ret"] >= 0)]
    waited = reads.groupby(["pid", "fd"])["duration_ns"].sum()
    waited = waited[waited.index.isin(recv_ns.index)]
    assert len(waited), "the workers never waited on the JVM"
    assert (recv_ns.reindex(waited.index) >= waited).all(), (recv_ns, waited)


def check_driver_threads(profile: Profile, driver: int) -> None:
    """Local mode runs tasks in the driver JVM: its task threads must be task-runners, and
    Java names (thread__start) must be longer than a 15-byte comm."""
    threads = profile.threads
    mine = threads[threads["pid"] == driver]
    listing = mine[["tid", "name", "role"]].to_string()
    assert (mine["role"] == "task-runner").any(), listing
    assert (mine["name"].str.len() > 15).any(), listing
    assert (mine["role"] == "gc").any(), listing


def check_eventlog(profile: Profile, run: Path) -> None:
    eventlog_meta = profile.meta["eventlog"]
    assert eventlog_meta["path"].startswith("eventlog/")
    assert eventlog_meta["copied"] is False
    assert (run / eventlog_meta["path"]).exists()
    assert profile.eventlog is not None


def test_python_job_as_the_invoking_user() -> None:
    with shared_workdir() as work, byte_counting_server() as server:
        args = ["-o", "run", "--", PYTHON, JOB, "--port", str(server.port),
                "--bytes", str(SENT_BYTES), "--gcs", str(FORCED_GCS),
                "--exit-code", str(JOB_EXIT)]
        recorder = start_record(args, work, record_env(NOBODY))
        _, stderr = recorder.communicate(timeout=240)
        assert recorder.returncode == JOB_EXIT, stderr
        assert server.received == [SENT_BYTES]
        run = work / "run"
        assert owners(run) == {(65534, 65534)}
        profile = profiler.load(run)
        meta = profile.meta
        assert meta["status"] == "complete"
        assert meta["exit_code"] == JOB_EXIT
        assert meta["uid"] == 65534
        assert sum(meta["lost_events"].values()) == 0, meta["lost_events"]
        drivers = pids_with_role(profile, "driver-jvm")
        assert len(drivers) == 1, roles_table(profile)
        (driver,) = drivers
        assert pids_with_role(profile, "python-driver"), roles_table(profile)
        assert pids_with_role(profile, "pyspark-daemon"), roles_table(profile)
        check_worker_bytes(profile, server.port)
        check_worker_socket_time(profile)
        gc = profile.gc
        assert (gc["pid"] == driver).sum() >= FORCED_GCS
        assert "gc_end_without_begin" not in meta["unmatched"], meta["unmatched"]
        check_driver_threads(profile, driver)
        check_eventlog(profile, run)
        driver_cmdline = profile.processes.loc[profile.processes["pid"] == driver,
                                               "cmdline"].iloc[-1]
        assert "-XX:+PreserveFramePointer" in driver_cmdline


def test_spark_submit_interrupted_by_ctrl_c() -> None:
    with shared_workdir() as work, byte_counting_server() as server:
        marker = work / "running"
        args = ["-o", "run", "--", str(VENV_BIN / "spark-submit"), "--master", "local[2]", JOB,
                "--port", str(server.port), "--bytes", str(SENT_BYTES),
                "--marker", str(marker), "--hold", "60"]
        began = time.monotonic()
        recorder = start_record(args, work, record_env())
        while not marker.exists():
            assert recorder.poll() is None, recorder.communicate()[1]
            assert time.monotonic() - began < 180, "the job never reached its holding stage"
            time.sleep(0.2)
        time.sleep(1.0)
        os.kill(recorder.pid, signal.SIGINT)
        _, stderr = recorder.communicate(timeout=120)
        assert time.monotonic() - began < 120  # the 60 s hold was cut short
        assert recorder.returncode != 0, stderr
        assert "Traceback (most recent call last)" not in stderr.split("sparkprof:")[-1]
        run = work / "run"
        profile = profiler.load(run)
        meta = profile.meta
        assert meta["status"] == "complete"
        assert meta["exit_code"] == recorder.returncode
        assert len(pids_with_role(profile, "driver-jvm")) == 1, roles_table(profile)
        assert pids_with_role(profile, "python-driver"), roles_table(profile)
        check_worker_bytes(profile, server.port)
        assert sum(meta["lost_events"].values()) == 0, meta["lost_events"]
        assert not profile.processes.empty and not profile.syscalls.empty
