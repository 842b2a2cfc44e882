"""The results directory: created fresh (never overwritten without --force), written file by
file so that an interrupted benchmark keeps what it had."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from profiler.errors import OutputError


def default_results_dir() -> Path:
    return Path("bench-results") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def create_results_dir(path: Path | None, force: bool) -> Path:
    target = path or default_results_dir()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a directory", "choose another -o")
    if target.exists() and any(target.iterdir()):
        if not force:
            raise OutputError(f"results directory {target} exists and is not empty",
                              "choose another -o, or pass --force to replace it")
        shutil.rmtree(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {target}: {error.strerror}",
                          "choose a writable -o") from error
    return target


def write_json(path: Path, payload: Any) -> None:
    """Atomic: a reader never sees half a file."""
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    partial.replace(path)
