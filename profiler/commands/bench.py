"""``sparkprof bench overhead|compare|collector``: benchmark reports into a results directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from profiler.bench.results import create_results_dir, write_json
from profiler.commands.report import Progress
from profiler.errors import PrivilegeError, UsageError

_EPILOG = """\b
Examples:
  sudo sparkprof bench overhead --repeats 3
  sudo sparkprof bench overhead --workloads aggregation,bridge --probe-sets default,jni
  sudo sparkprof bench compare --rows 200000
  sudo sparkprof bench collector --events 2000000
"""

_RESULTS_OPTIONS = [
    click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
                 help="Results directory [default: ./bench-results/<UTC time>]."),
    click.option("--force", is_flag=True, help="Replace a non-empty results directory."),
    click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr."),
]


def _results_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_RESULTS_OPTIONS):
        function = option(function)
    return function


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise PrivilegeError(f"sparkprof bench {what} needs root (it loads BPF programs)",
                             f"run it with sudo: sudo sparkprof bench {what} ...")


def _rows_option(default_help: str) -> Callable[..., Any]:
    return click.option("--rows", type=click.IntRange(min=1), default=1_000_000,
                        show_default=True, help=default_help)


@click.group("bench", epilog=_EPILOG)
def command() -> None:
    """Benchmark the profiler on the PySpark workload suite (benchmarks/workloads/): overhead,
    variant comparisons and collector throughput. Each writes report.md, PNG figures and
    results.json into a results directory; Ctrl-C keeps the results so far."""


@command.command("overhead")
@click.option("--workloads", default="all", show_default=True,
              help="Comma list of aggregation,bridge,shuffle,codecs,client_paths or 'all'.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="A/B pairs per workload and probe set.")
@click.option("--probe-sets", default="default", show_default=True,
              help="Comma list of default,jni,offcpu-stacks,all.")
@_rows_option("Generated rows per workload.")
@_results_options
def overhead(workloads: str, repeats: int, probe_sets: str, rows: int, output: Path | None,
             force: bool, quiet: bool) -> None:
    """Each workload plain and under `sparkprof record`, alternating, per probe set: median
    paired wall ratio (min/max), CPU ratio, self-cost %, BCC compile time apart."""
    from profiler.bench.figures import overhead_figure
    from profiler.bench.markdown import overhead_markdown
    from profiler.bench.overhead import OverheadResults, run_overhead
    from profiler.bench.probesets import parse_probe_sets
    from profiler.bench.workloads import select

    chosen, sets = select(workloads), parse_probe_sets(probe_sets)
    _require_root("overhead")
    out = create_results_dir(output, force)
    progress = Progress(quiet)
    results = OverheadResults(rows, repeats, sets, [w.name for w in chosen])

    def save(current: OverheadResults) -> None:
        write_json(out / "results.json", current.to_json())
        (out / "report.md").write_text(overhead_markdown(current))
        if current.pairs:
            overhead_figure(current, out / "overhead.png")

    _run_keeping_results(lambda: run_overhead(results, chosen, progress, save), results,
                         save, progress, out)


@command.command("compare")
@click.option("--workloads", default="all", show_default=True,
              help="Comma list of bridge,codecs,client_paths or 'all'.")
@click.option("--probe-set", default="default", show_default=True,
              help="Probe set of the profiled runs.")
@_rows_option("Generated rows per run.")
@_results_options
def compare(workloads: str, probe_set: str, rows: int, output: Path | None, force: bool,
            quiet: bool) -> None:
    """Profile each variant of the bridge, codecs and client-path workloads and compare them
    with `sparkprof compare` (e.g. Python UDF vs SQL): where the time goes."""
    from profiler.bench.compare import CompareResults, run_compare
    from profiler.bench.figures import variants_figure
    from profiler.bench.markdown import compare_markdown
    from profiler.bench.probesets import parse_probe_sets
    from profiler.bench.workloads import select

    chosen = select(workloads, comparisons_only=True)
    sets = parse_probe_sets(probe_set)
    if len(sets) != 1:
        raise UsageError(f"--probe-set takes one probe set, got {probe_set!r}",
                         "e.g. --probe-set default")
    _require_root("compare")
    out = create_results_dir(output, force)
    progress = Progress(quiet)
    results = CompareResults(rows, sets[0])

    def save(current: CompareResults) -> None:
        write_json(out / "results.json", current.to_json())
        (out / "report.md").write_text(compare_markdown(current))
        if current.runs:
            variants_figure(current, out / "variants.png")

    _run_keeping_results(lambda: run_compare(results, chosen, out, progress, save), results,
                         save, progress, out)


@command.command("collector")
@click.option("--events", type=click.IntRange(min=1000), default=2_000_000, show_default=True,
              help="Events per run.")
@click.option("--producers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@_results_options
def collector(events: int, producers: int, repeats: int, output: Path | None, force: bool,
              quiet: bool) -> None:
    """Sustained events/s through the collector with zero loss, from a synthetic producer."""
    from profiler.bench.collector import CollectorResults, run_collector
    from profiler.bench.figures import collector_figure
    from profiler.bench.markdown import collector_markdown

    _require_root("collector")
    out = create_results_dir(output, force)
    progress = Progress(quiet)
    results = CollectorResults(events, producers)

    def save(current: CollectorResults) -> None:
        write_json(out / "results.json", current.to_json())
        (out / "report.md").write_text(collector_markdown(current))
        if current.runs:
            collector_figure(current, out / "collector.png")

    _run_keeping_results(lambda: run_collector(results, repeats, progress, save), results,
                         save, progress, out)


def _run_keeping_results(work: Callable[[], None], results: Any, save: Callable[[Any], None],
                         progress: Progress, out: Path) -> None:
    """Run the benchmark; on Ctrl-C or a failed run, still write what was measured."""
    from profiler.bench.procs import become_subreaper

    become_subreaper()
    try:
        work()
    except KeyboardInterrupt:
        results.interrupted = True
        save(results)
        progress(f"interrupted; partial results in {out}", done=True)
        raise SystemExit(130) from None
    except BaseException:
        results.interrupted = True
        save(results)
        raise
    save(results)
    progress(f"wrote {out}/report.md", done=True)
