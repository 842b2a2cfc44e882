"""FdResolver: pipes between a Spark JVM and its Python processes count as bridge traffic."""

from __future__ import annotations

import os
import subprocess

from profiler.capture.fds import FdResolver


def test_a_pipe_to_a_python_process_is_classified_by_the_other_ends_role() -> None:
    read_end, write_end = os.pipe()
    # The child holds the write end as its stdout, like pyspark.daemon telling its port.
    child = subprocess.Popen(["sleep", "30"], stdout=write_end)
    os.close(write_end)
    roles = {os.getpid(): "executor-jvm", child.pid: "pyspark-daemon"}
    try:
        resolver = FdResolver(roles.get, lambda: list(roles), set)
        target = resolver.resolve_now(os.getpid(), read_end)
        assert target is not None
        assert (target.kind, target.peer_class) == ("pipe", "python-worker")
        roles[child.pid] = "other"  # a pipe to an unrelated helper stays out of network
        other = FdResolver(roles.get, lambda: list(roles), set).resolve_now(os.getpid(),
                                                                            read_end)
        assert other is not None and other.kind == "other"
    finally:
        child.kill()
        child.wait()
        os.close(read_end)
