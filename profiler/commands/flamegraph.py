"""``sparkprof flamegraph DIR``: a flame graph of a recorded run (svg, folded, speedscope,
pprof)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import profiler
from profiler.errors import UsageError
from profiler.flamegraph import FORMATS, KINDS, build_stacks, default_kind, make_filter
from profiler.flamegraph.formats import format_named, write_output
from profiler.flamegraph.svg import format_weight

_EPILOG = """\b
Examples:
  sparkprof flamegraph run1                       # run1/flamegraph-<kind>.svg
  sparkprof flamegraph run1 --kind offcpu --stage 3 --role executor-jvm
  sparkprof flamegraph run1 --format folded -o - | flamegraph.pl > cpu.svg
  sparkprof flamegraph run1 --format pprof -o cpu.pb.gz && go tool pprof -http=: cpu.pb.gz
"""


@click.command("flamegraph", epilog=_EPILOG)
@click.argument("run_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="cpu: on-CPU samples; offcpu: blocked time with stacks; jni: time in "
                   "JNI native methods.  [default: cpu if the run has samples, else offcpu]")
@click.option("--stage", metavar="N[.ATTEMPT]", default=None,
              help="Only the stage's wall window (submission to completion of its last "
                   "attempt, from the event log); concurrent stages in that window count "
                   "too.")
@click.option("--pid", "pids", metavar="PID[,PID...]", multiple=True,
              help="Only these processes (repeatable).")
@click.option("--role", "roles", metavar="ROLE", multiple=True,
              help="Only these roles (repeatable): a process role (executor-jvm, "
                   "python-worker, ...), a process label (\"executor 1\", driver) or a "
                   "thread role (task-runner, shuffle, ...).")
@click.option("--format", "format_name", type=click.Choice(list(FORMATS)), default="svg",
              show_default=True, help="Output format.")
@click.option("-o", "--output", metavar="FILE", default=None,
              help="Output file, '-' for stdout.  [default: DIR/flamegraph-<kind>"
                   "[-stage<N>].<ext>]")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
def command(run_dir: Path, kind: str | None, stage: str | None, pids: tuple[str, ...],
            roles: tuple[str, ...], format_name: str, output: str | None, force: bool) -> None:
    """Draw the stacks recorded in DIR as a flame graph. Every stack starts with its
    process (executor 1, driver, python-worker, ...) and thread role (task-runner, ...);
    off-CPU stacks then carry the state (sleeping, io, preempted). Folded output feeds
    flamegraph.pl and friends; speedscope JSON opens in speedscope.app; pprof in
    `go tool pprof`, Pyroscope and Grafana."""
    profile = profiler.load(run_dir)
    chosen_kind = kind or default_kind(profile)
    selection = make_filter(profile, stage, _parse_pids(pids), roles)
    stacks = build_stacks(profile, chosen_kind, selection)
    out_format = format_named(format_name)
    data = out_format.render(stacks)
    for warning in profile.warnings:
        click.echo(f"sparkprof: warning: {warning}", err=True)
    if output == "-":
        if out_format.binary and sys.stdout.isatty():
            raise UsageError(f"{format_name} output is binary", "redirect it or pass -o FILE")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    stage_part = f"-stage{stage}" if stage is not None else ""
    target = Path(output) if output else (
        run_dir / f"flamegraph-{chosen_kind}{stage_part}.{out_format.extension}")
    write_output(target, data, force)
    click.echo(f"wrote {target} ({chosen_kind}: {len(stacks):,} stacks, "
               f"{format_weight(stacks.total, stacks.unit)})", err=True)


def _parse_pids(values: tuple[str, ...]) -> list[int]:
    pids: list[int] = []
    for value in values:
        for word in value.split(","):
            if not word.strip().isdigit():
                raise UsageError(f"--pid {value!r} is not a process id",
                                 "pass numbers: --pid 4242 or --pid 4242,4243")
            pids.append(int(word))
    return pids
