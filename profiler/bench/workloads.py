"""The workload scripts of benchmarks/workloads/ (a source checkout), their variants and the
variant pairs ``bench compare`` profiles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profiler.errors import InputError, UsageError

REPO = Path(__file__).resolve().parent.parent.parent
WORKLOAD_DIR = REPO / "benchmarks" / "workloads"


@dataclass(frozen=True)
class Workload:
    name: str
    variants: tuple[str, ...]
    # (baseline, other) pairs for ``bench compare``; empty: not a comparison workload.
    comparisons: tuple[tuple[str, str], ...] = ()

    @property
    def script(self) -> Path:
        return WORKLOAD_DIR / f"{self.name}.py"


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("aggregation", ("sql",)),
    Workload("bridge", ("sql", "python-udf", "pandas-udf"),
             (("sql", "python-udf"), ("sql", "pandas-udf"))),
    Workload("shuffle", ("join-sort",)),
    Workload("codecs", ("lz4", "zstd", "snappy"), (("lz4", "zstd"), ("lz4", "snappy"))),
    Workload("client_paths", ("classic", "connect"), (("classic", "connect"),)),
)}


def select(text: str, comparisons_only: bool = False) -> list[Workload]:
    """Workloads named in ``text`` ("all" or a comma list); checks the scripts exist."""
    pool = {n: w for n, w in WORKLOADS.items() if w.comparisons or not comparisons_only}
    names = list(pool) if text.strip() == "all" else [
        n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in pool]
    if unknown or not names:
        raise UsageError(f"unknown workload(s): {', '.join(unknown) or '(none)'}",
                         f"choose from {', '.join(pool)} or 'all'")
    chosen = [pool[n] for n in names]
    missing = [str(w.script) for w in chosen if not w.script.is_file()]
    if missing:
        raise InputError(f"workload script not found: {missing[0]}",
                         "run sparkprof bench from a source checkout (benchmarks/workloads/)")
    return chosen
