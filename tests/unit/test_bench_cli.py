"""`sparkprof bench` refuses clearly, before any work: no root, unknown names, bad options."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from profiler.cli import main
from profiler.commands import bench


@pytest.mark.parametrize("subcommand", ["overhead", "compare", "collector"])
def test_without_root_one_line_privilege_error(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path, subcommand: str) -> None:
    monkeypatch.setattr(bench.os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(main, ["bench", subcommand, "-o", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"error: sparkprof bench {subcommand} needs root" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()  # refused before creating anything


def test_unknown_workload_and_probe_set_are_usage_errors() -> None:
    result = CliRunner().invoke(main, ["bench", "overhead", "--workloads", "nope"])
    assert result.exit_code == 2 and "unknown workload(s): nope" in result.output
    result = CliRunner().invoke(main, ["bench", "overhead", "--probe-sets", "default,x"])
    assert result.exit_code == 2 and "unknown probe set(s): x" in result.output
    result = CliRunner().invoke(main, ["bench", "compare", "--workloads", "aggregation"])
    assert result.exit_code == 2 and "choose from bridge, codecs, client_paths" in result.output
    result = CliRunner().invoke(main, ["bench", "compare", "--probe-set", "default,jni"])
    assert result.exit_code == 2 and "takes one probe set" in result.output
