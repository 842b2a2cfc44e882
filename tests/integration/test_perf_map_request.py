"""A running JVM asked for its perf map (``jcmd PID Compiler.perfmap``) writes it, and the
jcmd process's CPU is counted; one that does not answer in time counts as unable."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from profiler.capture.symbols.perfmap import perf_map_path, read_perf_map, request_perf_map
from tests.conftest import require
from tests.integration.record_helpers import PROGRAMS

pytestmark = [pytest.mark.root, pytest.mark.integration]


def test_a_running_jvm_writes_its_map_when_asked(tmp_path: Path) -> None:
    require(shutil.which("javac") is not None and shutil.which("java") is not None,
            "needs a JDK (javac, java)")
    shutil.copy(PROGRAMS / "DeflateMany.java", tmp_path)
    subprocess.run(["javac", "DeflateMany.java"], cwd=tmp_path, check=True, timeout=120)
    jvm = subprocess.Popen(["java", "-cp", str(tmp_path), "DeflateMany", "1", "60000"])
    path = perf_map_path(jvm.pid)
    try:
        time.sleep(1.0)  # the attach listener starts with the JVM
        quick = request_perf_map(jvm.pid, timeout_s=0.001)
        assert not quick.written  # jcmd, a JVM itself, cannot even start in 1 ms
        asked = request_perf_map(jvm.pid)
        assert asked.written
        assert asked.cpu_ns > 10_000_000  # jcmd's own JVM start-up, counted
        perf_map = read_perf_map(jvm.pid, os.getuid())
        assert perf_map is not None and len(perf_map) > 100
        assert perf_map.name_of(perf_map.starts[0]) is not None
    finally:
        jvm.kill()
        jvm.wait(timeout=30)
        Path(path).unlink(missing_ok=True)
    assert not request_perf_map(jvm.pid).written  # gone
