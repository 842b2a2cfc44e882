"""What ``sparkprof record`` checks and sets up before it loads any BPF program."""

from __future__ import annotations

from profiler.errors import HostNotReadyError, PrivilegeError
from profiler.host.bcc_info import find_bcc
from profiler.host.kheaders import ensure_kernel_headers
from profiler.host.privileges import has_bpf_privileges, privilege_summary
from profiler.host.tracefs import ensure_tracefs

DOCTOR_HINT = "run `sparkprof doctor` for details"
BCC_REMEDY = (
    "install the distribution's BCC bindings (Debian/Ubuntu: apt-get install bpfcc-tools "
    "python3-bpfcc; Fedora: dnf install bcc python3-bcc) and use a venv made with "
    "--system-site-packages; never `pip install bcc`"
)
HEADERS_REMEDY = (
    "install the kernel headers: apt-get install linux-headers-$(uname -r), or when the "
    "kernel has none, linux-headers-$(dpkg --print-architecture) as a fallback"
)
TRACEFS_REMEDY = "mount -t tracefs tracefs /sys/kernel/tracing"


def check_record_ready() -> list[str]:
    """Make the host ready for BPF or raise; return notices the caller must print.

    Raises PrivilegeError without root (or CAP_BPF+CAP_PERFMON), HostNotReadyError when BCC,
    kernel headers or tracefs are missing and cannot be set up. Call it before ``import bcc``:
    BCC chooses its tracefs path when imported.
    """
    if not has_bpf_privileges():
        # The summary (who we are) goes in the remedy: the message stays one stable line.
        raise PrivilegeError(
            "sparkprof record needs root", f"run it with sudo ({privilege_summary()})"
        )
    notices: list[str] = []
    if not ensure_tracefs():
        raise HostNotReadyError("tracefs is not mounted and could not be mounted", TRACEFS_REMEDY)
    bcc = find_bcc()
    if bcc.version is None:
        raise HostNotReadyError(f"BCC is not usable: {bcc.problem}", BCC_REMEDY)
    headers = ensure_kernel_headers()
    if headers.status == "missing":
        raise HostNotReadyError(f"kernel headers: {headers.detail}", HEADERS_REMEDY)
    if headers.status == "fallback":
        notices.append(f"kernel headers: {headers.detail}")
    return notices
