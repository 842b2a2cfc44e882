"""Session fixtures for the unit tests.

``spark_eventlogs``: real Spark event logs, one application per layout (rolling directory,
single file) and codec (none, zstd, lz4, snappy), all running the same jobs (a task that
fails once and is retried, a shuffle, a job that fails, a SQL query). Generated once per
session by ``eventlog_data/generate_spark_logs.py`` in a subprocess (one JVM for all eight
applications, ~40 s), with Spark's own decompression of every log next to them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

GENERATOR = Path(__file__).parent / "eventlog_data" / "generate_spark_logs.py"
_GENERATOR_TIMEOUT_S = 600


def _spark_available() -> tuple[bool, str]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False, "pyspark is not installed in the venv"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return False, "no Java runtime (java on PATH or JAVA_HOME)"
    return True, ""


@pytest.fixture(scope="session")
def spark_eventlogs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Manifest of the generated logs: dicts with layout, codec, app_id, log, decoded."""
    available, why = _spark_available()
    require(available, why)
    out = tmp_path_factory.mktemp("spark-eventlogs")
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    env.pop("PYSPARK_SUBMIT_ARGS", None)  # the user's own submit args must not leak in
    result = subprocess.run(
        [sys.executable, str(GENERATOR), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=_GENERATOR_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"generating Spark event logs failed:\n{result.stderr[-4000:]}")
    manifest: list[dict[str, Any]] = json.loads((out / "manifest.json").read_text())
    return manifest
