"""The doctor's per-check verdicts and the probe worker's protocol, without root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from profiler.doctor import host_checks, probe_worker
from profiler.doctor.probes import (
    FAMILY_INFO,
    WorkerSetup,
    parse_worker_output,
    run_worker,
    skipped,
    to_check,
)
from profiler.host.bcc_info import BccInfo
from profiler.host.jvm import Jdk
from profiler.host.kheaders import FallbackHeaders, KernelHeaders
from profiler.host.python_workers import PythonWorkers

REQUIRED_FAMILIES = {"probe.syscall_tracepoints", "probe.sched_tracepoints", "probe.perf_cpu_clock"}


def test_required_probe_families_are_the_default_probe_set():
    assert {i.check_name for i in FAMILY_INFO.values() if i.required} == REQUIRED_FAMILIES
    assert set(FAMILY_INFO) == set(probe_worker.FAMILIES)


def test_privileges_and_bcc_checks():
    assert host_checks.privileges_check(True, "root").status == "ok"
    missing = host_checks.privileges_check(False, "uid 1000")
    assert missing.status == "missing" and missing.remedy and "sudo" in missing.remedy
    assert host_checks.bcc_check(BccInfo("0.26.0", "/x/bcc", None)).detail.startswith("BCC 0.26")
    broken = host_checks.bcc_check(BccInfo(None, None, "cannot import bcc"))
    assert broken.status == "missing" and "python3-bpfcc" in (broken.remedy or "")


@pytest.mark.parametrize(
    ("headers", "fallback", "privileged", "status"),
    [
        (KernelHeaders("exact", "/usr/src/h", "matches"), None, True, "ok"),
        (KernelHeaders("fallback", "/usr/src/h", "using fallback"), None, True, "degraded"),
        (
            KernelHeaders("missing", None, "none"),
            FallbackHeaders(Path("/h"), None),
            True,
            "degraded",
        ),
        (
            KernelHeaders("missing", None, "none"),
            FallbackHeaders(Path("/h"), None),
            False,
            "missing",
        ),
        (KernelHeaders("missing", None, "none"), None, True, "missing"),
    ],
)
def test_kernel_headers_check(headers, fallback, privileged, status):
    result = host_checks.kernel_headers_check(headers, fallback, privileged)
    assert result.status == status and result.required_for_record
    assert (result.remedy is None) == (status == "ok")


def test_tracefs_check():
    assert host_checks.tracefs_check(True, False).status == "ok"
    assert host_checks.tracefs_check(False, True).status == "degraded"
    assert host_checks.tracefs_check(False, False).status == "missing"


def jdk(major, usdt=True):
    return Jdk(f"/jvm/{major}", f"{major}.0.1", major, f"/jvm/{major}/libjvm.so", usdt)


def test_jdk_check_judges_the_preferred_jdk():
    assert host_checks.jdk_check([]).status == "missing"
    assert host_checks.jdk_check([jdk(17), jdk(25)]).status == "ok"
    assert host_checks.jdk_check([jdk(11), jdk(17)]).status == "degraded"
    assert host_checks.jdk_check([jdk(17, usdt=False)]).status == "degraded"
    assert "17.0.1 at /jvm/17" in host_checks.jdk_check([jdk(17)]).detail


def test_python_workers_check():
    good = PythonWorkers("python3", "PATH", "/usr/bin/python3.11", "3.11.2", None, True)
    assert host_checks.python_workers_check(good).status == "ok"
    bare = PythonWorkers("python3", "PATH", "/opt/python3.11", "3.11.7")
    assert host_checks.python_workers_check(bare).status == "degraded"
    gone = PythonWorkers("python9", "PATH", problem="'python9' not found")
    assert host_checks.python_workers_check(gone).status == "missing"


def test_skipped_reports_every_family_with_the_reason():
    checks = skipped("loading BPF programs needs root", "sudo")
    assert [c.name for c in checks] == [i.check_name for i in FAMILY_INFO.values()]
    assert all(c.status == "missing" and c.detail.startswith("not tested") for c in checks)


def test_worker_output_ignores_noise_and_unknown_records():
    stdout = "\n".join(
        [
            "In file included from <built-in>:2:",
            json.dumps({"compiled": ["syscalls"], "seconds": 1.2}),
            json.dumps({"family": "syscalls", "status": "ok", "detail": "fired"}),
            json.dumps({"family": "nope", "status": "ok", "detail": ""}),
            json.dumps({"family": "sched", "status": "weird", "detail": ""}),
        ]
    )
    assert parse_worker_output(stdout) == {"syscalls": ("ok", "fired")}


def test_kprobes_missing_by_kernel_config_has_no_remedy():
    assert to_check("kprobe", "missing", probe_worker.NO_KPROBES).remedy is None
    compile_error = to_check("syscalls", "missing", "does not compile: kconfig.h not found")
    assert compile_error.remedy and "linux-headers" in compile_error.remedy


def test_a_worker_that_times_out_reports_every_family():
    checks = run_worker(WorkerSetup(libjvm=None), timeout=0.01)
    assert len(checks) == len(FAMILY_INFO)
    assert all(c.status == "missing" and "timed out" in c.detail for c in checks)


def test_first_error_line_prefers_errors():
    noise = "warning: macro redefined\n/virtual/main.c:3:1: error: bad thing\nnote: here\n"
    assert probe_worker.first_error_line(noise) == "/virtual/main.c:3:1: error: bad thing"
    assert probe_worker.first_error_line("just a note\n") == "just a note"
    assert probe_worker.first_error_line("") == ""


def test_captured_stderr_takes_what_c_code_writes_to_fd_2():
    sink: list[str] = []
    with probe_worker.captured_stderr(sink):
        os.write(2, b"libbcc: noise\n")
    assert sink == ["libbcc: noise\n"]


def test_mapped_libc_is_a_file():
    assert Path(probe_worker.mapped_libc()).is_file()


def test_worker_rejects_unknown_families():
    assert probe_worker.main(["--families", "syscalls,bogus"]) == 2
