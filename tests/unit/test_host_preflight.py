"""check_record_ready(): the errors `record` raises and the notices it must print."""

from __future__ import annotations

import pytest

from profiler.errors import HostNotReadyError, PrivilegeError
from profiler.host import preflight
from profiler.host.bcc_info import BccInfo
from profiler.host.kheaders import KernelHeaders

BCC_OK = BccInfo("0.26.0", "/usr/lib/python3/dist-packages/bcc/__init__.py", None)
FALLBACK = KernelHeaders("fallback", "/usr/src/linux-headers-6.1.0-56-amd64", "using fallback X")


@pytest.fixture
def host(monkeypatch):
    """A privileged host with tracefs, BCC and fallback headers; tests break one part."""
    monkeypatch.setattr(preflight, "has_bpf_privileges", lambda: True)
    monkeypatch.setattr(preflight, "ensure_tracefs", lambda: True)
    monkeypatch.setattr(preflight, "find_bcc", lambda: BCC_OK)
    monkeypatch.setattr(preflight, "ensure_kernel_headers", lambda: FALLBACK)
    return monkeypatch


def test_fallback_headers_are_a_notice(host):
    assert preflight.check_record_ready() == ["kernel headers: using fallback X"]


def test_exact_headers_need_no_notice(host):
    host.setattr(preflight, "ensure_kernel_headers", lambda: KernelHeaders("exact", "/h", "ok"))
    assert preflight.check_record_ready() == []


def test_without_privileges(host):
    host.setattr(preflight, "has_bpf_privileges", lambda: False)
    with pytest.raises(PrivilegeError) as raised:
        preflight.check_record_ready()
    assert raised.value.message == "sparkprof record needs root"
    assert raised.value.remedy is not None and raised.value.remedy.startswith("run it with sudo")


def test_without_bcc(host):
    host.setattr(preflight, "find_bcc", lambda: BccInfo(None, None, "cannot import bcc"))
    with pytest.raises(HostNotReadyError, match="BCC") as raised:
        preflight.check_record_ready()
    assert raised.value.remedy == preflight.BCC_REMEDY


def test_without_headers(host):
    host.setattr(preflight, "ensure_kernel_headers", lambda: KernelHeaders("missing", None, "none"))
    with pytest.raises(HostNotReadyError, match="kernel headers") as raised:
        preflight.check_record_ready()
    assert raised.value.remedy == preflight.HEADERS_REMEDY


def test_without_tracefs(host):
    host.setattr(preflight, "ensure_tracefs", lambda: False)
    with pytest.raises(HostNotReadyError, match="tracefs"):
        preflight.check_record_ready()
