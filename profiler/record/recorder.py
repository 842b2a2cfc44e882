"""The record loop: preflight, run directory, BPF, launch or attach, wait, finalize.

Every step that can fail because of the user's input fails before the command starts
(privileges, unknown command, existing or unwritable DIR). Once the run directory exists,
any ending (normal, Ctrl-C, a second Ctrl-C, a write error, a crash of the collector)
leaves it loadable, marked complete or incomplete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from profiler.errors import InputError, OutputError
from profiler.record.command import command_label
from profiler.record.eventlog_locate import (
    DEFAULT_SPARK_EVENTS,
    EVENTLOG_SUBDIR,
    FoundEventLog,
    collect_eventlog,
    eventlog_dirs_in_cmdline,
)
from profiler.record.heap import recording_heap
from profiler.record.launch import LaunchedCommand, launch
from profiler.record.meta import ClockAnchor, clock_anchor, start_meta
from profiler.record.options import ProbeOptions
from profiler.record.signals import SignalForwarder
from profiler.record.spark_defaults import read_user_defaults
from profiler.record.sparkconf import (
    PYSPARK_PYTHON_NOTICE,
    SparkPlan,
    plan_spark_launch,
    worker_interpreter_notice,
)
from profiler.record.user import (
    InvokingUser,
    command_environment,
    invoking_user,
    resolve_command,
)
from profiler.rundir import RunWriter, create_run_dir, default_run_dir_name, safefs

if TYPE_CHECKING:
    from profiler.capture import CaptureOptions, CaptureReport

POLL_MS = 200
STOP_GRACE_S = 5.0
# After the command exits, what it started may still be exiting: the JVM of `python app.py`
# writes its perf map (the names of JIT frames) at exit, and its last GC and threads end then.
LINGER_S = 5.0
FLUSH_INTERVAL_S = 5.0  # a part costs ~1 ms+ to write: fewer, larger parts; a crash loses <= 5 s


class CaptureLike(Protocol):
    """What the record loop needs from profiler.capture.CaptureSession."""

    def start(self) -> None: ...
    @property
    def report(self) -> CaptureReport: ...  # probes attached/failed, from start() on
    def track(self, pid: int) -> None: ...
    def poll(self, timeout_ms: int) -> None: ...
    def running(self) -> list[int]: ...  # tracked processes not seen exiting yet
    def stop(self) -> CaptureReport: ...


SessionFactory = Callable[["CaptureOptions", RunWriter], CaptureLike]
Progress = Callable[[str], None]


def default_session_factory(options: CaptureOptions, writer: RunWriter) -> CaptureLike:
    from profiler.capture.session import CaptureSession  # imports BCC's helpers lazily

    return CaptureSession(options, writer)


def default_preflight() -> list[str]:
    from profiler.host.preflight import check_record_ready

    return check_record_ready()


def stderr_progress(message: str) -> None:
    print(f"sparkprof: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RecordRequest:
    command: tuple[str, ...] = ()  # empty in --pid mode
    pids: tuple[int, ...] = ()
    output: Path | None = None
    force: bool = False
    probes: ProbeOptions = field(default_factory=ProbeOptions)
    duration_s: float | None = None
    argv: tuple[str, ...] = ()  # sparkprof's own command line, for meta.json


@dataclass
class _Run:
    """State of one recording, shared by the steps."""

    run_dir: Path
    writer: RunWriter
    user: InvokingUser
    capture: CaptureOptions
    start: ClockAnchor
    started_s: float
    notices: list[str]
    printed_notices: int = 0  # notices already shown on stderr (the preflight's)
    launched: LaunchedCommand | None = None
    session: CaptureLike | None = None
    search_dirs: list[str] = field(default_factory=list)
    announced_failures: set[str] = field(default_factory=set)  # shown on stderr at start


class Recorder:
    def __init__(self, request: RecordRequest,
                 session_factory: SessionFactory = default_session_factory,
                 preflight: Callable[[], list[str]] = default_preflight,
                 progress: Progress = stderr_progress) -> None:
        self.request = request
        self._session_factory = session_factory
        self._preflight = preflight
        self._progress = progress

    def run(self) -> int:
        """Record; returns the exit status sparkprof should exit with."""
        notices = list(self._preflight())
        for notice in notices:
            self._progress(notice)
        user = invoking_user(os.environ)
        env = command_environment(os.environ, user)
        path = resolve_command(self.request.command[0], env) if self.request.command else None
        if not self.request.command:
            _check_pids(self.request.pids)
        capture = self.request.probes.to_capture_options(java_home=self._java_home(env))
        run = self._open_run(user, notices, capture)
        try:
            return self._record(run, env, path)
        except BaseException:
            _close_incomplete(run)
            raise

    # -- steps --------------------------------------------------------------------------------

    def _java_home(self, env: dict[str, str]) -> str | None:
        """Whose libjvm.so gets the GC/thread probes: the JVM of an attached process, else
        the command's JAVA_HOME (None: the capture finds the java on PATH)."""
        for pid in self.request.pids:
            exe = _executable(pid)
            if exe is not None and os.path.basename(exe) == "java":
                return str(Path(exe).parent.parent)
        return env.get("JAVA_HOME") or None

    def _open_run(self, user: InvokingUser, notices: list[str],
                  capture: CaptureOptions) -> _Run:
        owner = user.owner if os.geteuid() == 0 else None
        run_dir = create_run_dir(self._output_path(), self.request.force, owner)
        writer = RunWriter(run_dir, owner=owner, flush_interval_s=FLUSH_INTERVAL_S)
        try:
            _make_eventlog_dir(run_dir, owner)
            anchor = clock_anchor()
            writer.update_meta(**start_meta(
                self.request.argv, self.request.command or None, self.request.pids,
                user.uid, user.gid, capture.as_meta(), anchor, capture.bucket_ns))
        except BaseException:
            writer.close("incomplete")
            raise
        return _Run(run_dir, writer, user, capture, anchor, time.time(), notices,
                    printed_notices=len(notices))

    def _output_path(self) -> Path:
        if self.request.output is not None:
            return self.request.output
        label = (command_label(self.request.command) if self.request.command
                 else "pid" + "-".join(str(pid) for pid in self.request.pids))
        return Path(default_run_dir_name(label, dt.datetime.now(dt.UTC)))

    def _record(self, run: _Run, env: dict[str, str], path: str | None) -> int:
        plan: SparkPlan | None = None
        if self.request.command:
            defaults = read_user_defaults(self.request.command, env, run.user)
            plan = plan_spark_launch(self.request.command, env, run.run_dir / EVENTLOG_SUBDIR,
                                     defaults)
            run.notices.extend(plan.notices)
            if plan.user_eventlog_dir:
                run.search_dirs.append(plan.user_eventlog_dir)
            run.writer.update_meta(spark={
                "submit_opts": plan.env.get("SPARK_SUBMIT_OPTS"),
                "pyspark_submit_args": plan.env.get("PYSPARK_SUBMIT_ARGS"),
                "pyspark_python": env.get("PYSPARK_PYTHON"),
                "command": list(plan.argv),
            })
        with SignalForwarder() as signals:
            run.session = self._start_capture(run)
            if signals.stop_requested:
                self._progress("interrupted before the command started")
                return self._finish(run, signals, complete=False)
            with recording_heap():
                if plan is not None and path is not None:
                    run.launched = self._launch(run, plan, path)
                    signals.attach(run.launched)
                    self._wait_for_command(run, signals)
                else:
                    self._attach_pids(run, signals)
                return self._finish(run, signals, complete=not signals.stop_now)

    def _start_capture(self, run: _Run) -> CaptureLike:
        self._progress("compiling and loading BPF programs...")
        began = time.monotonic()
        session = self._session_factory(run.capture, run.writer)
        session.start()
        report = session.report
        failed = f", {len(report.probes_failed)} failed" if report.probes_failed else ""
        self._progress(f"BPF ready in {time.monotonic() - began:.1f} s: "
                       f"{len(report.probes_attached)} probes attached{failed}")
        for name, reason in report.probes_failed.items():
            self._progress(f"probe family {name} did not attach: {reason}")
            run.announced_failures.add(name)
        return session

    def _launch(self, run: _Run, plan: SparkPlan, path: str) -> LaunchedCommand:
        assert run.session is not None
        drop_to = run.user if os.geteuid() == 0 and not run.user.is_root else None
        launched = launch(path, plan.argv, plan.env, drop_to, run.session.track)
        run.writer.update_meta(command_pid=launched.pid)
        who = f" as {run.user.name or run.user.uid}" if drop_to else ""
        self._progress(f"recording pid {launched.pid}{who}: {' '.join(self.request.command)}")
        self._progress("Ctrl-C is passed to the command; press it twice to stop at once")
        return launched

    def _wait_for_command(self, run: _Run, signals: SignalForwarder) -> None:
        assert run.session is not None and run.launched is not None
        announced = False
        try:
            while run.launched.poll() is None and not signals.stop_now:
                run.session.poll(POLL_MS)
                if signals.stop_requested and not announced:
                    announced = True
                    self._progress("signal forwarded; finishing when the command exits")
        except OutputError:
            self._progress("cannot write the run directory: stopping the command")
            _stop_command(run.launched)
            raise
        self._linger(run, signals)

    def _linger(self, run: _Run, signals: SignalForwarder) -> None:
        """Keep recording, up to LINGER_S, while processes the command started are exiting."""
        assert run.session is not None
        running = run.session.running()
        if not running or signals.stop_now:
            return
        self._progress(f"the command exited; waiting up to {LINGER_S:g} s for "
                       f"{len(running)} process(es) it started to exit "
                       "(Ctrl-C twice stops at once)")
        deadline = time.monotonic() + LINGER_S
        while running and not signals.stop_now and time.monotonic() < deadline:
            run.session.poll(POLL_MS)
            running = run.session.running()
        if running:
            self._progress(f"{len(running)} process(es) still running: "
                           f"{', '.join(map(str, running[:5]))}")

    def _attach_pids(self, run: _Run, signals: SignalForwarder) -> None:
        assert run.session is not None
        for pid in self.request.pids:
            run.session.track(pid)
            run.search_dirs.extend(eventlog_dirs_in_cmdline(_cmdline(pid)))
        run.search_dirs.append(DEFAULT_SPARK_EVENTS)
        until = (f" for {self.request.duration_s:g} s" if self.request.duration_s else "")
        self._progress(f"recording pids {','.join(map(str, self.request.pids))}{until}; "
                       "Ctrl-C stops")
        deadline = (time.monotonic() + self.request.duration_s
                    if self.request.duration_s else None)
        while not signals.stop_requested and any(_alive(pid) for pid in self.request.pids):
            if deadline is not None and time.monotonic() >= deadline:
                break
            run.session.poll(POLL_MS)

    def _finish(self, run: _Run, signals: SignalForwarder, complete: bool) -> int:
        self._progress("finalizing...")
        report = run.session.stop() if run.session is not None else None
        end = clock_anchor()
        exit_code = self._exit_code(run, signals)
        eventlog = None
        if not signals.stop_now:
            eventlog = collect_eventlog(run.run_dir, run.search_dirs, run.started_s,
                                        run.user, run.notices)
        meta: dict[str, Any] = dict(report.as_meta()) if report is not None else {}
        if run.session is not None and PYSPARK_PYTHON_NOTICE in run.notices:
            table = getattr(run.session, "processes", None)
            workers = [info.cmdline[0] if info.cmdline else info.exe  # the venv's name
                       for info in (table.processes.values() if table else ())
                       if info.role in ("python-worker", "pyspark-daemon")]
            run.notices[run.notices.index(PYSPARK_PYTHON_NOTICE)] = (
                worker_interpreter_notice(workers))
        if report is not None:
            run.notices.extend(report.notices)
            for name, reason in report.probes_failed.items():
                if name not in run.announced_failures:
                    self._progress(f"probe family {name} did not attach: {reason}")
        run.writer.update_meta(**meta, clock={"start": run.start.as_meta(), "end": end.as_meta()},
                               exit_code=exit_code, eventlog=_eventlog_meta(run, eventlog),
                               notices=run.notices)
        run.writer.close("complete" if complete else "incomplete")
        self._summary(run, report, eventlog)
        return exit_code

    def _exit_code(self, run: _Run, signals: SignalForwarder) -> int:
        """The command's own status; 128+signal when we stopped before it ended (or before
        it started); 0 for an attach session stopped by Ctrl-C or its duration."""
        interrupted = 128 + (signals.first_signal or signal.SIGINT)
        if run.launched is not None:
            code = run.launched.poll()
            return code if code is not None else interrupted
        if self.request.command:
            return interrupted
        return 0

    def _summary(self, run: _Run, report: CaptureReport | None,
                 eventlog: FoundEventLog | None) -> None:
        size_mb = _tree_bytes(run.run_dir) / 1e6
        lost = sum(report.lost_events.values()) if report is not None else 0
        self._progress(f"wrote {run.run_dir} ({size_mb:.1f} MB), lost events {lost}")
        if report is not None:
            pct = report.self_cost.pct
            cost = f"; self-cost {pct:.1f}% of the profiled CPU time" if pct is not None else ""
            failed = f", {len(report.probes_failed)} failed" if report.probes_failed else ""
            self._progress(f"{len(report.probes_attached)} probes attached{failed} "
                           f"(BPF compile {report.compile_s:.1f} s){cost}")
        if eventlog is None:
            self._progress("no Spark event log found for this run")
        for notice in run.notices[run.printed_notices:]:
            if eventlog is None and notice.startswith(PYSPARK_PYTHON_NOTICE.split(" ", 1)[0]):
                continue  # no Spark application ran: the hint would be noise
            self._progress(f"note: {notice}")


