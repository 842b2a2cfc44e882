"""JNI method tracing counts exactly: a Java program makes a known number of
``Deflater.deflate`` calls, each one call of libzip's
``Java_java_util_zip_Deflater_deflateBytesBytes`` (JDK 17), and ``sparkprof record`` must
count exactly that many, with latencies, and no calls for methods it was told to exclude.
With ``--jni-interface`` each of those calls pins its input and output arrays
(Get/ReleasePrimitiveArrayCritical): at least two critical regions a call, with held time."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import profiler
from tests.conftest import require
from tests.integration.record_helpers import PROGRAMS, record_env, shared_workdir, start_record

pytestmark = [pytest.mark.root, pytest.mark.integration]

CALLS = 777
SYMBOL = "Java_java_util_zip_Deflater_deflateBytesBytes"


def test_deflater_calls_are_counted_exactly() -> None:
    require(shutil.which("javac") is not None and shutil.which("java") is not None,
            "needs a JDK (javac, java)")
    with shared_workdir() as work:
        shutil.copy(PROGRAMS / "DeflateMany.java", work)
        subprocess.run(["javac", "DeflateMany.java"], cwd=work, check=True, timeout=120)
        # the program loads libzip, then waits 2.5 s: the capture scans libraries every 1 s
        args = ["-o", "run", "--jni-exclude", "Java_java_util_zip_CRC32_*", "--jni-interface",
                "--",
                "java", "-XX:+PreserveFramePointer", "-cp", ".", "DeflateMany", str(CALLS),
                "2500"]
        recorder = start_record(args, work, record_env())
        _, stderr = recorder.communicate(timeout=180)
        assert recorder.returncode == 0, stderr
        profile = profiler.load(work / "run")
        jni = profile.jni
        deflate = jni[jni["symbol"] == SYMBOL]
        assert int(deflate["calls"].sum()) == CALLS, jni.groupby("symbol")["calls"].sum()
        assert (deflate["class_name"] == "java.util.zip.Deflater").all()
        assert (deflate["method"] == "deflateBytesBytes").all()
        assert deflate["library"].str.endswith("libzip.so").all()
        assert int(deflate["total_ns"].sum()) > 0
        assert (deflate["max_ns"] <= deflate["total_ns"]).all()
        assert not jni["symbol"].str.startswith("Java_java_util_zip_CRC32_").any()
        meta = profile.meta
        assert meta["jni"]["libraries"].get("libzip.so", 0) >= 1
        assert meta["jni"]["unknown_address_calls"] == 0
        assert meta["options"]["jni"] is True
        iface = profile.table("jni_interface")
        calls = iface.groupby("function")["calls"].sum()
        assert calls["GetPrimitiveArrayCritical"] >= 2 * CALLS, calls
        assert calls["ReleasePrimitiveArrayCritical"] == calls["GetPrimitiveArrayCritical"]
        released = iface[iface["function"] == "ReleasePrimitiveArrayCritical"]
        assert int(released["held_ns"].sum()) > 0
        assert (released["held_max_ns"] <= released["held_ns"]).all()
