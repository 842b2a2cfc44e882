"""The run directory: the versioned on-disk contract between ``record`` and the analysis side.

Format: docs/format.md. ``RunWriter`` writes it (capture side, as root), ``create_run_dir``
makes DIR itself, ``profiler.load`` (profiler.profile) reads it without root or BCC.
"""

from __future__ import annotations

from profiler.rundir.directory import create_run_dir, default_run_dir_name
from profiler.rundir.histogram import histogram_matrix
from profiler.rundir.schema import DEFAULT_BUCKET_NS, FORMAT_VERSION, TABLES
from profiler.rundir.writer import RunWriter

__all__ = [
    "DEFAULT_BUCKET_NS",
    "FORMAT_VERSION",
    "TABLES",
    "RunWriter",
    "create_run_dir",
    "default_run_dir_name",
    "histogram_matrix",
]
