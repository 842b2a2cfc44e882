"""Runs every doctor check in a fixed order and returns the report."""

from __future__ import annotations

from profiler.doctor import host_checks
from profiler.doctor.model import Check, DoctorReport
from profiler.doctor.probes import WorkerSetup, run_worker, skipped
from profiler.host.bcc_info import BccInfo, find_bcc
from profiler.host.jvm import Jdk, find_jdks
from profiler.host.kheaders import (
    FallbackHeaders,
    KernelHeaders,
    detect_kernel_headers,
    find_fallback_headers,
)
from profiler.host.preflight import BCC_REMEDY, HEADERS_REMEDY
from profiler.host.privileges import has_bpf_privileges, privilege_summary
from profiler.host.python_workers import inspect_python_workers
from profiler.host.tracefs import tracefs_mounted


def usdt_target(jdks: list[Jdk]) -> str | None:
    """The libjvm to test USDT on: the preferred JDK that has hotspot probes, else the first."""
    with_probes = [jdk for jdk in jdks if jdk.has_hotspot_usdt]
    chosen = with_probes or jdks
    return chosen[0].libjvm if chosen else None


def probe_checks(
    privileged: bool,
    bcc: BccInfo,
    headers: KernelHeaders,
    fallback: FallbackHeaders | None,
    tracefs: bool,
    jdks: list[Jdk],
) -> list[Check]:
    """Load the self-test programs when the host can, else say why not for each family."""
    if not privileged:
        return skipped("loading BPF programs needs root", host_checks.SUDO_REMEDY)
    if bcc.version is None:
        return skipped("BCC is not importable", BCC_REMEDY)
    if headers.status == "missing" and fallback is None:
        return skipped("no kernel headers to compile against", HEADERS_REMEDY)
    # The worker links what record would link, privately: the host stays untouched.
    private_headers = fallback if headers.status == "missing" else None
    private_tracefs = not tracefs and host_checks.can_mount_tracefs(privileged)
    return run_worker(WorkerSetup(usdt_target(jdks), private_headers, private_tracefs))


def run_doctor() -> DoctorReport:
    privileged = has_bpf_privileges()
    bcc = find_bcc()
    headers = detect_kernel_headers()
    fallback = find_fallback_headers() if headers.status == "missing" else None
    tracefs = tracefs_mounted()
    jdks = find_jdks()
    checks = [
        host_checks.privileges_check(privileged, privilege_summary()),
        host_checks.bcc_check(bcc),
        host_checks.kernel_headers_check(headers, fallback, privileged),
        host_checks.tracefs_check(tracefs, host_checks.can_mount_tracefs(privileged)),
        *probe_checks(privileged, bcc, headers, fallback, tracefs, jdks),
        host_checks.jdk_check(jdks),
        host_checks.pyspark_check(),
        host_checks.python_workers_check(inspect_python_workers()),
    ]
    return DoctorReport(tuple(checks))
