#!/usr/bin/env bash
# Quick start, step 1: install everything (idempotent), then profile the bundled demo job end
# to end: the host report, a recorded run of examples/demo_job.py, the Spark event-log
# summary, the per-stage latency-overhead report, and what the profile holds. Output lands in ./sparkprof-demo (replaced each run).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scripts/setup.sh

bin="$repo/.venv/bin"
run_dir="$repo/sparkprof-demo"
echo
echo "== sparkprof doctor"
"$bin/sparkprof" doctor || echo "quickstart: the host is not ready for 'record' (see above)"

echo
echo "== sparkprof record -- python examples/demo_job.py"
# record runs the job as the user who invoked sudo and leaves $run_dir owned by them.
"$bin/sparkprof" record -o "$run_dir" --force -- "$bin/python" examples/demo_job.py

echo
echo "== sparkprof eventlog $run_dir/eventlog"
"$bin/sparkprof" eventlog "$run_dir/eventlog"

echo
echo "== sparkprof report $run_dir   (also: --format html -o report.html; sparkprof flamegraph $run_dir)"
"$bin/sparkprof" report -q "$run_dir"

echo
echo "== profiler.load('$run_dir')"
"$bin/python" -c 'import sys, profiler; print(profiler.load(sys.argv[1]).summary())' "$run_dir"
