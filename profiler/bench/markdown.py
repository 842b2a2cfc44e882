"""The benchmark reports as markdown (report.md of the results directory)."""

from __future__ import annotations

import platform
import time

from profiler.bench.collector import CollectorResults
from profiler.bench.compare import CompareResults
from profiler.bench.overhead import OverheadResults
from profiler.bench.probesets import PROBE_SETS
from profiler.bench.stats import Spread

_CAVEAT = ("Wall times on a shared machine scatter (other users' load); the CPU ratios and "
           "the self-cost are the fairer numbers. BCC compile time is not in the wall ratios.")


def machine_line() -> str:
    load = ", ".join(f"{v:.2f}" for v in _loadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}, "
            f"{platform.machine()}, Linux {platform.release()}, {_cpus()} CPUs; "
            f"load average at report time {load}")


def _loadavg() -> tuple[float, float, float]:
    import os

    return os.getloadavg()


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _pct(value: Spread | None) -> str:
    return value.percent() if value else "n/a"


def _plain(value: Spread | None, digits: int = 2) -> str:
    return value.plain(digits) if value else "n/a"


def overhead_markdown(results: OverheadResults) -> str:
    lines = ["# sparkprof bench overhead", "", machine_line(), "",
             f"{results.repeats} A/B pair(s) per workload and probe set (A plain, B under "
             f"`sparkprof record`, alternating), {results.rows:,} rows. Median (min / max).",
             "", _CAVEAT, ""]
    if results.interrupted:
        lines += ["**Interrupted: partial results.**", ""]
    lines += ["| probe set | workload | pairs | wall overhead | job overhead | CPU ratio B/A | "
              "self-cost % | compile s | lost |", "|---|---|---|---|---|---|---|---|---|"]
    for s in results.summaries():
        lines.append(f"| {s.probe_set} | {s.workload} | {s.pairs} | {_pct(s.wall_ratio)} | "
                     f"{_pct(s.job_ratio)} | {_plain(s.cpu_ratio, 3)} | "
                     f"{_plain(s.self_cost_pct)} | {_plain(s.compile_s)} | {s.lost_events} |")
    lines += ["", "wall: the workload process (JVM start-up included); job: the workload's own "
              "timing of its queries; CPU ratio: profiled processes' CPU (sched_switch) over "
              "the plain run's process tree CPU (rusage); self-cost: BPF run time + collector "
              "CPU as % of the workload's CPU (BPF time counts every process that hits a "
              "probe, so it is an upper bound on a shared machine).", "",
              "## Targets (default probe set)", ""]
    verdicts = results.verdicts()
    lines += [f"- {v}" for v in verdicts] or ["- no default probe set results"]
    lines += ["", "## Probe sets", ""]
    lines += [f"- {name}: `{' '.join(['sparkprof record', *PROBE_SETS[name]])}`"
              for name in results.probe_sets]
    errors = sorted({f"{p.workload}/{v}: {e}" for p in results.pairs
                     for v, e in (p.plain.errors | p.profiled.errors).items()})
    if errors:
        lines += ["", "## Variants that did not run", ""] + [f"- {e}" for e in errors]
    lines += ["", "![overhead](overhead.png)", ""]
    return "\n".join(lines)


def compare_markdown(results: CompareResults) -> str:
    lines = ["# sparkprof bench compare", "", machine_line(), "",
             f"Each variant profiled once (probe set {results.probe_set}), {results.rows:,} "
             "rows; pairs fed to `sparkprof compare`.", ""]
    if results.interrupted:
        lines += ["**Interrupted: partial results.**", ""]
    lines += ["| run | job s | self-cost % | lost |", "|---|---|---|---|"]
    for key, run in results.runs.items():
        cost = f"{run.self_cost_pct:.2f}" if run.self_cost_pct is not None else "n/a"
        lines.append(f"| {key} | {run.job_s:.2f} | {cost} | {run.lost_events} |")
    lines += ["", "## Comparisons", ""]
    lines += [f"- {c.workload}, {c.baseline} -> {c.other}: {c.summary} "
              f"([report]({c.report_file}))" for c in results.comparisons] or ["- none"]
    if results.errors:
        lines += ["", "## Not compared", ""] + [f"- {e}" for e in results.errors]
    lines += ["", "![variants](variants.png)", ""]
    return "\n".join(lines)


def collector_markdown(results: CollectorResults) -> str:
    lines = ["# sparkprof bench collector", "", machine_line(), "",
             f"Synthetic producer (benchmarks/bench_collector.py): {results.events:,} events, "
             f"{results.producers} producer(s) per run, every write streamed.", ""]
    if results.interrupted:
        lines += ["**Interrupted: partial results.**", ""]
    lines += ["| run | expected | received | lost | events/s | collector CPU s | "
              "events per collector CPU-s |", "|---|---|---|---|---|---|---|"]
    for index, r in enumerate(results.runs, 1):
        lines.append(f"| {index} | {int(r['expected']):,} | {int(r['received']):,} | "
                     f"{int(r['lost']):,} | {r['events_per_s']:,.0f} | "
                     f"{r['collector_cpu_s']:.2f} | "
                     f"{r.get('collector_capacity_per_s', 0.0):,.0f} |")
    lines += ["", f"Target: {results.verdict() or 'no runs'}", "",
              "events/s is bounded by the producer's own rate (a busy shared machine slows "
              "it); the last column is what one core of collector sustains.", "",
              "![collector](collector.png)", ""]
    return "\n".join(lines)
