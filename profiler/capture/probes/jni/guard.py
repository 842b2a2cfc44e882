"""The cost guard of JNI tracing: what a uprobe on a method would cost, and who is too busy.

x86 uprobes emulate a few instructions at the probed address (push of a register, nops,
relative jumps and calls) and single-step every other one out of line, which costs ~20x more
on this platform (12-15 us instead of ~0.6 us a hit; see PLATFORM.md). A method whose first
instruction would be single-stepped is skipped unless an include glob names it.

A method over the call-rate budget is detached: its entry and return uprobes cost ~2.9 us a
call here (measured by benchmarks/bench_jni_overhead.py --micro-rounds), so 3,000 calls/s
are ~0.9% of one core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_CALLS_PER_S = 3_000
_REX_B = 0x41  # REX prefix selecting r8-r15 for a push


def emulated_first_instruction(code: bytes) -> bool:
    """True when the instruction at the start of ``code`` is one the kernel emulates."""
    if not code:
        return False
    first = code[0]
    if 0x50 <= first <= 0x57:  # push %rax..%rdi
        return True
    if first == _REX_B and len(code) > 1 and 0x50 <= code[1] <= 0x57:  # push %r8..%r15
        return True
    if first in (0x90, 0xE8, 0xE9, 0xEB) or 0x70 <= first <= 0x7F:  # nop, call, jmp, jcc
        return True
    if first == 0x0F and len(code) > 1:
        return code[1] == 0x1F or 0x80 <= code[1] <= 0x8F  # nopl, jcc rel32
    if first == 0x66 and len(code) > 1:  # 16-bit nops (xchg %ax,%ax / nopw)
        return code[1] == 0x90 or (code[1] == 0x0F and len(code) > 2 and code[2] == 0x1F)
    return False


def describe_first_instruction(code: bytes) -> str:
    """A short name for the report: ``endbr64``, ``sub``, ``lea``, ... or the hex bytes."""
    if code[:4] == b"\xf3\x0f\x1e\xfa":
        return "endbr64"
    body = code[1:] if code[:1] in (b"\x48", b"\x49", b"\x4c", b"\x4d") else code
    names = {0x8D: "lea", 0x83: "sub/add imm8", 0x81: "sub/add imm32", 0x89: "mov",
             0x8B: "mov", 0x31: "xor", 0x85: "test", 0x39: "cmp", 0x3B: "cmp"}
    if body[:1] and body[0] in names:
        return names[body[0]]
    return code[:4].hex(" ")


@dataclass
class RateBudget:
    """Calls per second per traced method; those over ``calls_per_s`` in a drain interval
    are reported once to be detached."""

    calls_per_s: float = DEFAULT_CALLS_PER_S
    detached: dict[str, str] = field(default_factory=dict)

    def over_budget(self, calls: dict[str, int], interval_s: float) -> list[str]:
        """Methods (keys of ``calls``) whose rate in the last interval exceeds the budget and
        that were not reported yet; they are remembered with the reason."""
        if interval_s <= 0 or self.calls_per_s <= 0:
            return []
        busy = []
        for method, count in calls.items():
            rate = count / interval_s
            if rate > self.calls_per_s and method not in self.detached:
                self.detached[method] = (f"{rate:,.0f} calls/s over the budget of "
                                         f"{self.calls_per_s:,.0f}")
                busy.append(method)
        return busy
