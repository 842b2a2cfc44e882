"""The record loop with a stand-in capture (no BPF): exit codes, signals, the run directory
and its meta.json, the event log, write errors. Real commands are run with /bin/sh."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from profiler.capture.options import CaptureOptions, CaptureReport
from profiler.errors import CommandNotFoundError, OutputError
from profiler.record import recorder
from profiler.record.recorder import Recorder, RecordRequest
from profiler.rundir import RunWriter

POLL_S = 0.05


class FakeSession:
    """Counts calls; ``on_poll(n)`` runs on the n-th poll to inject signals or failures."""

    def __init__(self, options: CaptureOptions, writer: RunWriter,
                 on_poll: Callable[[int], None] | None = None) -> None:
        self.options = options
        self.writer = writer
        self.tracked: list[int] = []
        self.still_running: list[int] = []  # what running() answers
        self.running_asked = 0
        self.polls = 0
        self.started = self.stopped = False
        self._on_poll = on_poll

    def start(self) -> None:
        self.started = True
        if self._on_poll is not None:
            self._on_poll(0)  # poll number 0: during the BPF compile

    @property
    def report(self) -> CaptureReport:
        return CaptureReport(probes_attached=["syscalls"], probes_failed={"gc": "no libjvm"})

    def track(self, pid: int) -> None:
        self.tracked.append(pid)

    def poll(self, timeout_ms: int) -> None:
        self.polls += 1
        if self._on_poll is not None:
            self._on_poll(self.polls)
        time.sleep(POLL_S)

    def running(self) -> list[int]:
        self.running_asked += 1
        return list(self.still_running)

    def stop(self) -> CaptureReport:
        self.stopped = True
        return CaptureReport(probes_attached=["syscalls"], probes_failed={"gc": "no libjvm"},
                             lost_events={"events": 0})


def record(tmp_path: Path, command: list[str], on_poll: Callable[[int], None] | None = None,
           sessions: list[FakeSession] | None = None,
           **kwargs: Any) -> tuple[int, FakeSession, list[str]]:
    sessions = [] if sessions is None else sessions
    lines: list[str] = []

    def factory(options: CaptureOptions, writer: RunWriter) -> FakeSession:
        sessions.append(FakeSession(options, writer, on_poll))
        return sessions[-1]

    request = RecordRequest(command=tuple(command), output=tmp_path / "run",
                            argv=("sparkprof", "record"), **kwargs)
    code = Recorder(request, factory, lambda: ["headers: fallback"], lines.append).run()
    return code, sessions[0], lines


def meta_of(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "run" / "meta.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SPARK_SUBMIT_OPTS",
                 "PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_exit_status_meta_and_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the command runs in our working directory
    code, session, lines = record(tmp_path, ["sh", "-c", "echo $SPARK_SUBMIT_OPTS > opts; exit 3"])
    assert code == 3
    assert session.started and session.stopped and len(session.tracked) == 1
    meta = meta_of(tmp_path)
    assert meta["status"] == "complete"
    assert meta["exit_code"] == 3
    assert meta["command"] == ["sh", "-c", "echo $SPARK_SUBMIT_OPTS > opts; exit 3"]
    assert meta["uid"] == os.getuid()
    assert meta["command_pid"] == session.tracked[0]
    assert meta["probes"] == {"attached": ["syscalls"], "failed": {"gc": "no libjvm"}}
    start, end = meta["clock"]["start"], meta["clock"]["end"]
    assert end["monotonic_ns"] > start["monotonic_ns"]
    assert 0 < (end["realtime_ns"] - start["realtime_ns"]) < 60 * 10**9
    assert "headers: fallback" in meta["notices"]
    assert meta["options"]["syscalls"] == ["io", "net"]
    failures = [index for index, line in enumerate(lines) if "gc did not attach" in line]
    started = next(index for index, line in enumerate(lines) if line.startswith("recording pid"))
    assert len(failures) == 1 and failures[0] < started  # told once, before the command runs
    assert any(line.startswith("wrote ") for line in lines)
    eventlog_dir = tmp_path / "run" / "eventlog"
    assert eventlog_dir.is_dir()
    assert f"-Dspark.eventLog.dir={eventlog_dir}" in (tmp_path / "opts").read_text()


def test_first_ctrl_c_is_forwarded_and_the_profile_completes(tmp_path: Path) -> None:
    def interrupt(poll: int) -> None:
        if poll == 5:
            os.kill(os.getpid(), signal.SIGINT)

    code, _, _ = record(tmp_path, ["sh", "-c", "trap 'exit 7' INT; sleep 20 & wait"], interrupt)
    assert code == 7
    assert meta_of(tmp_path)["status"] == "complete"


def test_second_ctrl_c_stops_at_once_and_marks_incomplete(tmp_path: Path) -> None:
    def interrupt(poll: int) -> None:
        if poll in (5, 7):
            os.kill(os.getpid(), signal.SIGINT)

    began = time.monotonic()
    code, session, _ = record(tmp_path, ["sh", "-c", "trap '' INT; sleep 3"], interrupt)
    assert time.monotonic() - began < 2.5
    assert code == 128 + signal.SIGINT
    meta = meta_of(tmp_path)
    assert meta["status"] == "incomplete"
    os.killpg(session.tracked[0], signal.SIGKILL)
    os.waitpid(session.tracked[0], 0)


def test_event_log_in_the_users_own_location_is_copied_in(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "user-logs"
    logs.mkdir()
    old = logs / "local-1"  # written before the run: not this run's log
    old.write_text("{}\n")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", f"-Dspark.eventLog.dir=file:{logs}")
    app = logs / "eventlog_v2_local-42"
    script = f"mkdir {app} && echo '{{}}' > {app}/events_1_local-42.zstd"
    code, _, _ = record(tmp_path, ["sh", "-c", script])
    assert code == 0
    meta = meta_of(tmp_path)
    assert meta["eventlog"]["app_id"] == "local-42"
    assert meta["eventlog"]["path"] == "eventlog/eventlog_v2_local-42"
    assert meta["eventlog"]["copied"] is True
    assert (tmp_path / "run" / "eventlog" / "eventlog_v2_local-42" /
            "events_1_local-42.zstd").read_text() == "{}\n"


def test_event_log_written_into_the_run_directory(tmp_path: Path) -> None:
    target = tmp_path / "run" / "eventlog" / "app-20260101000000-0001.inprogress"
    code, _, _ = record(tmp_path, ["sh", "-c", f"echo '{{}}' > {target}"])
    assert code == 0
    eventlog = meta_of(tmp_path)["eventlog"]
    assert eventlog["app_id"] == "app-20260101000000-0001"
    assert eventlog["copied"] is False


def test_unknown_command_fails_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError):
        record(tmp_path, ["no-such-command-sparkprof"])
    assert not (tmp_path / "run").exists()


def test_existing_directory_is_refused_and_the_command_not_started(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    marker = tmp_path / "started"
    with pytest.raises(OutputError):
        record(tmp_path, ["touch", str(marker)])
    assert not marker.exists()
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def test_write_error_mid_run_stops_the_command_and_keeps_the_run(tmp_path: Path) -> None:
    def fail(poll: int) -> None:
        if poll == 3:
            raise OutputError("cannot write run/x: No space left on device", "free space")

    sessions: list[FakeSession] = []
    with pytest.raises(OutputError):
        record(tmp_path, ["sleep", "20"], fail, sessions)
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(sessions[0].tracked[0], 0)
    meta = meta_of(tmp_path)
    assert meta["status"] == "incomplete"


def test_ctrl_c_during_the_bpf_compile_never_starts_the_command(tmp_path: Path) -> None:
    def interrupt(poll: int) -> None:
        if poll == 0:
            os.kill(os.getpid(), signal.SIGINT)

    marker = tmp_path / "started"
    code, session, _ = record(tmp_path, ["touch", str(marker)], interrupt)
    assert code == 128 + signal.SIGINT
    assert session.tracked == [] and not marker.exists()
    assert meta_of(tmp_path)["status"] == "incomplete"


def test_recording_goes_on_while_what_the_command_started_exits(tmp_path: Path) -> None:
    sessions: list[FakeSession] = []

    def child_exits_three_polls_later(poll: int) -> None:
        session = sessions[0]
        if poll == 0:
            session.still_running = [4242]  # e.g. the JVM of `python app.py`
        elif session.running_asked >= 3:  # asked once the command exited, then each poll
            session.still_running = []

    code, session, lines = record(tmp_path, ["true"], child_exits_three_polls_later,
                                  sessions=sessions)
    assert code == 0 and session.stopped and session.running_asked == 4
    assert any("waiting up to 5 s for 1 process(es)" in line for line in lines)
    assert not any("still running" in line for line in lines)


def test_lingering_ends_after_its_time_limit(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "LINGER_S", 0.3)
    sessions: list[FakeSession] = []

    def never_exits(poll: int) -> None:
        if poll == 0:
            sessions[0].still_running = [4242]

    started = time.monotonic()
    code, session, lines = record(tmp_path, ["true"], never_exits, sessions=sessions)
    assert code == 0 and session.stopped
    assert time.monotonic() - started < 5
    assert any("1 process(es) still running: 4242" in line for line in lines)
