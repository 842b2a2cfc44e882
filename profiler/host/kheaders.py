"""Kernel headers for BCC's run-time compiler: exact, a fallback version, or missing.

BCC compiles against ``/lib/modules/<release>/{build,source}``. Custom and VM kernels often
ship no headers package; the headers of another version (e.g. Debian's 6.1 on a 6.18 kernel)
still serve tracepoints, uprobes, USDT and perf events, so we link the newest installed ones
and say so: a fallback is never silent.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MODULES_ROOT = Path("/lib/modules")
SOURCES_ROOT = Path("/usr/src")

# platform.machine() -> the architecture suffix of Debian/Ubuntu header packages.
_DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el"}
_UTS_RELEASE = re.compile(r'#define\s+UTS_RELEASE\s+"([^"]+)"')

HeaderStatus = Literal["exact", "fallback", "missing"]


@dataclass(frozen=True)
class KernelHeaders:
    """What BCC will compile against. ``build_dir`` is the resolved headers directory."""

    status: HeaderStatus
    build_dir: str | None
    detail: str


@dataclass(frozen=True)
class FallbackHeaders:
    """An installed headers tree that can stand in for the running kernel's."""

    build: Path
    common: Path | None


def debian_arch(machine: str | None = None) -> str:
    machine = machine or platform.machine()
    return _DEBIAN_ARCH.get(machine, machine)


def headers_release(build_dir: Path) -> str | None:
    """The kernel release a headers tree was built for, from its generated files."""
    try:
        text = (build_dir / "include/generated/utsrelease.h").read_text(errors="replace")
        match = _UTS_RELEASE.search(text)
        if match:
            return match.group(1)
    except OSError:
        pass
    try:
        return (build_dir / "include/config/kernel.release").read_text().strip() or None
    except OSError:
        return None


def _version_key(name: str) -> list[tuple[int, str]]:
    # Natural order, so linux-headers-6.10 sorts after linux-headers-6.9.
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name)]


def detect_kernel_headers(
    release: str | None = None, modules_root: Path = MODULES_ROOT
) -> KernelHeaders:
    """Classify ``<modules_root>/<release>/build``: this release's headers, another's, or none."""
    release = release or platform.release()
    link = modules_root / release / "build"
    if not link.exists():
        why = "dangling link" if link.is_symlink() else "absent"
        return KernelHeaders("missing", None, f"no kernel headers for {release} ({link} {why})")
    build = link.resolve()
    built_for = headers_release(build)
    if built_for == release or (built_for is None and release in build.name):
        return KernelHeaders("exact", str(build), f"{build} matches {release}")
    version = built_for or "an unknown release"
    return KernelHeaders(
        "fallback",
        str(build),
        f"using fallback {build.name} ({version}) for {release}: tracepoints, uprobes, "
        "USDT and perf events work; kprobe-based tools may not",
    )


def find_fallback_headers(
    arch: str | None = None, sources_root: Path = SOURCES_ROOT
) -> FallbackHeaders | None:
    """The newest ``linux-headers-*-<arch>`` under /usr/src, with its ``-common`` sibling."""
    arch = arch or debian_arch()
    suffix = f"-{arch}"
    try:
        candidates = [
            entry
            for entry in sources_root.iterdir()
            if entry.name.startswith("linux-headers-")
            and entry.name.endswith(suffix)
            and entry.is_dir()
        ]
    except OSError:
        return None
    if not candidates:
        return None
    build = max(candidates, key=lambda entry: _version_key(entry.name))
    common = build.with_name(build.name[: -len(suffix)] + "-common")
    return FallbackHeaders(build, common if common.is_dir() else None)


def _replace_symlink(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def link_fallback_headers(
    fallback: FallbackHeaders, release: str, modules_root: Path = MODULES_ROOT
) -> None:
    """Point ``<modules_root>/<release>/{build,source}`` at a fallback headers tree."""
    directory = modules_root / release
    directory.mkdir(parents=True, exist_ok=True)
    _replace_symlink(directory / "build", fallback.build)
    if fallback.common is not None:
        _replace_symlink(directory / "source", fallback.common)


def ensure_kernel_headers(
    release: str | None = None,
    modules_root: Path = MODULES_ROOT,
    sources_root: Path = SOURCES_ROOT,
    arch: str | None = None,
    is_root: bool | None = None,
) -> KernelHeaders:
    """Detect headers; when missing and root, link the newest installed ones as a fallback.

    The returned ``detail`` says what was done, for the caller to print.
    """
    release = release or platform.release()
    found = detect_kernel_headers(release, modules_root)
    if found.status != "missing":
        return found
    fallback = find_fallback_headers(arch, sources_root)
    if fallback is None:
        return KernelHeaders(
            "missing", None, f"{found.detail}; no linux-headers-* under {sources_root} either"
        )
    if not (os.geteuid() == 0 if is_root is None else is_root):
        return KernelHeaders(
            "missing", None, f"{found.detail}; root could link {fallback.build.name} instead"
        )
    try:
        link_fallback_headers(fallback, release, modules_root)
    except OSError as error:
        return KernelHeaders(
            "missing", None, f"{found.detail}; linking {fallback.build.name} failed: {error}"
        )
    linked = detect_kernel_headers(release, modules_root)
    return KernelHeaders(
        "fallback",
        linked.build_dir,
        f"using fallback {fallback.build.name} for {release} (linked {modules_root / release}"
        "/build and source; install the headers of this kernel to silence this)",
    )
