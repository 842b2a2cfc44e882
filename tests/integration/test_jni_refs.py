"""JNI interface truth: a C JNI library (programs/reftest.c) loaded by a tiny Java program
(programs/RefLeak.java) creates global and local references in known numbers, deletes a known
part of them, and copies a known number of bytes through Get/Set*ArrayRegion, *ArrayElements
and GetString(UTF)Region. ``record --jni-interface`` must name the creating functions with
exact created/deleted/live (left to the VM) counts and measure the copies exactly on the
program's work thread."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import profiler
from profiler.report import RENDERERS, build_report
from tests.conftest import require
from tests.integration.record_helpers import PROGRAMS, record_env, shared_workdir, start_record

pytestmark = [pytest.mark.root, pytest.mark.integration]

LIBRARY = "libreftest.so"
# (creating function, kind) -> (created, deleted, live at the end): RefLeak.work()
REFS = {("Java_RefLeak_leakGlobals", "global"): (300, 120, 180),
        ("Java_RefLeak_balancedGlobals", "global"): (50, 50, 0),
        ("Java_RefLeak_weakGlobals", "weak"): (40, 15, 25)}
# (creating function, JNI function) -> (created, deleted, left to the VM). newStrings runs
# after newArrays on the same thread and reuses its freed handle slots: its deletions count
# only if a creation overwrites a slot's stale entry.
LOCALS = {("Java_RefLeak_newArrays", "NewIntArray"): (120, 0, 120),
          ("Java_RefLeak_newStrings", "NewStringUTF"): (400, 150, 250)}
# function -> (calls, bytes) on the work thread
COPIES = {"GetByteArrayRegion": (1000, 1000 * 100),
          "SetIntArrayRegion": (500, 500 * 32 * 4),
          "GetLongArrayElements": (200, 200 * 64 * 8),
          "ReleaseLongArrayElements": (200, 100 * 64 * 8),  # 100 JNI_ABORT copy nothing back
          "GetStringRegion": (300, 300 * 10 * 2),
          "GetStringUTFRegion": (100, 100 * 10)}


def _jdk_include() -> Path | None:
    javac = shutil.which("javac")
    if javac is None:
        return None
    include = Path(os.path.realpath(javac)).parent.parent / "include"
    return include if (include / "jni.h").is_file() else None


def _build(work: Path) -> None:
    include = _jdk_include()
    require(include is not None and shutil.which("gcc") is not None,
            "needs a JDK with include/jni.h and gcc")
    assert include is not None
    for name in ("RefLeak.java", "reftest.c"):
        shutil.copy(PROGRAMS / name, work)
    subprocess.run(["javac", "RefLeak.java"], cwd=work, check=True, timeout=120)
    subprocess.run(["gcc", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC",
                    f"-I{include}", f"-I{include / 'linux'}", "-o", LIBRARY, "reftest.c"],
                   cwd=work, check=True, timeout=120)


def test_global_refs_and_copies_are_counted_exactly() -> None:
    require(shutil.which("java") is not None, "needs java")
    with shared_workdir() as work:
        _build(work)
        # waits 2.5 s before its work (libjvm's sites attach at the next 1 s scan) and
        # 1.5 s after it (the creating stacks are named at a drain while the JVM lives)
        args = ["-o", "run", "--no-jni", "--no-sample", "--jni-interface", "--",
                "java", "-XX:+PreserveFramePointer", "-cp", ".", "RefLeak",
                str(work / LIBRARY), "2500", "1500"]
        recorder = start_record(args, work, record_env())
        stdout, stderr = recorder.communicate(timeout=180)
        assert recorder.returncode == 0, stderr
        expected_bytes = sum(size for _, size in COPIES.values())
        assert stdout.split()[-1] == str(expected_bytes)  # the program's own count
        profile = profiler.load(work / "run")

        sites = profile.jni_global_ref_sites
        ours = sites[sites["caller_library"] == LIBRARY]
        found = ours.groupby(["caller_symbol", "kind"])[
            ["created", "deleted", "live_at_end"]].sum()
        assert {key: tuple(int(v) for v in row) for key, row in found.iterrows()} == REFS
        assert all(stack[0].endswith("[libjvm.so]") for stack in ours["user_stack"])

        local_sites = profile.jni_local_ref_sites
        our_locals = local_sites[local_sites["caller_library"] == LIBRARY]
        found = our_locals.groupby(["caller_symbol", "function"])[
            ["created", "deleted", "left_to_vm"]].sum()
        assert {key: tuple(int(v) for v in row) for key, row in found.iterrows()} == LOCALS
        assert len(local_sites[local_sites["caller_library"] != LIBRARY]) > 0  # the JDK's own

        threads = profile.threads
        work_tids = set(threads.loc[threads["name"] == "reftest-work", "tid"])
        assert len(work_tids) == 1, threads
        calls = profile.jni_interface
        sums = calls[calls["tid"].isin(work_tids)].groupby("function")[["calls", "bytes"]].sum()
        mine = {str(function): tuple(row) for function, row in
                zip(sums.index, sums.astype(int).itertuples(index=False), strict=True)}
        assert {function: mine.get(function) for function in COPIES} == COPIES
        assert mine["NewGlobalRef"] == (350, 0) and mine["DeleteWeakGlobalRef"] == (15, 0)
        assert mine["NewStringUTF"] == (400, 0)  # timed and counted as a local reference
        assert "NewIntArray" not in mine and "DeleteLocalRef" not in mine  # untimed

        meta = profile.meta["jni_interface"]
        assert not {"jnii_array_length_unread", "jnii_argument_unread",
                    "jnii_ref_map_full"} & set(meta["stats"]), meta["stats"]
        assert meta["global_refs"]["live"] >= 205
        assert meta["local_refs"]["created"] >= 520 and meta["local_refs"]["deleted"] >= 150
        assert meta["stats"].get("jnii_delete_of_unseen_local_ref", 0) >= 1  # the argument
        text = RENDERERS["text"].render(build_report(profile))
        assert "Java_RefLeak_leakGlobals" in text and "Global references still live" in text
        assert "Java_RefLeak_newStrings" in text and "Local references created" in text
