"""The layout promises of the README: packages listed, BPF sources shipped, the quick start's
test command is what CI runs, and the CLI answers without root, BCC or Spark."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.conftest import REPO, VENV_BIN


def _quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README Quick start has no ```bash block"
    return [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "profiler").rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert "profiler.bpf" in listed


def test_bpf_sources_are_found() -> None:
    from profiler.bpf_sources import bpf_source_dir

    sources = sorted(p.name for p in bpf_source_dir().glob("*.c"))
    assert sources, f"no BPF C sources under {bpf_source_dir()}"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    ci_script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = commands[1].removeprefix("sudo ").strip()
    assert test_command in ci_script


def test_cli_help_lists_the_commands() -> None:
    out = subprocess.run(
        [str(VENV_BIN / "sparkprof"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("doctor", "eventlog"):
        assert name in out


def test_import_profiler_does_not_import_bcc_or_pyspark() -> None:
    code = "import sys, profiler; print('bcc' in sys.modules, 'pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
