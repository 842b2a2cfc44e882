"""Capability parsing for has_bpf_privileges()."""

from __future__ import annotations

import pytest

from profiler.host.privileges import (
    CAP_BPF,
    CAP_PERFMON,
    caps_allow_bpf,
    effective_capabilities,
    parse_cap_eff,
)

STATUS = """Name:\tpython3
Umask:\t0022
CapInh:\t0000000000000000
CapPrm:\t000001fffeffffff
CapEff:\t{eff}
CapBnd:\t000001fffeffffff
"""


def test_parse_cap_eff_reads_the_hex_mask():
    assert parse_cap_eff(STATUS.format(eff="000001fffeffffff")) == 0x1FFFEFFFFFF


@pytest.mark.parametrize("text", ["Name:\tx\n", "CapEff:\tnot-hex\n", ""])
def test_parse_cap_eff_without_a_usable_line_is_none(text):
    assert parse_cap_eff(text) is None


@pytest.mark.parametrize(
    ("mask", "allowed"),
    [
        ((1 << CAP_BPF) | (1 << CAP_PERFMON), True),
        (1 << CAP_BPF, False),
        (1 << CAP_PERFMON, False),
        (0, False),
        (0x1FFFEFFFFFF, True),  # root's full set on this kernel
    ],
)
def test_bpf_needs_both_cap_bpf_and_cap_perfmon(mask, allowed):
    assert caps_allow_bpf(mask) is allowed


def test_effective_capabilities_from_a_status_file(tmp_path):
    status = tmp_path / "status"
    status.write_text(STATUS.format(eff="000000c000000000"))
    mask = effective_capabilities(status)
    assert mask == (1 << CAP_BPF) | (1 << CAP_PERFMON)
    assert effective_capabilities(tmp_path / "absent") == 0
