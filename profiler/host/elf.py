"""ELF facts read with pyelftools: USDT (SystemTap SDT) notes and dynamic symbols."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import NoteSection, SymbolTableSection

_STAPSDT_OWNER = "stapsdt"
_STAPSDT_TYPE = 3


@dataclass(frozen=True)
class UsdtProbe:
    """One ``.note.stapsdt`` entry. ``semaphore`` is 0 when the probe site is unguarded."""

    provider: str
    name: str
    pc: int
    semaphore: int
    arguments: str


def parse_stapsdt_desc(desc: bytes, address_size: int) -> UsdtProbe:
    """Decode a stapsdt note: pc, base, semaphore, then provider, name, args (NUL-ended)."""
    fmt = "<QQQ" if address_size == 8 else "<III"
    pc, _base, semaphore = struct.unpack_from(fmt, desc)
    strings = desc[struct.calcsize(fmt) :].split(b"\0")
    provider, name, arguments = ([*strings, b"", b"", b""])[:3]
    return UsdtProbe(
        provider.decode(errors="replace"),
        name.decode(errors="replace"),
        pc,
        semaphore,
        arguments.decode(errors="replace"),
    )


def _raw_note_type(note: object) -> object:
    # pyelftools names type 3 NT_GNU_BUILD_ID whatever the owner; stapsdt's type is also 3.
    value = note["n_type"]  # type: ignore[index]
    return _STAPSDT_TYPE if value == "NT_GNU_BUILD_ID" else value


def usdt_probes(path: str | Path) -> list[UsdtProbe]:
    """Every USDT probe in a binary or shared library; raises OSError/ELFError if unreadable."""
    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        section = elf.get_section_by_name(".note.stapsdt")
        if not isinstance(section, NoteSection):
            return []
        address_size = elf.elfclass // 8
        return [
            parse_stapsdt_desc(note["n_descdata"], address_size)
            for note in section.iter_notes()
            if note["n_name"] == _STAPSDT_OWNER and _raw_note_type(note) == _STAPSDT_TYPE
        ]


def usdt_providers(path: str | Path) -> set[str]:
    """Provider names with at least one USDT probe in ``path``; empty if not a readable ELF."""
    try:
        return {probe.provider for probe in usdt_probes(path)}
    except (OSError, ELFError):
        return set()


def has_dynamic_symbol(path: str | Path, name: str) -> bool:
    """Whether ``path`` exports ``name`` in its dynamic symbol table (what uprobes can see)."""
    try:
        with open(path, "rb") as stream:
            section = ELFFile(stream).get_section_by_name(".dynsym")
            if not isinstance(section, SymbolTableSection):
                return False
            return bool(section.get_symbol_by_name(name))
    except (OSError, ELFError):
        return False
