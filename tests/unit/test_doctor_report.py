"""Readiness, the text table and the JSON shape of the doctor's report."""

from __future__ import annotations

import json

import pytest

from profiler import __version__
from profiler.doctor.model import Check, DoctorReport
from profiler.doctor.render import JSON_CHECK_KEYS, render_json, render_text, report_to_json


def check(name, status, required=True, remedy=None):
    return Check(name, status, f"{name} is {status}", remedy, required)


def test_ready_needs_every_required_check_usable():
    report = DoctorReport(
        (
            check("privileges", "ok"),
            check("kernel_headers", "degraded", remedy="install exact headers"),
            check("probe.kprobes", "missing", required=False),
        )
    )
    assert report.ready and report.blockers == ()


def test_a_missing_required_check_blocks():
    report = DoctorReport((check("privileges", "missing", remedy="sudo"), check("bcc", "ok")))
    assert not report.ready
    assert [c.name for c in report.blockers] == ["privileges"]


@pytest.mark.parametrize("ready", [True, False])
def test_json_has_the_same_keys_whatever_the_host(ready):
    status = "ok" if ready else "missing"
    report = DoctorReport((check("privileges", status), check("jdk", "degraded", False, "x")))
    document = json.loads(render_json(report))
    assert list(document) == ["ready", "version", "checks"]
    assert document["ready"] is ready and document["version"] == __version__
    for entry in document["checks"]:
        assert tuple(entry) == JSON_CHECK_KEYS
        assert entry["status"] in ("ok", "degraded", "missing")
        assert isinstance(entry["required"], bool)
    assert document["checks"][0]["remedy"] is None
    assert document["checks"][1] == {
        "name": "jdk",
        "status": "degraded",
        "detail": "jdk is degraded",
        "remedy": "x",
        "required": False,
    }
    assert report_to_json(report) == document


def test_text_table_shows_every_check_its_fix_and_a_verdict():
    report = DoctorReport(
        (
            check("privileges", "missing", remedy="run it with sudo"),
            check("probe.kprobes", "missing", required=False),
            check("pyspark", "ok", required=False),
        )
    )
    text = render_text(report, width=100)
    lines = text.splitlines()
    assert lines[0].split() == ["STATUS", "CHECK", "DETAIL"]
    assert lines[1].split()[:2] == ["MISSING", "privileges*"]
    assert "fix: run it with sudo" in lines[2]
    assert any(line.split()[:2] == ["ok", "pyspark"] for line in lines)
    assert lines[-1] == (
        "verdict: NOT READY: sparkprof record needs privileges (see the fixes above)"
    )


def test_long_details_wrap_under_their_column():
    long_detail = "word " * 60
    report = DoctorReport((Check("bcc", "ok", long_detail, None, True),))
    lines = render_text(report, width=80).splitlines()
    body = [line for line in lines[1:] if line and not line.startswith(("*", "verdict"))]
    assert len(body) > 2 and all(len(line) <= 80 for line in body)
    assert render_text(report).splitlines()[-1].startswith("verdict: READY")
