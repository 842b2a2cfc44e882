"""`sparkprof bench` end to end at tiny sizes: every workload once plain and once profiled
(one Spark application per workload run, its variants inside it), and the collector bench
once. Checks the result files parse and hold every workload; no timing asserts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from profiler.bench.workloads import WORKLOADS
from tests.conftest import VENV_BIN

pytestmark = [pytest.mark.root, pytest.mark.spark, pytest.mark.integration]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYSPARK_PYTHON": str(VENV_BIN / "python")}
    return subprocess.run([str(VENV_BIN / "sparkprof"), "bench", *args], env=env,
                          capture_output=True, text=True, timeout=840, check=False)


def check_report_files(out: Path, figure: str) -> dict[str, object]:
    report = (out / "report.md").read_text()
    assert report.startswith("# sparkprof bench")
    assert (out / figure).read_bytes()[:8] == PNG_MAGIC
    loaded: dict[str, object] = json.loads((out / "results.json").read_text())
    assert loaded["interrupted"] is False
    return loaded


@pytest.mark.timeout(900)
def test_overhead_runs_every_workload_plain_and_profiled(tmp_path: Path) -> None:
    out = tmp_path / "overhead"
    done = bench("overhead", "--workloads", "all", "--repeats", "1", "--rows", "2000",
                 "--probe-sets", "default", "-o", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    results = check_report_files(out, "overhead.png")
    pairs = results["pairs"]
    assert isinstance(pairs, list)
    assert sorted(p["workload"] for p in pairs) == sorted(WORKLOADS)
    for pair in pairs:
        for side in (pair["plain"], pair["profiled"]):
            ran = set(side["variants"]) | set(side["errors"])
            assert ran == set(WORKLOADS[pair["workload"]].variants), pair["workload"]
            assert side["wall_s"] > 0 and side["cpu_s"] > 0
        assert pair["profiled"]["compile_s"] > 0
    report = (out / "report.md").read_text()
    assert all(f"| default | {name} | 1 |" in report for name in WORKLOADS)
    # A second run into the same folder is refused without --force.
    again = bench("overhead", "--workloads", "aggregation", "-o", str(out))
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.timeout(300)
def test_collector_bench_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "collector"
    done = bench("collector", "--events", "100000", "--repeats", "1", "-o", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    results = check_report_files(out, "collector.png")
    runs = results["runs"]
    assert isinstance(runs, list) and len(runs) == 1
    assert runs[0]["expected"] == 100_000
    assert runs[0]["received"] + runs[0]["lost"] >= 100_000  # the producer's writes all seen
