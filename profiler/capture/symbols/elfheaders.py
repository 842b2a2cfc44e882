"""The few ELF64 facts the symbolizer and JNI discovery need, read with numpy: loadable
segments, symbol tables with their string tables, and the GNU build id.

pyelftools builds its parsers for every file it opens (~2-3 ms a file) and a Python object per
symbol; a JVM and a PySpark worker map dozens of libraries, so the fixed-size headers and
symbol records are read here instead (JNI discovery of 179 libraries: 7.1 s -> 0.18 s).
Little-endian 64-bit files only (x86_64, aarch64): anything else reads as no symbols."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_PT_LOAD = 1
_SHT_SYMTAB = 2
_SHT_NOTE = 7
_SHT_DYNSYM = 11
_NT_GNU_BUILD_ID = 3
STT_FUNC = 2
STT_GNU_IFUNC = 10
_EHDR = np.dtype([("ident", "S16"), ("type", "<u2"), ("machine", "<u2"), ("version", "<u4"),
                  ("entry", "<u8"), ("phoff", "<u8"), ("shoff", "<u8"), ("flags", "<u4"),
                  ("ehsize", "<u2"), ("phentsize", "<u2"), ("phnum", "<u2"),
                  ("shentsize", "<u2"), ("shnum", "<u2"), ("shstrndx", "<u2")])
_PHDR = np.dtype([("type", "<u4"), ("flags", "<u4"), ("offset", "<u8"), ("vaddr", "<u8"),
                  ("paddr", "<u8"), ("filesz", "<u8"), ("memsz", "<u8"), ("align", "<u8")])
_SHDR = np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"),
                  ("offset", "<u8"), ("size", "<u8"), ("link", "<u4"), ("info", "<u4"),
                  ("addralign", "<u8"), ("entsize", "<u8")])
ELF64_SYM = np.dtype([("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"),
                      ("value", "<u8"), ("size", "<u8")])


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD segment: file bytes [offset, offset + size) load at vaddr."""

    offset: int
    vaddr: int
    size: int


@dataclass(frozen=True)
class SymbolTable:
    kind: str  # "symtab" (full, often stripped away) or "dynsym" (exported)
    symbols: bytes
    strings: bytes  # empty when left in the file (read_headers' strings_up_to)
    strings_offset: int = 0  # where the string table lies in the file
    strings_size: int = 0

    @property
    def strings_left_in_file(self) -> bool:
        return self.strings_size > 0 and not self.strings


@dataclass(frozen=True)
class ElfHeaders:
    segments: tuple[Segment, ...]
    tables: tuple[SymbolTable, ...]
    build_id: str | None


def read_headers(stream: BinaryIO, symbols: bool = True, strings_up_to: int | None = None,
                 full_table_only: bool = False) -> ElfHeaders | None:
    """The file's segments, symbol tables (unless ``symbols`` is False) and build id; None
    when it is not a little-endian 64-bit ELF file or is cut short. String tables larger
    than ``strings_up_to`` bytes are left in the file (see ``FileStrings``);
    ``full_table_only``: no .dynsym is read when the file has a .symtab."""
    ident = stream.read(_EHDR.itemsize)
    if len(ident) < _EHDR.itemsize or not ident.startswith(_ELF_MAGIC) \
            or ident[4] != _ELFCLASS64 or ident[5] != _ELFDATA2LSB:
        return None
    header = np.frombuffer(ident, dtype=_EHDR)[0]
    programs = _table(stream, int(header["phoff"]), int(header["phnum"]),
                      int(header["phentsize"]), _PHDR)
    sections = _table(stream, int(header["shoff"]), int(header["shnum"]),
                      int(header["shentsize"]), _SHDR)
    if programs is None or sections is None:
        return None
    segments = tuple(Segment(int(p["offset"]), int(p["vaddr"]), int(p["filesz"]))
                     for p in programs if int(p["type"]) == _PT_LOAD)
    tables = []
    build_id = None
    skipped = _SHT_DYNSYM if full_table_only and (sections["type"] == _SHT_SYMTAB).any() \
        else None
    for section in sections:
        kind = int(section["type"])
        if kind in (_SHT_SYMTAB, _SHT_DYNSYM) and kind != skipped and symbols \
                and int(section["entsize"]) == ELF64_SYM.itemsize:
            link = int(section["link"])
            if link >= len(sections):
                continue
            strings = sections[link]
            size = int(strings["size"])
            left = strings_up_to is not None and size > strings_up_to
            tables.append(SymbolTable("symtab" if kind == _SHT_SYMTAB else "dynsym",
                                      _bytes(stream, section),
                                      b"" if left else _bytes(stream, strings),
                                      int(strings["offset"]), size))
        elif kind == _SHT_NOTE and build_id is None:
            build_id = _build_id(_bytes(stream, section))
    return ElfHeaders(segments, tuple(tables), build_id)


