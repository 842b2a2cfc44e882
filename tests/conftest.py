"""Shared test policy.

Tests marked ``root`` need root (they load BPF programs). Off CI they skip without root;
in CI (``CI=true``, run as root) a root test that cannot run is a failure, never a skip.
Helpers that find a missing capability inside a test call ``require(condition, why)``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
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


@contextlib.contextmanager
def waiting_child() -> Iterator[int]:
    """The pid of a forked copy of this process (same memory, same mappings) that lives until
    the block ends; then it exits and is reaped."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(write_end)
        os.read(read_end, 1)
        os._exit(0)
    os.close(read_end)
    try:
        yield child
    finally:
        os.close(write_end)
        os.waitpid(child, 0)
