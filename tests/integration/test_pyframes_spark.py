"""Python frames in on-CPU samples of a real PySpark run (local[2], ~20-30 s): the Python
workers' interpreter frames are walked in the kernel and named while the workers live, so the
UDF's own function shows up by name in the python-worker samples."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import profiler
from profiler.flamegraph.kinds import PYTHON, frame_kind
from profiler.profile import Profile
from tests.integration.record_helpers import (
    PROGRAMS,
    SPARKPROF,
    record_env,
    shared_workdir,
    start_record,
)
from tests.integration.record_helpers import (
    PYTHON as VENV_PYTHON,
)

pytestmark = [pytest.mark.root, pytest.mark.spark, pytest.mark.integration]

JOB = str(PROGRAMS / "pyframes_job.py")
BURN = "py::burn_cpu_sparkprof_test ("


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Path, Profile]]:
    with shared_workdir() as work:
        recorder = start_record(["-o", "run", "--no-jni", "--", VENV_PYTHON, JOB], work,
                                record_env())
        _, stderr = recorder.communicate(timeout=300)
        assert recorder.returncode == 0, stderr
        yield work / "run", profiler.load(work / "run")


def _worker_samples(profile: Profile) -> list[tuple[list[str], int]]:
    processes = profile.processes
    workers = set(processes.loc[processes["role"] == "python-worker", "pid"])
    samples = profile.samples
    rows = samples[samples["pid"].isin(workers)]
    return [(list(stack), int(count)) for stack, count in zip(rows["user_stack"],
                                                              rows["count"], strict=True)]


def test_the_udf_function_is_named_in_worker_samples(recorded: tuple[Path, Profile]) -> None:
    _, profile = recorded
    samples = _worker_samples(profile)
    assert sum(count for _, count in samples) > 0
    burning = [stack for stack, _ in samples if any(f.startswith(BURN) for f in stack)]
    assert burning, [stack for stack, _ in samples][:5]
    stack = burning[0]
    burn = next(frame for frame in stack if frame.startswith(BURN))
    assert burn.endswith(")") and "pyframes_job.py:" in burn
    assert frame_kind(burn) == PYTHON
    # leaf first: PySpark's worker loop is a caller of the UDF
    callers = [i for i, frame in enumerate(stack) if "pyspark/worker.py:" in frame]
    assert callers and min(callers) > stack.index(burn), stack


def test_most_worker_samples_have_python_frames(recorded: tuple[Path, Profile]) -> None:
    _, profile = recorded
    samples = _worker_samples(profile)
    total = sum(count for _, count in samples)
    named = sum(count for stack, count in samples
                if any(frame.startswith("py::") for frame in stack))
    assert named >= 0.5 * total, (named, total)


def test_meta_lists_the_walked_processes(recorded: tuple[Path, Profile]) -> None:
    _, profile = recorded
    python = profile.meta["sampling"]["python"]
    processes = profile.processes
    workers = {str(pid) for pid in processes.loc[processes["role"] == "python-worker", "pid"]}
    assert workers and workers <= set(python["processes"]), python
    assert python["problems"] == {}
    assert python["samples_with_frames"] > 0
    assert profile.meta["sampling"]["stats"]["sample_python_stacks"] > 0


def test_folded_output_keeps_the_python_frames(recorded: tuple[Path, Profile]) -> None:
    run, _ = recorded
    out = run.parent / "cpu.folded"
    subprocess.run([SPARKPROF, "flamegraph", str(run), "--kind", "cpu", "--format", "folded",
                    "-o", str(out)], check=True, timeout=120, capture_output=True)
    lines = [line for line in out.read_text().splitlines() if BURN in line]
    assert lines and all(line.startswith("python-worker") for line in lines), lines[:3]
