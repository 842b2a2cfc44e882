"""Launching the command: tracked before exec, own session, privileges dropped."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from profiler.errors import CommandNotFoundError, SparkprofError
from profiler.record.launch import LaunchedCommand, exit_status, launch
from profiler.record.user import (
    InvokingUser,
    command_environment,
    invoking_user,
    resolve_command,
    user_can_read,
)

NOBODY = {"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody"}


def wait(command: LaunchedCommand, timeout_s: float = 10.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (code := command.poll()) is None:
        assert time.monotonic() < deadline, "command did not exit"
        time.sleep(0.01)
    return code


def run_and_capture(tmp_path: Path, script: str, env: dict[str, str],
                    user: InvokingUser | None = None,
                    tracked: list[int] | None = None) -> tuple[int, str]:
    out = tmp_path / "out.txt"
    out.touch()
    out.chmod(0o666)
    command = launch("/bin/sh", ["sh", "-c", f"{{ {script}; }} > {out} 2>&1"], env, user,
                     (tracked if tracked is not None else []).append)
    return wait(command), out.read_text()


def test_exit_status_follows_the_shell_convention(tmp_path: Path) -> None:
    assert run_and_capture(tmp_path, "exit 3", dict(os.environ))[0] == 3
    command = launch("/bin/sh", ["sh", "-c", "kill -TERM $$"], dict(os.environ), None,
                     lambda pid: None)
    assert wait(command) == 128 + signal.SIGTERM
    assert exit_status(0) == 0


def test_child_is_tracked_before_exec_and_leads_its_own_session(tmp_path: Path) -> None:
    tracked: list[int] = []
    seen_exe: list[str] = []

    def before_exec(pid: int) -> None:
        tracked.append(pid)
        # Still the forked Python waiting on the gate, not yet the command.
        seen_exe.append(os.readlink(f"/proc/{pid}/exe"))

    out = tmp_path / "ids.txt"
    command = launch("/bin/sh", ["sh", "-c", f"echo $$ $(ps -o sid= -p $$) > {out}"],
                     dict(os.environ), None, before_exec)
    assert wait(command) == 0
    pid, sid = out.read_text().split()
    assert tracked == [int(pid)] == [command.pid]
    assert int(sid) == command.pid
    assert "python" in os.path.basename(seen_exe[0])


def test_failing_before_exec_kills_the_child() -> None:
    def refuse(pid: int) -> None:
        raise RuntimeError("cannot track")

    with pytest.raises(RuntimeError):
        launch("/bin/sleep", ["sleep", "30"], dict(os.environ), None, refuse)


def test_exec_failures_are_reported(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError) as missing:
        launch(str(tmp_path / "nope"), ["nope"], {}, None, lambda pid: None)
    assert missing.value.exit_code == 127
    script = tmp_path / "not-executable"
    script.write_text("echo hi\n")
    with pytest.raises(SparkprofError) as denied:
        launch(str(script), [str(script)], {}, None, lambda pid: None)
    assert denied.value.exit_code == 126


def test_resolve_command_uses_the_users_path(tmp_path: Path) -> None:
    tool = tmp_path / "mytool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert resolve_command("mytool", {"PATH": f"/nonexistent:{tmp_path}"}) == str(tool)
    with pytest.raises(CommandNotFoundError):
        resolve_command("mytool", {"PATH": "/usr/bin"})


@pytest.mark.root  # SUDO_* is only honoured when running as root
def test_environment_of_the_invoking_user() -> None:
    env = {"PATH": "/p", "HOME": "/root", "JAVA_HOME": "/jdk", "SUDO_COMMAND": "x", **NOBODY}
    user = invoking_user(env)
    assert (user.uid, user.gid, user.name) == (65534, 65534, "nobody")
    result = command_environment(env, user)
    assert result["HOME"] == pwd.getpwuid(65534).pw_dir
    assert result["USER"] == result["LOGNAME"] == "nobody"
    assert result["JAVA_HOME"] == "/jdk" and result["PATH"] == "/p"
    assert not any(key.startswith("SUDO_") for key in result)


def test_without_sudo_the_current_user_is_kept() -> None:
    user = invoking_user({"PATH": "/usr/bin"})
    assert user.uid == os.getuid()
    assert command_environment({"HOME": "/h"}, user) == {"HOME": "/h"}


@pytest.fixture
def world_tmp() -> Iterator[Path]:
    """A folder any user can write (pytest's tmp_path sits in a root-only 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="sparkprof-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.root
def test_command_runs_as_the_invoking_user_with_groups(world_tmp: Path) -> None:
    user = invoking_user(NOBODY)
    env = command_environment({**os.environ, **NOBODY}, user)
    code, output = run_and_capture(world_tmp, "id -u; id -g; id -G; echo $HOME", env, user)
    assert code == 0
    uid, gid, groups, home = output.split("\n")[:4]
    assert (int(uid), int(gid)) == (65534, 65534)
    assert {int(g) for g in groups.split()} == set(user.groups)
    assert home == user.home


@pytest.mark.root
def test_user_can_read_by_mode_bits(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0o600)
    nobody = invoking_user(NOBODY)
    assert not user_can_read(secret, nobody)
    secret.chmod(0o644)
    assert user_can_read(secret, nobody)
    assert not user_can_read(tmp_path / "missing", nobody)
