"""The doctor's probe self-tests, run as ``python -m profiler.doctor.probe_worker``.

A child process, so that BCC's compiler noise, a crash or a hang in one attach cannot take
the doctor down: the parent enforces the time limit and reads one JSON line per family as
soon as it is known. The families come from ONE compiled ``bpf/selftest.c`` (compiling costs
1-2 s of CPU); only when that compile fails is each family compiled alone, to tell which
one breaks.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from profiler.bpf_sources import read_bpf_source
from profiler.host.kheaders import MODULES_ROOT, FallbackHeaders, link_fallback_headers
from profiler.host.mountns import enter_private_mount_namespace, mount_filesystem
from profiler.host.tracefs import TRACEFS_DIR

FAMILIES = ("syscalls", "sched", "uprobe", "usdt", "perf", "kprobe")
WAIT_SECONDS = 2.0
PERF_FREQUENCY_HZ = 499
NO_KPROBES = "no CONFIG_KPROBES: optional, not needed by the default probe set"

Result = tuple[str, str]  # (status, detail)


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


@contextmanager
def captured_stderr(sink: list[str]) -> Iterator[None]:
    """Send fd 2 (where libbcc and clang write) to a file; append its text to ``sink``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sink.append(capture.read().decode(errors="replace"))


def first_error_line(noise: str) -> str:
    """The line of compiler/loader output most worth showing a user."""
    lines = [line.strip() for line in noise.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return line[:200]
    return lines[-1][:200] if lines else ""


def compile_families(families: list[str]) -> Any:
    from bcc import BPF

    cflags = [f"-DSELFTEST_TGID={os.getpid()}"] + [f"-DSELFTEST_{f.upper()}" for f in families]
    return BPF(text=read_bpf_source("selftest.c"), cflags=cflags)


def hits(bpf: Any, family: str) -> int:
    return int(bpf[f"{family}_hits"][0].value)


def wait_for_hits(bpf: Any, family: str, trigger: Callable[[], object]) -> int:
    """Trigger until the family's counter moves or WAIT_SECONDS pass; return the count."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        trigger()
        count = hits(bpf, family)
        if count:
            return count
    return hits(bpf, family)


def check_syscalls(bpf: Any, args: argparse.Namespace) -> Result:
    errors = []
    for tracepoint in ("raw_syscalls:sys_enter", "syscalls:sys_enter_write"):
        try:
            bpf.attach_tracepoint(tp=tracepoint, fn_name="selftest_syscalls")
        except Exception as error:
            errors.append(f"{tracepoint}: {error}")
            continue
        with open(os.devnull, "wb", buffering=0) as devnull:
            count = wait_for_hits(bpf, "syscalls", lambda: devnull.write(b"x"))
        bpf.detach_tracepoint(tp=tracepoint)
        if count:
            return "ok", f"{tracepoint} fired ({count} syscalls of this process seen)"
        return "missing", f"{tracepoint} attached but saw no event in {WAIT_SECONDS:g} s"
    return "missing", "cannot attach: " + "; ".join(errors)


def check_sched(bpf: Any, args: argparse.Namespace) -> Result:
    tracepoint = "sched:sched_switch"
    bpf.attach_tracepoint(tp=tracepoint, fn_name="selftest_sched")
    count = wait_for_hits(bpf, "sched", lambda: time.sleep(0.002))
    bpf.detach_tracepoint(tp=tracepoint)
    if count:
        return "ok", f"{tracepoint} fired ({count} context switches of this process)"
    return "missing", f"{tracepoint} attached but saw no event in {WAIT_SECONDS:g} s"


def mapped_libc() -> str:
    """The libc this process really has mapped (a uprobe is per file, not per name)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if re.search(r"/libc(\.so|-[\d.]+\.so)", path):
            return path
    raise RuntimeError("libc is not mapped in this process")


def check_uprobe(bpf: Any, args: argparse.Namespace) -> Result:
    libc_path = mapped_libc()
    bpf.attach_uprobe(name=libc_path, sym="getpid", fn_name="selftest_uprobe")
    libc = ctypes.CDLL(libc_path)
    count = wait_for_hits(bpf, "uprobe", libc.getpid)
    bpf.detach_uprobe(name=libc_path, sym="getpid")
    if count:
        return "ok", f"uprobe on getpid in {libc_path} fired ({count} call(s))"
    return "missing", f"uprobe on getpid in {libc_path} attached but never fired"


def check_usdt(bpf: Any, args: argparse.Namespace) -> Result:
    if not args.libjvm:
        return "degraded", "no JDK with a libjvm found: USDT not tested"
    from bcc import USDT

    usdt = USDT(path=args.libjvm)
    usdt.enable_probe("hotspot:gc__begin", "selftest_usdt")
    # By path, no pid: the probes land in every JVM using this libjvm, started now or later.
    locations = usdt.enumerate_active_probes()
    for binary, function, address, _pid in locations:
        bpf.attach_uprobe(name=binary, addr=address, fn_name=function, pid=-1)
    for binary, _function, address, _pid in locations:
        bpf.detach_uprobe(name=binary, addr=address)
    if not locations:
        return "missing", f"hotspot:gc__begin not found in {args.libjvm}"
    return "ok", f"attached hotspot:gc__begin ({len(locations)} site(s)) in {args.libjvm}"


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def check_perf(bpf: Any, args: argparse.Namespace) -> Result:
    from bcc import PerfSWConfig, PerfType

    started = time.process_time()
    bpf.attach_perf_event(
        ev_type=PerfType.SOFTWARE,
        ev_config=PerfSWConfig.CPU_CLOCK,
        fn_name="selftest_perf",
        sample_freq=PERF_FREQUENCY_HZ,
    )
    count = wait_for_hits(bpf, "perf", lambda: _spin(0.01))
    bpf.detach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK)
    cpu_ms = (time.process_time() - started) * 1000
    if count:
        return "ok", f"cpu-clock at {PERF_FREQUENCY_HZ} Hz: {count} samples in {cpu_ms:.0f} ms CPU"
    return "missing", f"cpu-clock attached but no sample in {cpu_ms:.0f} ms of CPU"


