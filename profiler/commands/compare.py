"""``sparkprof compare A B``: what changed between two runs, and where."""

from __future__ import annotations

from pathlib import Path

import click

import profiler
from profiler.commands.report import Progress
from profiler.comparison import RENDERERS, compare_reports
from profiler.report import build_report, write_report
from profiler.report.output import FORMAT_NAMES, check_output

_EPILOG = """\b
Examples:
  sparkprof compare baseline-run arrow-run
  sparkprof compare run1 run2 --format html -o diff.html
"""


@click.command("compare", epilog=_EPILOG)
@click.argument("run_a", metavar="A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="B", type=click.Path(path_type=Path))
@click.option("--format", "format_name", type=click.Choice(FORMAT_NAMES), default="text",
              show_default=True, help="Output format (html: one self-contained file).")
@click.option("-o", "--output", metavar="FILE", default=None,
              help="Write to FILE instead of stdout ('-' = stdout).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
def command(run_a: Path, run_b: Path, format_name: str, output: str | None, force: bool,
            quiet: bool) -> None:
    """Compare run B with run A: stages matched by job order and name, per-stage and
    end-to-end wall-time deltas, and the categories the difference comes from
    (e.g. "+11.3% end to end: +8.1% network: Python worker bridge, +2.0% GC pauses")."""
    progress = Progress(quiet)
    check_output(output, force)  # fail before the work, not after it
    reports = []
    for label, run in (("A", run_a), ("B", run_b)):
        progress(f"loading {label} = {run}")
        reports.append(build_report(profiler.load(run), progress=progress))
    progress("matching stages")
    comparison = compare_reports(reports[0], reports[1])
    progress(f"rendering {format_name}")
    written = write_report(RENDERERS[format_name].render(comparison), output, force)
    if written is not None:
        progress(f"wrote {written}", done=True)
