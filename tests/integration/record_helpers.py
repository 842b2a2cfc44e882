"""Helpers shared by the `sparkprof record` integration tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO, VENV_BIN

SPARKPROF = str(VENV_BIN / "sparkprof")
PYTHON = str(VENV_BIN / "python")
PROGRAMS = REPO / "tests" / "integration" / "programs"
NOBODY = {"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody"}


@dataclass
class ByteCounter:
    """A loopback TCP server that counts what each connection sends until it closes."""

    port: int = 0
    received: list[int] = field(default_factory=list)


@contextmanager
def byte_counting_server() -> Iterator[ByteCounter]:
    server = socket.create_server(("127.0.0.1", 0))
    counter = ByteCounter(server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                total = 0
                while chunk := connection.recv(1 << 16):
                    total += len(chunk)
                counter.received.append(total)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        stop.set()
        thread.join(5)
        server.close()


@contextmanager
def shared_workdir() -> Iterator[Path]:
    """A folder every user may enter and write (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="sparkprof-record-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def record_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SUDO_") and key not in ("SPARK_SUBMIT_OPTS",
                                                          "PYSPARK_SUBMIT_ARGS")}
    env["PYSPARK_PYTHON"] = PYTHON
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra or {})
    return env


def start_record(args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([SPARKPROF, "record", *args], cwd=cwd, env=dict(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def owners(root: Path) -> set[tuple[int, int]]:
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files, "."]:
            info = os.lstat(os.path.join(folder, name))
            found.add((info.st_uid, info.st_gid))
    return found