def kernel_has_kprobes() -> bool:
    return Path("/sys/bus/event_source/devices/kprobe").exists() or any(
        Path(root, "kprobe_events").exists()
        for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
    )


def check_kprobe(bpf: Any, args: argparse.Namespace) -> Result:
    event = bpf.get_syscall_fnname("getpid").decode()
    try:
        bpf.attach_kprobe(event=event, fn_name="selftest_kprobe")
    except Exception as error:
        if not kernel_has_kprobes():
            return "missing", NO_KPROBES
        return "missing", f"cannot attach a kprobe on {event}: {error}"
    count = wait_for_hits(bpf, "kprobe", os.getppid)
    bpf.detach_kprobe(event=event)
    if count:
        return "ok", f"kprobe on {event} fired ({count} calls)"
    return "degraded", f"kprobe on {event} attached but never fired"


CHECKS: dict[str, Callable[[Any, argparse.Namespace], Result]] = {
    "syscalls": check_syscalls,
    "sched": check_sched,
    "uprobe": check_uprobe,
    "usdt": check_usdt,
    "perf": check_perf,
    "kprobe": check_kprobe,
}


def compile_programs(families: list[str]) -> dict[str, Any]:
    """family -> compiled BPF; a family that will not compile gets an error result instead."""
    noise: list[str] = []
    started = time.monotonic()
    try:
        with captured_stderr(noise):
            bpf = compile_families(families)
        emit({"compiled": families, "seconds": round(time.monotonic() - started, 2)})
        return dict.fromkeys(families, bpf)
    except Exception:
        pass
    programs: dict[str, Any] = {}
    for family in families:
        noise.clear()
        try:
            with captured_stderr(noise):
                programs[family] = compile_families([family])
        except Exception as error:
            why = first_error_line("".join(noise)) or str(error)
            emit({"family": family, "status": "missing", "detail": f"does not compile: {why}"})
    return programs


def run(families: list[str], args: argparse.Namespace) -> None:
    for family, bpf in compile_programs(families).items():
        noise: list[str] = []
        try:
            with captured_stderr(noise):
                status, detail = CHECKS[family](bpf, args)
        except Exception as error:
            said = first_error_line("".join(noise))
            status, detail = "missing", f"{error}" + (f" ({said})" if said else "")
        emit({"family": family, "status": status, "detail": detail})


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--libjvm", default="", help="libjvm.so for the USDT test")
    parser.add_argument(
        "--private-tracefs",
        action="store_true",
        help="mount tracefs in a private mount namespace first (the host has none)",
    )
    parser.add_argument(
        "--fallback-headers",
        nargs="+",
        metavar="DIR",
        help="BUILD [COMMON]: link as /lib/modules/$(uname -r)/{build,source}, privately, first",
    )
    return parser.parse_args(argv)


def prepare_private_view(args: argparse.Namespace) -> None:
    """Show this process the host as `record` would leave it, in a private mount namespace
    (tracefs mounted, fallback headers linked), so the real host stays untouched."""
    if not (args.private_tracefs or args.fallback_headers):
        return
    enter_private_mount_namespace()
    if args.private_tracefs:
        mount_filesystem("tracefs", TRACEFS_DIR)
    if args.fallback_headers:
        build, *common = args.fallback_headers
        mount_filesystem("tmpfs", MODULES_ROOT)
        fallback = FallbackHeaders(Path(build), Path(common[0]) if common else None)
        link_fallback_headers(fallback, platform.release())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        print(f"unknown families: {unknown}", file=sys.stderr)
        return 2
    try:
        prepare_private_view(args)
    except OSError as error:
        for family in families:
            emit({"family": family, "status": "missing", "detail": f"cannot set up: {error}"})
        return 0
    run(families, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
