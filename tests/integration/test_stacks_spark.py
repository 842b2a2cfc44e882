"""Stack sampling and JNI tracing on one real PySpark run (local[2], ~20-30 s): a shuffle
compressed with zstd (zstd-jni's native methods, loaded from a deleted temp file) and a
CPU-bound Python UDF (Python workers on CPU). The flame graph's folded output must account
for every sample."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import profiler
from profiler.profile import Profile
from tests.integration.record_helpers import (
    PROGRAMS,
    PYTHON,
    SPARKPROF,
    record_env,
    shared_workdir,
    start_record,
)

pytestmark = [pytest.mark.root, pytest.mark.spark, pytest.mark.integration]

JOB = str(PROGRAMS / "boundary_job.py")


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Path, Profile]]:
    with shared_workdir() as work:
        recorder = start_record(["-o", "run", "--", PYTHON, JOB], work, record_env())
        _, stderr = recorder.communicate(timeout=300)
        assert recorder.returncode == 0, stderr
        yield work / "run", profiler.load(work / "run")


def pids_with_role(profile: Profile, role: str) -> set[int]:
    processes = profile.processes
    return {int(pid) for pid in processes.loc[processes["role"] == role, "pid"]}


def test_zstd_jni_methods_have_calls_and_latency(recorded: tuple[Path, Profile]) -> None:
    _, profile = recorded
    jni = profile.jni
    zstd = jni[jni["class_name"].str.startswith("com.github.luben.zstd")]
    assert int(zstd["calls"].sum()) > 0, jni.groupby("library")["calls"].sum()
    assert int(zstd["total_ns"].sum()) > 0
    assert zstd["library"].str.contains("zstd-jni").all()
    assert set(zstd["pid"]) <= pids_with_role(profile, "driver-jvm")
    assert any("zstd-jni" in name for name in profile.meta["jni"]["libraries"])


def test_python_workers_and_jvm_are_sampled(recorded: tuple[Path, Profile]) -> None:
    _, profile = recorded
    samples = profile.samples
    workers = pids_with_role(profile, "python-worker")
    assert int(samples.loc[samples["pid"].isin(workers), "count"].sum()) > 0
    jvm = samples[samples["pid"].isin(pids_with_role(profile, "driver-jvm"))]
    frames = [frame for stack in jvm["user_stack"] for frame in stack]
    assert any(frame.endswith(" [jit]") for frame in frames)  # named from the perf map
    assert any(frame.endswith(" [libjvm.so]") for frame in frames)
    meta = profile.meta
    assert meta["options"]["sample_hz"] == 49
    assert meta["sampling"]["samples"] == int(samples["count"].sum())
    # the drains' CPU by phase accounts for (nearly) all of it: a few clock reads a drain
    phases = meta["sampling"]["phases_s"]
    assert {"read", "python", "name", "rows", "clear", "write", "release"} <= set(phases)
    assert phases["name"] > 0 and phases["write"] > 0
    collector = meta["sampling"]["collector_s"]
    assert 0.8 * collector <= sum(phases.values()) <= collector + 0.01


def test_folded_output_accounts_for_every_sample(recorded: tuple[Path, Profile]) -> None:
    run, profile = recorded
    out = run.parent / "cpu.folded"
    subprocess.run([SPARKPROF, "flamegraph", str(run), "--kind", "cpu", "--format", "folded",
                    "-o", str(out)], check=True, timeout=120, capture_output=True)
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), line
        assert len(stack.split(";")) >= 3  # process label; thread role; frames...
        total += int(count)
    assert total == int(profile.samples["count"].sum())


def test_jvm_off_cpu_stacks_are_named_after_the_exec_of_java(
        recorded: tuple[Path, Profile]) -> None:
    """spark-submit runs bash scripts that exec java: names cached for the bash image of a
    pid made every JVM off-CPU leaf ``[unknown]``. A blocked JVM thread waits in libc."""
    _, profile = recorded
    blocks = profile.offcpu_blocks
    jvm = blocks[blocks["pid"].isin(pids_with_role(profile, "driver-jvm"))
                 & (blocks["user_stack"].map(len) > 0)]
    assert len(jvm) > 0
    leaves = jvm["user_stack"].map(lambda stack: stack[0])
    in_libc = leaves.str.endswith("[libc.so.6]").mean()
    assert in_libc > 0.5, leaves.value_counts().head(10)
    assert profile.meta["unmatched"].get("offcpu_user_stack_not_in_syscall", 0) < len(jvm) / 10
