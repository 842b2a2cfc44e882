"""Output formats of reports and comparisons, and the one function that writes them."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from profiler.errors import OutputError
from profiler.report.jsonout import render_json
from profiler.report.markdown import render_markdown
from profiler.report.model import Report
from profiler.report.text import render_text

Model = TypeVar("Model")
FORMAT_NAMES = ("text", "md", "json", "html")


@dataclass(frozen=True)
class Renderer(Generic[Model]):
    name: str
    extension: str
    render: Callable[[Model], str]
    needs_figures: bool = False  # latency histograms and flame graphs are worth building


def _html(report: Report) -> str:
    from profiler.report.html import render_html  # imports matplotlib: only when asked

    return render_html(report)


RENDERERS: dict[str, Renderer[Report]] = {
    "text": Renderer("text", "txt", render_text),
    "md": Renderer("md", "md", render_markdown),
    "json": Renderer("json", "json", render_json, needs_figures=False),
    "html": Renderer("html", "html", _html, needs_figures=True),
}


def check_output(output: str | None, force: bool) -> None:
    """OutputError now (before any work) if ``output`` is a folder, or exists without
    ``force``; stdout (None or "-") is always fine."""
    if output in (None, "-"):
        return
    path = Path(output)
    if path.is_dir():
        raise OutputError(f"{path} is a directory", "pass a file name with -o")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists", "pass --force to replace it, or -o NAME")


def write_report(text: str, output: str | None, force: bool) -> Path | None:
    """``text`` to stdout (``output`` None or "-") or to a file: OutputError when the file
    exists and ``force`` is false, or cannot be written. Atomic (temp file + rename)."""
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    path = Path(output)
    check_output(output, force)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=folder)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror}",
                          "check that the folder exists and is writable") from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {error.strerror}",
                          "check free space and permissions") from error
    return path
