"""Whether the distribution's BCC Python bindings are importable, and which version."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class BccInfo:
    version: str | None
    path: str | None
    problem: str | None


def find_bcc() -> BccInfo:
    """Import ``bcc`` (lazily: it costs ~0.1 s and only capture needs it) and describe it."""
    try:
        bcc = importlib.import_module("bcc")
    except ImportError as error:
        return BccInfo(None, None, f"cannot import bcc: {error}")
    except Exception as error:  # libbcc.so missing or broken raises OSError and friends
        return BccInfo(None, None, f"importing bcc failed: {type(error).__name__}: {error}")
    path = getattr(bcc, "__file__", None)
    if not hasattr(bcc, "BPF"):
        # PyPI's "bcc" is an unrelated library that shadows the distribution's bindings.
        return BccInfo(None, path, f"the bcc module at {path} is not BCC (no bcc.BPF)")
    return BccInfo(str(getattr(bcc, "__version__", "unknown")), path, None)


def bcc_version() -> str | None:
    """BCC's version (e.g. ``"0.26.0"``), or None when the bindings are missing."""
    return find_bcc().version
