"""``sparkprof doctor [--json]``: what will work on this host, and how to fix what won't."""

from __future__ import annotations

import click

from profiler.doctor.render import render_json, render_text
from profiler.doctor.run import run_doctor


@click.command(name="doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def command(as_json: bool) -> None:
    """Check this host for profiling: privileges, BCC, kernel headers, tracefs, each probe
    family (by loading a tiny BPF program), JDKs, PySpark and the Python workers.

    Exits 0 when `sparkprof record` can run with its default probe set, 1 otherwise.
    """
    report = run_doctor()
    click.echo(render_json(report) if as_json else render_text(report))
    if not report.ready:
        raise click.exceptions.Exit(1)
