"""Whether this process may load and attach BPF programs."""

from __future__ import annotations

import os
from pathlib import Path

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

_STATUS = Path("/proc/self/status")


def parse_cap_eff(status_text: str) -> int | None:
    """The effective capability mask from the text of ``/proc/<pid>/status``, or None."""
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return None
    return None


def has_capability(mask: int, capability: int) -> bool:
    return bool(mask >> capability & 1)


def effective_capabilities(status_path: Path = _STATUS) -> int:
    """This process's CapEff mask; 0 when it cannot be read."""
    try:
        mask = parse_cap_eff(status_path.read_text(encoding="ascii", errors="replace"))
    except OSError:
        return 0
    return mask or 0


def caps_allow_bpf(mask: int) -> bool:
    """CAP_BPF + CAP_PERFMON: the kernel's (5.8+) unprivileged-but-trusted tracing set."""
    return has_capability(mask, CAP_BPF) and has_capability(mask, CAP_PERFMON)


def has_bpf_privileges() -> bool:
    """True as root, or with CAP_BPF and CAP_PERFMON in the effective set."""
    return os.geteuid() == 0 or caps_allow_bpf(effective_capabilities())


def privilege_summary() -> str:
    """One line for humans: who we run as and whether that is enough to load BPF."""
    uid = os.geteuid()
    if uid == 0:
        return "running as root (uid 0)"
    if caps_allow_bpf(effective_capabilities()):
        return f"uid {uid} with CAP_BPF and CAP_PERFMON"
    return f"uid {uid} without root or CAP_BPF+CAP_PERFMON"
