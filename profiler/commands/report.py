"""``sparkprof report DIR``: the latency-overhead report of a recorded run."""

from __future__ import annotations

import time
from pathlib import Path

import click

import profiler
from profiler.report import RENDERERS, build_report, write_report
from profiler.report.output import FORMAT_NAMES, check_output

_EPILOG = """\b
Examples:
  sparkprof report run1                          # text on the terminal
  sparkprof report run1 --format html -o run1.html
  sparkprof report run1 --format json | jq '.stages[] | {stage_id, breakdown_ms}'
"""


class Progress:
    """Progress lines on stderr ("sparkprof: correlating ... (1.2 s)"), never on stdout."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.perf_counter()

    def __call__(self, message: str, done: bool = False) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            ending = f" in {elapsed:.1f} s" if done else f"... ({elapsed:.1f} s)"
            click.echo(f"sparkprof: {message}{ending}", err=True)


@click.command("report", epilog=_EPILOG)
@click.argument("run_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--format", "format_name", type=click.Choice(FORMAT_NAMES), default="text",
              show_default=True, help="Output format (html: one self-contained file).")
@click.option("-o", "--output", metavar="FILE", default=None,
              help="Write to FILE instead of stdout ('-' = stdout).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Number of findings.")
@click.option("--flamegraphs", type=click.IntRange(min=0), default=3, show_default=True,
              help="HTML: embed flame graphs of this many stages (largest first).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
def command(run_dir: Path, format_name: str, output: str | None, force: bool, top: int,
            flamegraphs: int, quiet: bool) -> None:
    """Break each stage's task time in DIR down into on-CPU, network (by peer), file I/O,
    JNI, GC, lock waits and other off-CPU time, next to Spark's own metrics; missing data
    is shown as "not captured", never as 0."""
    progress = Progress(quiet)
    check_output(output, force)  # fail before the work, not after it
    progress(f"loading {run_dir}")
    profile = profiler.load(run_dir)
    renderer = RENDERERS[format_name]
    report = build_report(profile, top_findings=top,
                          latency=True,
                          flamegraph_stages=flamegraphs if renderer.needs_figures else 0,
                          progress=progress)
    progress(f"rendering {format_name}" + (" figures" if renderer.needs_figures else ""))
    text = renderer.render(report)
    written = write_report(text, output, force)
    if written is not None:
        progress(f"wrote {written}", done=True)