def defined_functions(table: SymbolTable, ifunc: bool = False) -> np.ndarray[Any, Any]:
    """The table's functions that the file defines (ELF64_SYM records): STT_FUNC, and
    STT_GNU_IFUNC resolvers with ``ifunc``; none undefined or at address 0."""
    symbols = np.frombuffer(table.symbols[:len(table.symbols) // ELF64_SYM.itemsize
                                          * ELF64_SYM.itemsize], dtype=ELF64_SYM)
    kind = symbols["info"] & 0xF
    wanted = (kind == STT_FUNC) | (kind == STT_GNU_IFUNC) if ifunc else kind == STT_FUNC
    chosen: np.ndarray[Any, Any] = symbols[wanted & (symbols["shndx"] != 0)
                                           & (symbols["value"] != 0)]
    return chosen


def c_string(strings: bytes, offset: int) -> str:
    """The NUL-terminated name at ``offset`` of a string table."""
    end = strings.find(b"\0", offset)
    return strings[offset:end if end >= 0 else len(strings)].decode("utf-8", errors="replace")


class FileStrings:
    """A string table read from its open file one name at a time: a big C++ library's table
    (libarrow's: 7.7 MB of mangled names) would otherwise be copied whole into memory for
    the few hundred names a run shows."""

    _CHUNK = 512

    def __init__(self, file: BinaryIO, offset: int, size: int) -> None:
        self._file = file
        self._offset = offset
        self._size = size

    def name_at(self, offset: int) -> str | None:
        """The NUL-terminated name at ``offset`` of the table; None when it cannot be read."""
        chunk = self._CHUNK
        while True:
            length = min(chunk, self._size - offset)
            if length <= 0:
                return None
            try:
                raw = os.pread(self._file.fileno(), length, self._offset + offset)
            except (OSError, ValueError):  # ValueError: closed
                return None
            end = raw.find(b"\0")
            if end >= 0 or len(raw) < length or length == self._size - offset:
                return raw[:end if end >= 0 else len(raw)].decode("utf-8", errors="replace")
            chunk *= 4  # a long (C++) name: read more

    def close(self) -> None:
        self._file.close()


def _table(stream: BinaryIO, offset: int, count: int, entry_size: int,
           dtype: np.dtype[Any]) -> np.ndarray[Any, Any] | None:
    if count == 0:
        return np.zeros(0, dtype=dtype)
    if entry_size != dtype.itemsize:
        return None
    stream.seek(offset)
    raw = stream.read(count * entry_size)
    if len(raw) < count * entry_size:
        return None
    return np.frombuffer(raw, dtype=dtype)


def _bytes(stream: BinaryIO, section: Any) -> bytes:
    stream.seek(int(section["offset"]))
    return stream.read(int(section["size"]))


def _build_id(notes: bytes) -> str | None:
    """The NT_GNU_BUILD_ID descriptor (hex) among a note section's notes."""
    position = 0
    while position + 12 <= len(notes):
        name_size, desc_size, kind = np.frombuffer(notes, dtype="<u4", count=3,
                                                   offset=position).tolist()
        name_at = position + 12
        desc_at = name_at + (name_size + 3) // 4 * 4
        end = desc_at + (desc_size + 3) // 4 * 4
        if kind == _NT_GNU_BUILD_ID and notes[name_at:name_at + name_size] == b"GNU\0":
            return notes[desc_at:desc_at + desc_size].hex()
        position = end
    return None
