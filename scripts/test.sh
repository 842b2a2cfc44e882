#!/usr/bin/env bash
# The test command (README "Quick start", step 2; .ci/run calls it verbatim).
# Runs set-up (idempotent, fast when done), the linters, then every test. As root, the
# root-only tests (BPF loading, record under real Spark) run for real; in CI (CI=true)
# a root-only test that cannot run fails instead of skipping.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scripts/setup.sh
echo "test: ruff"
.venv/bin/ruff check profiler tests benchmarks examples
echo "test: mypy"
.venv/bin/mypy profiler
echo "test: pytest"
exec .venv/bin/python -m pytest "$@"
