"""Shared test policy.

Tests marked ``root`` need root (they load BPF programs). Off CI they skip without root;
in CI (``CI=true``, run as root) a root test that cannot run is a failure, never a skip.
Helpers that find a missing capability inside a test call ``require(condition, why)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a capability a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required capability missing in CI: {why}")
    pytest.skip(why)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None:
        require(os.geteuid() == 0, "needs root")
