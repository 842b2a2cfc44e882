"""Ctrl-C / SIGTERM / SIGHUP handling while recording.

The command runs in its own session, so the terminal's Ctrl-C reaches only sparkprof; each
signal is forwarded to the command's process group. The first one asks the recording to
finish normally (once the command exits); a second one asks it to stop at once.
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType
from typing import Any

from profiler.record.launch import LaunchedCommand

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class SignalForwarder:
    """A context manager that installs the handlers and restores the previous ones."""

    def __init__(self) -> None:
        self.command: LaunchedCommand | None = None
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    @property
    def stop_requested(self) -> bool:
        return bool(self.received)

    @property
    def stop_now(self) -> bool:
        return len(self.received) >= 2

    @property
    def first_signal(self) -> int | None:
        return self.received[0] if self.received else None

    def attach(self, command: LaunchedCommand) -> None:
        """Forward from now on; a signal that came while the command was starting is
        forwarded at once."""
        self.command = command
        if self.received:
            command.signal_group(self.received[-1])

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.command is not None:
            self.command.signal_group(signum)

    def __enter__(self) -> SignalForwarder:
        for signum in FORWARDED_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
