"""USDT argument locations (the ``Arguments:`` of a ``.note.stapsdt`` entry, x86-64) in the
form bpf/jni_iface.c reads them at a raw uprobe on the probe site.

A note lists one location per argument, e.g. ``8@%r14 8@%rbx -4@%r13d 8@-88(%rbp)``:
``size@location`` where a negative size means signed, and the location is a register, a
memory operand ``offset(%reg)`` or a constant ``$value``. Each site of the same probe may keep
its arguments elsewhere, so the location travels with the site into the BPF map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Index of each register in the kernel's x86-64 struct pt_regs (what jnii_reg switches on).
_PT_REGS = ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx",
            "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss")
_LEGACY = {"ax", "bx", "cx", "dx", "si", "di", "bp", "sp"}
ARG_NONE, ARG_REG, ARG_MEM, ARG_CONST = 0, 1, 2, 3

_ARG = re.compile(r"^(-?\d+)@(?:\$(-?\d+)|(-?\d+)?\(%(\w+)\)|%(\w+))$")


@dataclass(frozen=True)
class ArgLocation:
    """Where one USDT argument lives at its site. ``size`` in bytes (1, 2, 4 or 8)."""

    kind: int = ARG_NONE
    reg: int = 0
    offset: int = 0  # memory displacement, or the constant of ARG_CONST
    size: int = 8
    signed: bool = False


NO_ARG = ArgLocation()


def register_index(name: str) -> int | None:
    """``r13d``/``r13`` -> index of r13 in pt_regs; ``eax``/``al``/``rax`` -> ax; None for
    a register pt_regs does not hold (xmm, segment registers)."""
    if re.fullmatch(r"r(?:8|9|1[0-5])[dwb]?", name):
        base = name.rstrip("dwb")
    elif name in ("al", "bl", "cl", "dl"):
        base = name[0] + "x"
    elif name in ("sil", "dil", "bpl", "spl"):
        base = name[:2]
    elif len(name) == 3 and name[0] in "re" and name[1:] in _LEGACY:
        base = name[1:]
    else:
        base = name
    return _PT_REGS.index(base) if base in _PT_REGS else None


def parse_argument(text: str) -> ArgLocation | None:
    """One ``size@location``; None when it is not a form the BPF side can read."""
    match = _ARG.match(text)
    if match is None:
        return None
    size_text, constant, displacement, base, register = match.groups()
    size = abs(int(size_text))
    if size not in (1, 2, 4, 8):
        return None
    signed = size_text.startswith("-")
    if constant is not None:
        return ArgLocation(ARG_CONST, 0, int(constant), size, signed)
    name = base if base is not None else register
    index = register_index(name)
    if index is None:
        return None
    if base is not None:
        return ArgLocation(ARG_MEM, index, int(displacement or 0), size, signed)
    return ArgLocation(ARG_REG, index, 0, size, signed)


def parse_arguments(text: str) -> list[ArgLocation | None]:
    """Every argument of a note, in order (None where unreadable)."""
    return [parse_argument(part) for part in text.split()]


def argument(text: str, position: int) -> ArgLocation:
    """Argument ``position`` (1-based, as in the probe documentation); NO_ARG when the site
    has fewer arguments or keeps this one where BPF cannot read it."""
    parsed = parse_arguments(text)
    if not 1 <= position <= len(parsed):
        return NO_ARG
    return parsed[position - 1] or NO_ARG
