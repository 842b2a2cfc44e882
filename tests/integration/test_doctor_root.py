"""`sparkprof doctor` for real, as root: BPF self-tests load, and the JSON is stable.

The fresh-host cases hide this host's tracefs and kernel-header links inside a private mount
namespace, so they exercise the fallback and the mounting without touching the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from profiler.host.jvm import find_jdks
from tests.conftest import VENV_BIN, require

pytestmark = pytest.mark.root

SPARKPROF = str(VENV_BIN / "sparkprof")

# Run by a child in its own mount namespace: unmount tracefs/debugfs and hide /lib/modules,
# as on a fresh machine whose kernel has no headers package. Then run ARGV's action.
FRESH_HOST = textwrap.dedent(
    """
    import ctypes, ctypes.util, json, os, subprocess, sys
    from pathlib import Path
    from profiler.host.mountns import enter_private_mount_namespace, mount_filesystem
    from profiler.host.kheaders import MODULES_ROOT
    enter_private_mount_namespace()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for target in ("/sys/kernel/debug/tracing", "/sys/kernel/tracing", "/sys/kernel/debug"):
        while libc.umount2(target.encode(), 2) == 0:  # MNT_DETACH, stacked mounts too
            pass
    mount_filesystem("tmpfs", MODULES_ROOT)
    if sys.argv[1] == "preflight":
        from profiler.host.preflight import check_record_ready
        from profiler.host.tracefs import tracefs_mounted
        from profiler.host.kheaders import detect_kernel_headers
        before = tracefs_mounted()
        notices = check_record_ready()
        print(json.dumps({"before": before, "after": tracefs_mounted(),
                          "headers": detect_kernel_headers().status, "notices": notices}))
    else:
        sys.exit(subprocess.run(sys.argv[1:]).returncode)
    """
)


def run_doctor_json(*prefix: str) -> tuple[int, dict]:
    result = subprocess.run(
        [*prefix, SPARKPROF, "doctor", "--json"], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def statuses(document: dict) -> dict[str, str]:
    return {check["name"]: check["status"] for check in document["checks"]}


@pytest.fixture(scope="module")
def two_runs():
    return run_doctor_json(), run_doctor_json()


def test_doctor_reports_ready_here(two_runs):
    (code, document), _ = two_runs
    assert code == 0 and document["ready"] is True
    found = statuses(document)
    for family in ("syscall_tracepoints", "sched_tracepoints", "uprobes", "perf_cpu_clock"):
        assert found[f"probe.{family}"] == "ok", document
    kprobes = next(c for c in document["checks"] if c["name"] == "probe.kprobes")
    assert kprobes["status"] == "missing"
    assert kprobes["detail"] == "no CONFIG_KPROBES: optional, not needed by the default probe set"
    assert all(found[name] in ("ok", "degraded") for name in ("privileges", "bcc", "tracefs"))
    assert found["kernel_headers"] in ("ok", "degraded")


def test_usdt_attaches_to_the_debian_jdk_17(two_runs):
    jdk17 = [j for j in find_jdks() if j.major == 17 and j.has_hotspot_usdt]
    require(bool(jdk17), "no JDK 17 with hotspot USDT notes")
    (_, document), _ = two_runs
    usdt = next(c for c in document["checks"] if c["name"] == "probe.usdt_hotspot")
    assert usdt["status"] == "ok" and jdk17[0].libjvm in usdt["detail"], usdt


def test_json_is_stable_across_runs(two_runs):
    (_, first), (_, second) = two_runs
    assert list(first) == list(second) == ["ready", "version", "checks"]
    assert [c["name"] for c in first["checks"]] == [c["name"] for c in second["checks"]]
    for one, other in zip(first["checks"], second["checks"], strict=True):
        assert list(one) == list(other) == ["name", "status", "detail", "remedy", "required"]
        assert (one["status"], one["required"]) == (other["status"], other["required"])


def test_text_output_ends_ready():
    result = subprocess.run([SPARKPROF, "doctor"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("verdict: READY")


def test_doctor_on_a_fresh_host_tests_what_record_would_set_up():
    code, document = run_doctor_json(sys.executable, "-c", FRESH_HOST)
    found = statuses(document)
    assert code == 0 and document["ready"] is True, document
    assert found["tracefs"] == "degraded" and found["kernel_headers"] == "degraded"
    assert found["probe.syscall_tracepoints"] == found["probe.perf_cpu_clock"] == "ok"


def test_preflight_mounts_tracefs_and_links_fallback_headers():
    result = subprocess.run(
        [sys.executable, "-c", FRESH_HOST, "preflight"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["before"] is False and outcome["after"] is True
    assert outcome["headers"] == "fallback"
    assert any(
        n.startswith("kernel headers: using fallback linux-headers-") for n in outcome["notices"]
    )
