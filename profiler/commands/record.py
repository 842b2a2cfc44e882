"""``sparkprof record``: run a command (or attach to processes) under the eBPF capture.

    sudo sparkprof record [-o DIR] [--force] [probe options] -- COMMAND [ARGS...]
    sudo sparkprof record --pid PID[,PID...] [--duration S]
    sparkprof record --print-bpf [probe options]
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from profiler.errors import UsageError
from profiler.record.options import ProbeOptions, parse_pid_list, parse_syscall_families

_EPILOG = """\b
Examples:
  sudo sparkprof record -- spark-submit --master local[2] app.py
  sudo sparkprof record -o run1 -- python app.py --rows 1000000
  sudo sparkprof record --pid 4242 --duration 30
"""


@click.command(
    "record",
    epilog=_EPILOG,
    # Everything after the first non-option word is the command, options included.
    context_settings={"allow_interspersed_args": False},
)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Run directory to create [default: ./sparkprof-<app>-<UTC time>].")
@click.option("--force", is_flag=True, help="Replace a previous run directory at -o.")
@click.option("--pid", "pid_spec", metavar="PID[,PID...]", default=None,
              help="Attach to running processes instead of starting a command.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="With --pid: stop after S seconds (default: Ctrl-C).")
@click.option("--syscalls", "syscalls_spec", default="net,io", show_default=True,
              metavar="LIST", help="Syscall families to aggregate: net,io,other / all / none.")
@click.option("--no-offcpu", is_flag=True, help="Do not trace off-CPU time (sched_switch).")
@click.option("--no-gc", is_flag=True, help="Do not trace JVM GC pauses (HotSpot USDT).")
@click.option("--no-jvm-threads", is_flag=True, help="Do not trace JVM thread names.")
@click.option("--no-net-lifecycle", is_flag=True,
              help="Do not trace connects, accepts, closes and TCP retransmits.")
@click.option("--bucket-ms", type=click.IntRange(min=1), default=100, show_default=True,
              help="Time bucket of the in-kernel aggregates.")
@click.option("--slow-syscall-ms", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help="Stream syscalls slower than this with a stack.")
@click.option("--offcpu-block-ms", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help="Stream off-CPU blocks longer than this with stacks.")
@click.option("--sample/--no-sample", default=True, show_default=True,
              help="Sample on-CPU stacks (perf cpu-clock) of the tracked processes.")
@click.option("--sample-hz", type=click.IntRange(min=1, max=10_000), default=49,
              show_default=True, help="On-CPU sampling frequency per CPU.")
@click.option("--jni/--no-jni", default=True, show_default=True,
              help="Time JNI native methods (uprobes on the Java_* symbols of codec, NIO "
                   "and zip libraries and on Netty epoll's registered natives).")
@click.option("--jni-include", multiple=True, metavar="GLOB",
              help="Also trace these libraries (basename glob, e.g. 'libarrow*') or force "
                   "methods past the cost guard ('Java_*Deflater*', 'Class.method'). "
                   "Repeatable.")
@click.option("--jni-exclude", multiple=True, metavar="GLOB",
              help="Do not trace these libraries or methods (same globs). Repeatable.")
@click.option("--jni-interface", is_flag=True,
              help="Trace native code's calls into the VM (hotspot_jni USDT: critical "
                   "regions, bytes copied, a global-reference leak report). Off by "
                   "default: 2-4 us per interface call here (two uprobe hits).")
@click.option("--print-bpf", is_flag=True,
              help="Print the generated BPF C program and exit (needs no root).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[--] COMMAND [ARGS]...")
@click.pass_context
def command(ctx: click.Context, output: Path | None, force: bool, pid_spec: str | None,
            duration: float | None, syscalls_spec: str, no_offcpu: bool, no_gc: bool,
            no_jvm_threads: bool, no_net_lifecycle: bool, bucket_ms: int,
            slow_syscall_ms: float, offcpu_block_ms: float, sample: bool, sample_hz: int,
            jni: bool, jni_include: tuple[str, ...], jni_exclude: tuple[str, ...],
            jni_interface: bool, print_bpf: bool, command: tuple[str, ...]) -> None:
    """Record a Spark application with eBPF into a run directory.

    COMMAND runs as the user who called sudo; its exit status becomes sparkprof's. Ctrl-C
    is passed to the command and the profile is finalized when it exits; a second Ctrl-C
    stops at once (the run directory is kept, marked incomplete).
    """
    probes = ProbeOptions(
        syscalls=parse_syscall_families(syscalls_spec),
        offcpu=not no_offcpu,
        gc=not no_gc,
        jvm_threads=not no_jvm_threads,
        network_lifecycle=not no_net_lifecycle,
        bucket_ms=bucket_ms,
        slow_syscall_ms=slow_syscall_ms,
        offcpu_block_ms=offcpu_block_ms,
        sample=sample,
        sample_hz=sample_hz,
        jni=jni,
        jni_include=jni_include,
        jni_exclude=jni_exclude,
        jni_interface=jni_interface,
    )
    if print_bpf:
        from profiler.capture.program import source_with_flags  # no BCC needed for the text

        click.echo(source_with_flags(probes.to_capture_options()))
        return
    pids = parse_pid_list(pid_spec) if pid_spec is not None else ()
    _check_target(command, pids, duration)
    from profiler.record.recorder import Recorder, RecordRequest

    request = RecordRequest(command=command, pids=pids, output=output, force=force,
                            probes=probes, duration_s=duration, argv=tuple(sys.argv))
    ctx.exit(Recorder(request).run())


def _check_target(command: tuple[str, ...], pids: tuple[int, ...],
                  duration: float | None) -> None:
    if command and pids:
        raise UsageError("give either a command or --pid, not both",
                         "sparkprof record -- COMMAND, or sparkprof record --pid PID")
    if not command and not pids:
        raise UsageError("nothing to record: no command and no --pid",
                         "sparkprof record -- spark-submit app.py (or --pid PID)")
    if duration is not None and not pids:
        raise UsageError("--duration only applies to --pid",
                         "the recording of a command lasts as long as the command")
