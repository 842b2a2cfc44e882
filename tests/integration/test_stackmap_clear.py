"""StackReader.clear on a real BPF stack table: BCC's own StackTrace.clear() does nothing, and
the sampler reuses its two stack tables for the whole run."""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.root, pytest.mark.integration]

PROGRAM = """
BPF_STACK_TRACE(stacks, 4096);  /* roomy: a hash collision would drop a stack */
TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    long nr = args->id;  /* x86-64: getuid 102, getgid 104, getppid 110 */
    if ((bpf_get_current_pid_tgid() >> 32) == TARGET && (nr == 102 || nr == 104 || nr == 110))
        stacks.get_stackid(args, BPF_F_USER_STACK);
    return 0;
}
"""


def _three_syscalls() -> None:
    """Each from its own libc function: three user stacks, even when the interpreter's
    frame-pointer walk stops early."""
    os.getppid()
    os.getuid()
    os.getgid()


def test_clear_empties_the_table_and_it_fills_again() -> None:
    from bcc import BPF
    from bcc.libbcc import lib

    from profiler.capture.stream.stackmap import StackReader

    bpf = BPF(text=PROGRAM.replace("TARGET", str(os.getpid())).encode())
    try:
        table = bpf[b"stacks"]
        reader = StackReader(table, lib)
        _three_syscalls()
        stored = [int(key.value) for key in table]
        assert len(stored) == 3
        assert all(reader.addresses(stack_id) for stack_id in stored)
        table.clear()
        assert len([key for key in table]) == len(stored)  # BCC's clear() left them all
        assert reader.clear() == len(stored)
        assert [key for key in table] == []
        assert all(reader.addresses(stack_id) == [] for stack_id in stored)
        _three_syscalls()
        again = [int(key.value) for key in table]
        assert len(again) == 3  # new stacks are stored again
        assert reader.delete([again[0], -14, again[1]]) == 2  # -14: a failed walk's id
        assert [int(key.value) for key in table] == [again[2]]
        assert reader.delete([again[0]]) == 0  # already gone
    finally:
        bpf.cleanup()
