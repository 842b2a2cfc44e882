"""The output formats (name, file extension, renderer) and the one place that writes files.

Renderers are pure (StackTable -> bytes); ``write_output`` is what the CLI and
``FlameGraph.save`` use, refusing to replace a file unless told to.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from profiler.errors import OutputError, UsageError
from profiler.flamegraph.folded import render_folded
from profiler.flamegraph.pprof import render_pprof
from profiler.flamegraph.speedscope import render_speedscope
from profiler.flamegraph.stacks import StackTable
from profiler.flamegraph.svg import render_svg


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str  # without the leading dot
    render: Callable[[StackTable], bytes]
    binary: bool = False  # not for a terminal


FORMATS: dict[str, OutputFormat] = {
    "folded": OutputFormat("folded", "folded",
                           lambda table: render_folded(table).encode("utf-8")),
    "svg": OutputFormat("svg", "svg", lambda table: render_svg(table).encode("utf-8")),
    "speedscope": OutputFormat("speedscope", "speedscope.json",
                               lambda table: render_speedscope(table).encode("utf-8")),
    "pprof": OutputFormat("pprof", "pb.gz", render_pprof, binary=True),
}


def format_named(name: str) -> OutputFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown flame-graph format {name!r}",
                         f"use one of: {', '.join(FORMATS)}") from None


def format_for_path(path: Path) -> OutputFormat:
    """The format a file name asks for (``x.svg``, ``x.folded``, ``x.pb.gz``, ...)."""
    name = path.name.lower()
    for output in sorted(FORMATS.values(), key=lambda f: -len(f.extension)):
        if name.endswith("." + output.extension):
            return output
    if name.endswith(".json"):
        return FORMATS["speedscope"]
    if name.endswith((".txt", ".collapsed")):
        return FORMATS["folded"]
    endings = ", ".join("." + output.extension for output in FORMATS.values())
    raise UsageError(f"cannot tell the format of {path.name}",
                     f"end the name in one of: {endings}, or pass the format")


def write_output(path: Path, data: bytes, force: bool) -> None:
    """Write ``data`` to ``path``: OutputError if it exists (without ``force``) or fails.

    Written to a temporary file in the same folder and renamed, so a reader never sees
    half a flame graph and a failed write leaves any old file intact.
    """
    if path.is_dir():
        raise OutputError(f"{path} is a directory", "pass a file name with -o")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists", "pass --force to replace it, or -o NAME")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644 & ~_umask())
            if not force and path.exists():  # appeared while we rendered
                raise OutputError(f"{path} already exists", "pass --force to replace it")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}",
                          "check the folder exists, is writable and has space") from error


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
