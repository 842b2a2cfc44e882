"""Starting the user's command so it is tracked before its first instruction.

fork -> the child starts its own session and waits on a pipe -> the parent tracks the
child's pid (BPF map) and opens the gate -> the child drops to the invoking user and execs.
An exec failure travels back on a close-on-exec pipe, so the parent can tell "did not
start" (127/126) from "started and failed".
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from profiler.errors import CommandNotFoundError, SparkprofError
from profiler.record.user import InvokingUser

_EXEC_FAILED = 127
# Python ignores SIGPIPE (and may ignore others); an exec'd command expects the defaults.
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM,
                  signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)


def exit_status(wait_status: int) -> int:
    """The shell's convention: the exit code, or 128+N when killed by signal N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


@dataclass
class LaunchedCommand:
    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status once the command has exited (reaped here), else None."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = _EXEC_FAILED
                return self.returncode
            if pid == self.pid:
                self.returncode = exit_status(status)
        return self.returncode

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the command's process group (its session leader is the pid)."""
        if self.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.pid, signum)


def launch(path: str, argv: Sequence[str], env: Mapping[str, str], user: InvokingUser | None,
           before_exec: Callable[[int], None]) -> LaunchedCommand:
    """Fork the command, call ``before_exec(pid)`` while it waits, then let it exec.

    ``user`` None keeps the current credentials. If ``before_exec`` raises, the child is
    killed and reaped and the exception propagates.
    """
    gate_read, gate_write = os.pipe()
    error_read, error_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which always execs or _exits
        os.close(gate_write)
        os.close(error_read)
        _child(gate_read, error_write, path, argv, env, user)
    os.close(gate_read)
    os.close(error_write)
    command = LaunchedCommand(pid)
    try:
        before_exec(pid)
    except BaseException:
        os.close(gate_write)
        os.close(error_read)
        _kill_and_reap(pid)
        raise
    os.write(gate_write, b"x")
    os.close(gate_write)
    failure = _read_all(error_read)
    os.close(error_read)
    if failure:
        _reap(pid)
        raise _exec_error(path, failure)
    return command


def _child(gate_read: int, error_write: int, path: str, argv: Sequence[str],
           env: Mapping[str, str], user: InvokingUser | None) -> None:  # pragma: no cover
    try:
        # Own session: the terminal's Ctrl-C reaches only sparkprof, which forwards it.
        os.setsid()
        for signum in _RESET_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        if not os.read(gate_read, 1):
            os._exit(_EXEC_FAILED)  # the parent died before opening the gate
        os.close(gate_read)
        if user is not None:
            os.setgroups(list(user.groups))
            os.setgid(user.gid)
            os.setuid(user.uid)
        os.closerange(3, error_write)
        os.closerange(error_write + 1, _max_fd())
        os.execve(path, list(argv), dict(env))
    except OSError as error:
        message = f"{error.errno}:{error.strerror}"
    except BaseException as error:  # anything else: still report, never return into Python
        message = f"0:{error}"
    try:
        os.write(error_write, message.encode(errors="replace")[:1000])
    finally:
        os._exit(_EXEC_FAILED)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _exec_error(path: str, failure: bytes) -> SparkprofError:
    code_text, _, reason = failure.decode(errors="replace").partition(":")
    code = int(code_text) if code_text.isdigit() else 0
    if code == errno.ENOENT:
        return CommandNotFoundError(f"command not found: {path}", "check the command's path")
    error = SparkprofError(f"cannot run {path}: {reason}",
                           "check that the invoking user may execute it")
    error.exit_code = 126 if code in (errno.EACCES, errno.ENOEXEC, errno.EPERM) else _EXEC_FAILED
    return error


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _kill_and_reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 1024)
    except (OSError, ValueError):
        return 65536
