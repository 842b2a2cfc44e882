"""The JDKs on this host, their versions, and whether their libjvm carries HotSpot USDT probes.

Versions come from each JDK's ``release`` file, so finding JDKs never starts a JVM.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from profiler.host.elf import usdt_providers

JVM_ROOT = Path("/usr/lib/jvm")
_LIBJVM_GLOBS = ("lib/server/libjvm.so", "jre/lib/*/server/libjvm.so", "lib/*/server/libjvm.so")
_RELEASE_VERSION = re.compile(r'^JAVA_VERSION="([^"]+)"', re.MULTILINE)
_VERSION_OUTPUT = re.compile(r'version "([^"]+)"')


@dataclass
class Jdk:
    """One JDK (or JRE). ``major`` is 8 for "1.8.0_402", 17 for "17.0.15"."""

    home: str
    version: str
    major: int
    libjvm: str
    has_hotspot_usdt: bool


def elf_has_usdt_notes(path: str | Path, provider: str = "hotspot") -> bool:
    """Whether the ELF file's ``.note.stapsdt`` section has probes of ``provider``."""
    return provider in usdt_providers(path)


def major_version(version: str) -> int:
    """Java's major version: "1.8.0_402" -> 8, "17.0.15" -> 17, "25" -> 25; 0 if unparsable."""
    parts = re.findall(r"\d+", version)
    if not parts:
        return 0
    if parts[0] == "1" and len(parts) > 1:
        return int(parts[1])
    return int(parts[0])


def find_libjvm(home: Path) -> Path | None:
    for pattern in _LIBJVM_GLOBS:
        for match in sorted(home.glob(pattern)):
            if match.is_file():
                return match
    return None


def _version_from_java(home: Path) -> str | None:
    # Only for JDKs without a release file: `java -version` costs a JVM start (~0.1-0.5 s).
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_OUTPUT.search(result.stderr)
    return match.group(1) if match else None


def java_version(home: Path) -> str | None:
    try:
        match = _RELEASE_VERSION.search((home / "release").read_text(errors="replace"))
        if match:
            return match.group(1)
    except OSError:
        pass
    return _version_from_java(home)


def inspect_jdk(home: Path) -> Jdk | None:
    """A Jdk for a home directory, or None when it holds no libjvm."""
    libjvm = find_libjvm(home)
    if libjvm is None:
        return None
    version = java_version(home) or "unknown"
    return Jdk(
        home=str(home),
        version=version,
        major=major_version(version),
        libjvm=str(libjvm),
        has_hotspot_usdt=elf_has_usdt_notes(libjvm, "hotspot"),
    )


def _home_of_java(java: str) -> Path:
    # .../bin/java -> ...; JDK 8's .../jre/bin/java -> .../jre (its libjvm is below it).
    return Path(java).resolve().parent.parent


def candidate_homes(jvm_root: Path = JVM_ROOT) -> list[Path]:
    """JAVA_HOME, then ``java`` on PATH, then every JDK under /usr/lib/jvm: the order in
    which Spark's launcher would pick one."""
    homes: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    java = shutil.which("java")
    if java:
        homes.append(_home_of_java(java))
    with contextlib.suppress(OSError):
        homes.extend(sorted(entry for entry in jvm_root.iterdir() if entry.is_dir()))
    return homes


def find_jdks(jvm_root: Path = JVM_ROOT) -> list[Jdk]:
    """Every JDK found, without duplicates (symlinked homes count once), preferred first."""
    jdks: list[Jdk] = []
    seen: set[Path] = set()
    for home in candidate_homes(jvm_root):
        real = home.resolve()
        if real in seen:
            continue
        seen.add(real)
        jdk = inspect_jdk(real)
        if jdk is not None:
            jdks.append(jdk)
    return jdks
