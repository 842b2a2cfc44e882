"""The sampling and JNI flags of `sparkprof record` reach the capture options and meta.json."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from profiler.capture.options import CaptureOptions
from profiler.capture.program import program_text, wanted_families
from profiler.cli import main
from profiler.correlate import sample_period_ns
from profiler.errors import UsageError
from profiler.record.options import ProbeOptions


def test_defaults_sample_at_49_hz_and_trace_jni() -> None:
    options = ProbeOptions().to_capture_options()
    meta = options.as_meta()
    assert meta["sample_hz"] == 49 and meta["sample_period_ns"] == round(1e9 / 49)
    assert sample_period_ns({"options": meta}) == round(1e9 / 49)
    families = wanted_families(options)
    assert "stacks" in families and "jni" in families and families[-1] == "procs"
    text = program_text(families)
    assert "on_cpu_sample" in text and "jni_entry" in text


def test_switched_off() -> None:
    options = ProbeOptions(sample=False, jni=False).to_capture_options()
    assert options.as_meta()["sample_hz"] is None
    assert sample_period_ns({"options": options.as_meta()}) is None
    assert not {"stacks", "jni"} & set(wanted_families(options))


def test_globs_and_rate_pass_through() -> None:
    options = ProbeOptions(sample_hz=99, jni_include=("libarrow*",),
                           jni_exclude=("*CRC32*",)).to_capture_options()
    assert options.sample_hz == 99
    assert options.jni_include == ("libarrow*",) and options.jni_exclude == ("*CRC32*",)
    assert ProbeOptions(jni_include=("a*",)).as_meta()["jni_include"] == ["a*"]


def test_bad_rates_are_refused() -> None:
    with pytest.raises(UsageError):
        ProbeOptions(sample_hz=0)
    with pytest.raises(ValueError):
        CaptureOptions(sample_hz=20_000)


def test_print_bpf_follows_the_flags() -> None:
    runner = CliRunner()
    with_all = runner.invoke(main, ["record", "--print-bpf", "--sample-hz", "99",
                                    "--jni-include", "libfoo*"])
    assert with_all.exit_code == 0, with_all.output
    assert "on_cpu_sample" in with_all.output and "jni_return" in with_all.output
    without = runner.invoke(main, ["record", "--print-bpf", "--no-sample", "--no-jni"])
    assert without.exit_code == 0 and "on_cpu_sample" not in without.output
    bad = runner.invoke(main, ["record", "--print-bpf", "--sample-hz", "0"])
    assert bad.exit_code == 2
