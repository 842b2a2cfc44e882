"""The interpreter PySpark's Python workers will run, and what a profiler can see in it.

Spark starts workers with ``PYSPARK_PYTHON`` or else ``python3`` from PATH. We ask that
interpreter itself where it lives (PATH entries are often shims, e.g. pyenv's) and then read
its ELF files: USDT notes of provider "python", the ``_PyRuntime`` export, perf-map support.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from profiler.host.elf import has_dynamic_symbol, usdt_providers

# Printed by the worker interpreter; kept to the stdlib of Python 3.6+.
_PROBE_SCRIPT = """
import json, os, sys, sysconfig
libdir = sysconfig.get_config_var("LIBDIR") or ""
soname = sysconfig.get_config_var("INSTSONAME") or ""
shared = bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
print(json.dumps({
    "executable": os.path.realpath(sys.executable),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "libpython": os.path.join(libdir, soname) if shared and soname else "",
    "perf_trampoline": hasattr(sys, "activate_stack_trampoline"),
}))
"""


@dataclass(frozen=True)
class PythonWorkers:
    """What we learned about the workers' interpreter; ``problem`` is set if it failed."""

    command: str
    source: str
    executable: str | None = None
    version: str | None = None
    libpython: str | None = None
    has_usdt: bool = False
    perf_maps: bool = False
    exports_pyruntime: bool = False
    problem: str | None = None


def worker_command(environ: dict[str, str] | None = None) -> tuple[str, str]:
    """(command, where it came from): PYSPARK_PYTHON if set, else ``python3``."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("PYSPARK_PYTHON"):
        return environ["PYSPARK_PYTHON"], "PYSPARK_PYTHON"
    return "python3", "PATH"


def _ask_interpreter(path: str) -> dict[str, object]:
    result = subprocess.run(
        [path, "-I", "-c", _PROBE_SCRIPT], capture_output=True, text=True, timeout=20, check=True
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if not isinstance(answer, dict):
        raise ValueError("unexpected answer")
    return answer


def inspect_python_workers(environ: dict[str, str] | None = None) -> PythonWorkers:
    """Resolve and inspect the workers' interpreter (runs it once, ~20-200 ms)."""
    command, source = worker_command(environ)
    path = shutil.which(command)
    if path is None:
        return PythonWorkers(command, source, problem=f"{command!r} not found")
    try:
        answer = _ask_interpreter(path)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        return PythonWorkers(command, source, problem=f"cannot run {path}: {error}")
    executable = str(answer.get("executable") or path)
    libpython = str(answer.get("libpython") or "") or None
    if libpython and not Path(libpython).is_file():
        libpython = None
    # The probes and the runtime export live in libpython when the build is shared.
    elves = [executable] + ([libpython] if libpython else [])
    return PythonWorkers(
        command=command,
        source=source,
        executable=executable,
        version=str(answer.get("version")),
        libpython=libpython,
        has_usdt=any("python" in usdt_providers(elf) for elf in elves),
        perf_maps=bool(answer.get("perf_trampoline")),
        exports_pyruntime=any(has_dynamic_symbol(elf, "_PyRuntime") for elf in elves),
    )
