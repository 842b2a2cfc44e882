"""What ``--jni-interface`` costs per JNI interface call: tests/integration/programs/RefLeak.java
in its bench mode times loops of GetByteArrayRegion, Get/ReleaseLongArrayElements,
NewGlobalRef+DeleteGlobalRef pairs, GetStringRegion, NewStringUTF+DeleteLocalRef pairs and
NewIntArray left to the VM (the best of 5 rounds each) run alone,
under ``record --no-jni --no-sample`` and under the same plus ``--jni-interface``; rounds
interleave the modes and medians are printed with the per-call difference. Root needed::

    sudo .venv/bin/python benchmarks/bench_jni_iface.py --rounds 3 [--calls 20000]

``--baseline-tree DIR`` adds a fourth mode, ``--jni-interface`` recorded by the sparkprof in
DIR (e.g. ``git archive`` of an older commit), interleaved with the others so both versions
see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
PROGRAMS = REPO / "tests" / "integration" / "programs"
MODES = {"alone": None, "record": ["--no-jni", "--no-sample"],
         "record+jni-interface": ["--no-jni", "--no-sample", "--jni-interface"]}


def build(work: Path) -> Path:
    javac = shutil.which("javac")
    if javac is None or shutil.which("gcc") is None:
        raise SystemExit("needs javac and gcc")
    include = Path(os.path.realpath(javac)).parent.parent / "include"
    for name in ("RefLeak.java", "reftest.c"):
        shutil.copy(PROGRAMS / name, work)
    subprocess.run(["javac", "RefLeak.java"], cwd=work, check=True)
    library = work / "libreftest.so"
    subprocess.run(["gcc", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC",
                    f"-I{include}", f"-I{include / 'linux'}", "-o", str(library),
                    "reftest.c"], cwd=work, check=True)
    return library


def run(work: Path, library: Path, flags: list[str] | None, calls: int,
        tree: Path | None = None) -> dict[str, float]:
    java = ["java", "-cp", str(work), "RefLeak", "bench", str(library), "2500", str(calls)]
    argv = java if flags is None else [str(BIN / "sparkprof"), "record", "-o",
                                       str(work / "run"), "--force", *flags, "--", *java]
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600,
                          env=env)
    timings = {}
    for line in done.stdout.splitlines():
        name, _, ns = line.rpartition("\t")
        if name:
            timings[name] = float(ns)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="a source tree whose sparkprof records the baseline mode")
    args = parser.parse_args()
    modes: dict[str, tuple[list[str] | None, Path | None]] = {
        mode: (flags, None) for mode, flags in MODES.items()}
    if args.baseline_tree is not None:
        modes["baseline+jni-interface"] = (MODES["record+jni-interface"],
                                           args.baseline_tree.resolve())
    per_mode: dict[str, dict[str, list[float]]] = {mode: {} for mode in modes}
    with tempfile.TemporaryDirectory(prefix="bench-jni-iface-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        library = build(work)
        for _ in range(args.rounds):
            for mode, (flags, tree) in modes.items():
                for name, ns in run(work, library, flags, args.calls, tree).items():
                    per_mode[mode].setdefault(name, []).append(ns)
    baseline = "baseline+jni-interface" in modes
    print(f"{'ns per call (median of rounds)':38s}" + "".join(f"{m:>24s}" for m in modes)
          + f"{'interface adds':>16s}" + (f"{'vs baseline':>14s}" if baseline else ""))
    for name in per_mode["alone"]:
        medians = [statistics.median(per_mode[mode][name]) for mode in modes]
        line = (f"{name:38s}" + "".join(f"{m:24.0f}" for m in medians)
                + f"{medians[2] - medians[1]:16.0f}")
        if baseline:  # paired: the median of each round's difference
            pairs = zip(per_mode["record+jni-interface"][name],
                        per_mode["baseline+jni-interface"][name], strict=True)
            line += f"{statistics.median([new - old for new, old in pairs]):+14.0f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
