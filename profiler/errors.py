"""The one exception hierarchy of sparkprof, and the exit code each kind maps to.

Every error a user can cause or fix is a ``SparkprofError``: the CLI prints its message
and remedy on one line each and exits with ``exit_code``, never with a traceback.
"""

from __future__ import annotations


class SparkprofError(Exception):
    """Base of all errors shown to a user as one line plus an optional remedy."""

    exit_code: int = 1

    def __init__(self, message: str, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


class UsageError(SparkprofError):
    """Bad arguments or options."""

    exit_code = 2


class InputError(SparkprofError):
    """A path that does not exist, an unreadable file, an unknown codec."""

    exit_code = 2


class OutputError(SparkprofError):
    """An output path that exists (without --force) or cannot be written."""

    exit_code = 2


class PrivilegeError(SparkprofError):
    """An operation needs root (or CAP_BPF + CAP_PERFMON)."""

    exit_code = 2


class HostNotReadyError(SparkprofError):
    """BCC, kernel headers or tracefs are missing: the doctor's remedy applies."""

    exit_code = 2


class CommandNotFoundError(SparkprofError):
    """The profiled command does not exist (the shell's convention: 127)."""

    exit_code = 127
