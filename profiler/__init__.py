"""sparkprof: an eBPF profiler for Apache Spark.

The analysis half (this package's top level) needs neither root, BCC, Java nor Spark:
``profiler.read_eventlog(path)`` reads Spark event logs and ``profiler.load(run_dir)``
reads a recorded run directory. Only ``profiler.capture`` imports ``bcc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from profiler.comparison import compare
    from profiler.eventlog import EventLog, read_eventlog
    from profiler.profile import Profile, load

__all__ = ["EventLog", "Profile", "__version__", "compare", "load", "read_eventlog"]


def __getattr__(name: str) -> Any:
    # Lazy so `import profiler` stays cheap for the CLI and for notebooks.
    if name in ("EventLog", "read_eventlog"):
        from profiler import eventlog

        return getattr(eventlog, name)
    if name in ("Profile", "load"):
        from profiler import profile

        return getattr(profile, name)
    if name == "compare":
        from profiler.comparison import compare

        return compare
    raise AttributeError(f"module 'profiler' has no attribute {name!r}")