def _eventlog_meta(run: _Run, found: FoundEventLog | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"path": str(found.path.relative_to(run.run_dir)), "app_id": found.app_id,
            "source": str(found.source), "copied": found.copied}


def _make_eventlog_dir(run_dir: Path, owner: tuple[int, int] | None) -> None:
    parent = safefs.open_dir(run_dir)
    try:
        os.close(safefs.make_subdir(parent, EVENTLOG_SUBDIR, owner))
    except OSError as error:
        raise safefs.output_error(run_dir / EVENTLOG_SUBDIR, error) from error
    finally:
        os.close(parent)


def _close_incomplete(run: _Run) -> None:
    """Best effort after a failure: stop the capture, keep what was written. A second error
    here must not hide the first one."""
    if run.session is not None:
        with contextlib.suppress(Exception):
            run.session.stop()
    with contextlib.suppress(Exception):
        run.writer.close("incomplete")


def _stop_command(launched: LaunchedCommand) -> None:
    launched.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while launched.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if launched.poll() is None:
        launched.signal_group(signal.SIGKILL)


def _check_pids(pids: tuple[int, ...]) -> None:
    missing = [pid for pid in pids if not _alive(pid)]
    if missing:
        raise InputError(f"no such process: {', '.join(map(str, missing))}",
                         "check the pids with `ps -ef | grep java`")


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _executable(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total
