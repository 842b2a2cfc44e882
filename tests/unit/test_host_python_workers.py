"""Which interpreter PySpark workers run, and what it offers a profiler."""

from __future__ import annotations

import os
import sys

from profiler.host.elf import has_dynamic_symbol, usdt_providers
from profiler.host.python_workers import inspect_python_workers, worker_command


def test_pyspark_python_wins_over_path():
    assert worker_command({"PYSPARK_PYTHON": "/opt/py/bin/python"}) == (
        "/opt/py/bin/python",
        "PYSPARK_PYTHON",
    )
    assert worker_command({"PYSPARK_PYTHON": ""}) == ("python3", "PATH")
    assert worker_command({}) == ("python3", "PATH")


def test_inspects_this_interpreter():
    workers = inspect_python_workers({"PYSPARK_PYTHON": sys.executable})
    assert workers.problem is None
    assert workers.source == "PYSPARK_PYTHON"
    assert workers.version == ".".join(str(part) for part in sys.version_info[:3])
    assert workers.executable == os.path.realpath(sys.executable)
    elves = [workers.executable] + ([workers.libpython] if workers.libpython else [])
    assert workers.has_usdt == any("python" in usdt_providers(elf) for elf in elves)
    assert workers.exports_pyruntime == any(has_dynamic_symbol(e, "_PyRuntime") for e in elves)
    assert workers.perf_maps == hasattr(sys, "activate_stack_trampoline")


def test_missing_interpreter_is_a_problem_not_an_exception(tmp_path):
    workers = inspect_python_workers({"PYSPARK_PYTHON": str(tmp_path / "no-python")})
    assert workers.problem is not None and "not found" in workers.problem
    assert workers.version is None


def test_a_broken_interpreter_is_a_problem(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho not json\n")
    fake.chmod(0o755)
    workers = inspect_python_workers({"PYSPARK_PYTHON": str(fake)})
    assert workers.problem is not None and "cannot run" in workers.problem
