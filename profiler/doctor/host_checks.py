"""Checks that only look at the host (no BPF loaded): privileges, BCC, headers, tracefs,
JDKs, PySpark and the Python workers' interpreter."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

from profiler.doctor.model import Check
from profiler.host.bcc_info import BccInfo
from profiler.host.jvm import Jdk
from profiler.host.kheaders import FallbackHeaders, KernelHeaders
from profiler.host.preflight import BCC_REMEDY, HEADERS_REMEDY, TRACEFS_REMEDY
from profiler.host.python_workers import PythonWorkers

SUDO_REMEDY = "run it with sudo (or grant CAP_BPF and CAP_PERFMON)"
MIN_JAVA = 17


def privileges_check(privileged: bool, summary: str) -> Check:
    if privileged:
        return Check("privileges", "ok", summary, None, True)
    return Check("privileges", "missing", f"{summary}: cannot load BPF programs", SUDO_REMEDY, True)


def bcc_check(bcc: BccInfo) -> Check:
    if bcc.version is not None:
        return Check("bcc", "ok", f"BCC {bcc.version} ({bcc.path})", None, True)
    return Check("bcc", "missing", bcc.problem or "BCC not importable", BCC_REMEDY, True)


def kernel_headers_check(
    headers: KernelHeaders, fallback: FallbackHeaders | None, privileged: bool
) -> Check:
    name = "kernel_headers"
    release = platform.release()
    if headers.status == "exact":
        return Check(name, "ok", headers.detail, None, True)
    exact_remedy = f"for exact headers: apt-get install linux-headers-{release} (if it exists)"
    if headers.status == "fallback":
        return Check(name, "degraded", headers.detail, exact_remedy, True)
    if fallback is not None and privileged:
        detail = (
            f"{headers.detail}; sparkprof record will link the fallback {fallback.build.name} "
            "(probe checks below ran against it)"
        )
        return Check(name, "degraded", detail, exact_remedy, True)
    return Check(name, "missing", headers.detail, HEADERS_REMEDY, True)


def tracefs_check(mounted: bool, can_mount: bool) -> Check:
    if mounted:
        return Check("tracefs", "ok", "tracefs is mounted", None, True)
    if can_mount:
        detail = "not mounted; sparkprof record mounts it at /sys/kernel/tracing as root"
        return Check("tracefs", "degraded", detail, TRACEFS_REMEDY, True)
    return Check("tracefs", "missing", "tracefs is not mounted", TRACEFS_REMEDY, True)


def _describe_jdk(jdk: Jdk) -> str:
    usdt = "hotspot USDT" if jdk.has_hotspot_usdt else "no hotspot USDT"
    return f"{jdk.version} at {jdk.home} ({usdt})"


def jdk_check(jdks: list[Jdk]) -> Check:
    """The first JDK is the one Spark will use (JAVA_HOME, then PATH, then /usr/lib/jvm)."""
    name = "jdk"
    if not jdks:
        return Check(
            name,
            "missing",
            "no JDK found (JAVA_HOME, PATH, /usr/lib/jvm)",
            "apt-get install openjdk-17-jdk-headless",
            False,
        )
    detail = "; ".join(_describe_jdk(jdk) for jdk in jdks)
    preferred = jdks[0]
    if preferred.major < MIN_JAVA:
        remedy = f"Spark 4 needs Java {MIN_JAVA}+: set JAVA_HOME to a newer JDK"
        return Check(name, "degraded", detail, remedy, False)
    if not preferred.has_hotspot_usdt:
        remedy = "use a JDK built with DTrace probes (Debian/Ubuntu OpenJDK, Temurin) for GC probes"
        return Check(name, "degraded", detail, remedy, False)
    return Check(name, "ok", detail, None, False)


def pyspark_check() -> Check:
    try:
        version = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return Check(
            "pyspark",
            "missing",
            "PySpark is not installed in this environment",
            "pip install 'sparkprof[spark]' (or pyspark>=4) into this venv",
            False,
        )
    return Check("pyspark", "ok", f"PySpark {version}", None, False)


def python_workers_check(workers: PythonWorkers) -> Check:
    name = "python_workers"
    origin = f"{workers.command} (from {workers.source})"
    remedy_set = "set PYSPARK_PYTHON to the venv's python (a Debian python3 carries USDT probes)"
    if workers.problem is not None:
        return Check(name, "missing", f"{origin}: {workers.problem}", remedy_set, False)
    features = [
        "python USDT" if workers.has_usdt else "no python USDT",
        "perf maps" if workers.perf_maps else "no perf maps (needs 3.12+)",
        "exports _PyRuntime" if workers.exports_pyruntime else "no _PyRuntime export",
    ]
    detail = f"{origin} -> {workers.executable} {workers.version}: {', '.join(features)}"
    if workers.has_usdt:
        return Check(name, "ok", detail, None, False)
    return Check(name, "degraded", detail, remedy_set, False)


def can_mount_tracefs(privileged: bool) -> bool:
    return privileged and os.geteuid() == 0 and Path("/sys/kernel/tracing").is_dir()
