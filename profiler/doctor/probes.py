"""Parent side of the probe self-tests: decide whether they can run, run the worker with a
time limit, and turn its JSON lines into Checks."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from profiler.doctor.model import Check, Status
from profiler.doctor.probe_worker import FAMILIES, NO_KPROBES
from profiler.host.kheaders import FallbackHeaders
from profiler.host.preflight import HEADERS_REMEDY

# The worker compiles once (~1-2 s CPU) and waits at most 2 s per family; a loaded 2-core
# machine can be several times slower, and a hang must not hang the doctor.
WORKER_TIMEOUT_SECONDS = 45.0


@dataclass(frozen=True)
class Family:
    check_name: str
    required: bool
    remedy: str | None


KERNEL_REMEDY = "needs a kernel with CONFIG_BPF_EVENTS and tracefs; see the details above"
FAMILY_INFO: dict[str, Family] = {
    "syscalls": Family("probe.syscall_tracepoints", True, KERNEL_REMEDY),
    "sched": Family("probe.sched_tracepoints", True, KERNEL_REMEDY),
    "uprobe": Family("probe.uprobes", False, "needs a kernel with CONFIG_UPROBES=y"),
    "usdt": Family(
        "probe.usdt_hotspot", False, "install a JDK 17+ whose libjvm has hotspot USDT probes"
    ),
    "perf": Family(
        "probe.perf_cpu_clock",
        True,
        "needs perf events (CONFIG_PERF_EVENTS) and kernel.perf_event_paranoid allowing root",
    ),
    "kprobe": Family(
        "probe.kprobes", False, "none needed; a kernel with CONFIG_KPROBES=y enables kprobe extras"
    ),
}


@dataclass(frozen=True)
class WorkerSetup:
    """How the worker must run: env additions and whether it mounts tracefs privately."""

    libjvm: str | None
    fallback_headers: FallbackHeaders | None = None
    private_tracefs: bool = False


def skipped(reason: str, remedy: str) -> list[Check]:
    """Every family reported as not tested, for hosts where loading BPF cannot work."""
    return [
        Check(info.check_name, "missing", f"not tested: {reason}", remedy, info.required)
        for info in FAMILY_INFO.values()
    ]


def to_check(family: str, status: Status, detail: str) -> Check:
    info = FAMILY_INFO[family]
    remedy = None if status == "ok" else info.remedy
    if detail.startswith("does not compile"):
        remedy = HEADERS_REMEDY  # BCC compiles against the kernel headers
    if family == "kprobe" and detail == NO_KPROBES:
        remedy = None  # expected on this kind of kernel; nothing to fix
    return Check(info.check_name, status, detail, remedy, info.required)


def parse_worker_output(stdout: str) -> dict[str, tuple[Status, str]]:
    """family -> (status, detail) from the worker's JSON lines; other lines are ignored."""
    results: dict[str, tuple[Status, str]] = {}
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("family") not in FAMILY_INFO:
            continue
        status = record.get("status")
        if status in ("ok", "degraded", "missing"):
            results[record["family"]] = (status, str(record.get("detail", "")))
    return results


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def run_worker(setup: WorkerSetup, timeout: float = WORKER_TIMEOUT_SECONDS) -> list[Check]:
    """Run every family's self-test in a child process; missing results become Checks too."""
    command = [sys.executable, "-m", "profiler.doctor.probe_worker"]
    if setup.libjvm:
        command += ["--libjvm", setup.libjvm]
    if setup.private_tracefs:
        command.append("--private-tracefs")
    if setup.fallback_headers:
        command += ["--fallback-headers", str(setup.fallback_headers.build)]
        if setup.fallback_headers.common:
            command.append(str(setup.fallback_headers.common))
    why_incomplete = ""
    try:
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        stdout, stderr = finished.stdout, finished.stderr
        if finished.returncode != 0:
            why_incomplete = f"self-test exited with {finished.returncode}: {_tail(stderr)}"
    except subprocess.TimeoutExpired as expired:
        stdout = _as_text(expired.stdout)
        why_incomplete = f"self-test timed out after {timeout:g} s"
    results = parse_worker_output(stdout)
    checks = []
    for family in FAMILIES:
        if family in results:
            checks.append(to_check(family, *results[family]))
        else:
            detail = why_incomplete or "self-test gave no result"
            checks.append(to_check(family, "missing", detail))
    return checks


def _as_text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""
