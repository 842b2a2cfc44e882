"""Where the BPF C sources live: the installed ``profiler.bpf`` package data, or ``bpf/``
beside the package in a source checkout (editable installs cannot map a data-only folder)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bpf_source_dir() -> Path:
    # A source checkout's own bpf/ wins over whatever an editable install maps, so that a
    # second work tree sharing one venv loads its own programs.
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "bpf" / "common.h").is_file():
        return checkout / "bpf"
    try:
        return Path(str(resources.files("profiler.bpf")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "bpf"


def read_bpf_source(name: str) -> str:
    """The text of ``bpf/<name>`` (e.g. ``"syscalls.c"``)."""
    return (bpf_source_dir() / name).read_text(encoding="utf-8")
