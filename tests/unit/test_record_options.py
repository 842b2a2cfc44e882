"""Option parsing of `sparkprof record` and the clock anchors of meta.json."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from profiler.cli import main
from profiler.errors import UsageError
from profiler.record.meta import clock_anchor
from profiler.record.options import ProbeOptions, parse_pid_list, parse_syscall_families


@pytest.mark.parametrize(
    ("spec", "families"),
    [("net,io", {"net", "io"}), ("all", {"net", "io", "other"}), ("none", set()),
     (" NET , other ", {"net", "other"}), ("io,all", {"net", "io", "other"})],
)
def test_syscall_families(spec: str, families: set[str]) -> None:
    assert parse_syscall_families(spec) == frozenset(families)


@pytest.mark.parametrize("spec", ["disk", "net,bogus", "none,net"])
def test_bad_syscall_families(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_syscall_families(spec)


def test_pid_list() -> None:
    assert parse_pid_list("12, 34,12") == (12, 34)
    for bad in ("", "abc", "0", "-5"):
        with pytest.raises(UsageError):
            parse_pid_list(bad)


def test_probe_options_map_onto_capture_options() -> None:
    options = ProbeOptions(syscalls=frozenset({"net"}), offcpu=False, bucket_ms=50,
                           slow_syscall_ms=2.5, offcpu_block_ms=0.5).to_capture_options()
    assert options.syscalls == frozenset({"net"})
    assert not options.offcpu
    assert options.bucket_ms == 50
    assert options.slow_syscall_threshold_us == 2500
    assert options.offcpu_block_threshold_us == 500
    assert options.wakeup_events > 1  # BCC's default of 1 costs 8-9 us per event


def test_clock_anchor_is_tight_and_current() -> None:
    anchor = clock_anchor()
    assert abs(anchor.realtime_ns - time.time_ns()) < 1_000_000_000
    assert abs(anchor.monotonic_ns - time.clock_gettime_ns(time.CLOCK_MONOTONIC)) < 10**9
    assert 0 <= anchor.uncertainty_ns < 1_000_000


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "nothing to record"),
     (["--pid", "1", "--", "ls"], "either a command or --pid"),
     (["--duration", "3", "--", "ls"], "--duration only applies to --pid"),
     (["--syscalls", "disk", "--", "ls"], "unknown family"),
     (["--pid", "x1"], "not a process id")],
)
def test_cli_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["record", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_passes_the_command_and_options_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.record import recorder

    seen: list[recorder.RecordRequest] = []

    def fake_run(self: recorder.Recorder) -> int:
        seen.append(self.request)
        return 5

    monkeypatch.setattr(recorder.Recorder, "run", fake_run)
    args = ["record", "-o", "out", "--no-gc", "--syscalls=all", "--bucket-ms", "50",
            "spark-submit", "--master", "local[2]", "-o", "app.py"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 5, result.output
    (request,) = seen
    assert request.command == ("spark-submit", "--master", "local[2]", "-o", "app.py")
    assert str(request.output) == "out"
    assert not request.probes.gc and request.probes.bucket_ms == 50
    assert request.probes.syscalls == frozenset({"net", "io", "other"})


def test_print_bpf_needs_no_command_and_no_root() -> None:
    result = CliRunner().invoke(main, ["record", "--print-bpf", "--no-offcpu"])
    assert result.exit_code == 0, result.output
    assert "BUCKET_NS" in result.output
