"""`sparkprof doctor` without privileges: still runs, says why, exits 1, no traceback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from profiler.cli import main
from profiler.doctor import run


def test_doctor_without_privileges_reports_and_skips_probes(monkeypatch):
    monkeypatch.setattr(run, "has_bpf_privileges", lambda: False)
    monkeypatch.setattr(run, "privilege_summary", lambda: "uid 1000 without root")
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["ready"] is False
    by_name = {c["name"]: c for c in document["checks"]}
    assert by_name["privileges"]["status"] == "missing"
    probes = [c for name, c in by_name.items() if name.startswith("probe.")]
    assert len(probes) == 6
    assert all(c["detail"] == "not tested: loading BPF programs needs root" for c in probes)


def test_doctor_text_without_privileges_ends_with_the_verdict(monkeypatch):
    monkeypatch.setattr(run, "has_bpf_privileges", lambda: False)
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert result.output.rstrip().splitlines()[-1].startswith("verdict: NOT READY")
    assert "Traceback" not in result.output
