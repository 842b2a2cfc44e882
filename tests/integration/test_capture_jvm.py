"""Real eBPF capture of a JVM: forced GCs show as gc rows (HotSpot USDT) and Java threads
carry their Java names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import require

GC_COUNT = 5
PROGRAM = """
public class ForceGc {
    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        Thread worker = new Thread(() -> {}, "sparkprof-test-worker-thread");
        worker.start();
        worker.join();
        for (int i = 0; i < count; i++) {
            byte[][] garbage = new byte[64][];
            for (int j = 0; j < garbage.length; j++) garbage[j] = new byte[16384];
            System.gc();
        }
    }
}
"""

pytestmark = [pytest.mark.root, pytest.mark.integration]


def _java_home() -> str | None:
    java = shutil.which("java")
    return str(Path(java).resolve().parent.parent) if java else None


@pytest.fixture(scope="module")
def jvm_capture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    require(shutil.which("javac") is not None and _java_home() is not None,
            "a JDK (java and javac) is needed")
    from profiler.capture.options import CaptureOptions
    from profiler.capture.session import CaptureSession
    from profiler.rundir.writer import RunWriter

    tmp = tmp_path_factory.mktemp("jvm")
    (tmp / "ForceGc.java").write_text(PROGRAM)
    subprocess.run(["javac", "-d", str(tmp), str(tmp / "ForceGc.java")], check=True)
    run_dir = tmp / "run"
    run_dir.mkdir()
    writer = RunWriter(run_dir)
    session = CaptureSession(CaptureOptions(java_home=_java_home(), offcpu_stacks=False),
                             writer)
    session.start()
    # The shell waits for the gate so the JVM is tracked from its exec on.
    proc = subprocess.Popen(
        ["sh", "-c", f'read gate; exec java -Xmx256m -cp "{tmp}" ForceGc {GC_COUNT}'],
        stdin=subprocess.PIPE)
    try:
        session.track(proc.pid)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        while proc.poll() is None:
            session.poll(100)
        report = session.stop()
    finally:
        proc.kill()
        proc.wait()
    writer.close("complete")
    tables = {name: pq.read_table(run_dir / name).to_pandas()
              for name in os.listdir(run_dir) if (run_dir / name).is_dir()}
    return {"pid": proc.pid, "exit": proc.returncode, "report": report, "tables": tables}


def test_forced_gcs_are_rows(jvm_capture):
    assert jvm_capture["exit"] == 0
    report = jvm_capture["report"]
    assert "usdt:hotspot:gc__begin" in report.probes_attached, report.probes_failed
    gc = jvm_capture["tables"]["gc"]
    pauses = gc[(gc.pid == jvm_capture["pid"]) & (gc.kind == "gc")]
    assert len(pauses) >= GC_COUNT
    assert (pauses.duration_ns > 0).all()
    assert (pauses.end_ns > pauses.start_ns).all()
    pools = gc[gc.kind == "mem_pool"]
    assert len(pools) > 0 and pools.pool.notna().all()


def test_java_thread_names(jvm_capture):
    threads = jvm_capture["tables"]["threads"].drop_duplicates("tid", keep="last")
    mine = threads[threads.pid == jvm_capture["pid"]]
    names = set(mine.name)
    # Longer than a 15-byte comm: only the thread__start probe knows it.
    assert "sparkprof-test-worker-thread" in names
    assert "Reference Handler" in names
    assert "gc" in set(mine.role)


def test_jvm_process_and_no_losses(jvm_capture):
    procs = jvm_capture["tables"]["processes"].drop_duplicates("pid", keep="last")
    root = procs[procs.pid == jvm_capture["pid"]].iloc[0]
    assert "ForceGc" in root.cmdline
    assert int(root.exit_code) == 0
    assert set(jvm_capture["report"].lost_events.values()) == {0}
