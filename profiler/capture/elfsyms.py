"""Function symbols of one ELF file, looked up by file offset.

Loaded once per file and shared by every process that maps it (all Python workers, every
JVM's libjvm): BCC's symbolizer loads a file's symbols again for each process, which made
symbol lookups half of the collector's CPU time. The symbol table is read as one numpy array
(24-byte ``Elf64_Sym`` records) and names are decoded only when an address needs them.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import os
from typing import Any

import numpy as np

from profiler.capture.elfheaders import (
    Segment,
    SymbolTable,
    c_string,
    defined_functions,
    read_headers,
)

# Of aliases at one address, name the GLOBAL one first, then WEAK, then LOCAL (by st_bind).
_BIND_RANK = np.array([2, 0, 1] + [3] * 13, dtype=np.uint8)
_DEBUG_ROOT = "/usr/lib/debug/.build-id"


class ElfSymbols:
    """Sorted function ranges of one file; an empty table when the file has none or is not
    a 64-bit little-endian ELF (then every lookup answers None)."""

    def __init__(self, starts: np.ndarray[Any, Any], ends: np.ndarray[Any, Any],
                 name_offsets: np.ndarray[Any, Any], strtab: bytes,
                 segments: tuple[Segment, ...]) -> None:
        # Python lists: one address at a time, bisect on a list costs a sixth of numpy's
        # per-call searchsorted
        self._starts: list[int] = starts.tolist()
        self._ends: list[int] = ends.tolist()
        self._name_offsets = name_offsets
        self._strtab = strtab
        self._segments = segments
        self._decoded: dict[int, str] = {}  # function index -> name: hit at many addresses

    @classmethod
    def empty(cls) -> ElfSymbols:
        none = np.zeros(0, dtype=np.uint64)
        return cls(none, none, np.zeros(0, dtype=np.uint32), b"", ())

    @classmethod
    def load(cls, path: str) -> ElfSymbols:
        """The functions of the ELF file at ``path`` (or of its separate debug file, when the
        file itself is stripped and one is installed)."""
        try:
            with open(path, "rb") as stream:
                headers = read_headers(stream)
        except OSError:
            return cls.empty()
        if headers is None:
            return cls.empty()
        tables = list(headers.tables)
        if not any(table.kind == "symtab" for table in tables):
            tables += _debug_file_tables(headers.build_id)
        return cls._from_tables(tables, headers.segments)

    @classmethod
    def _from_tables(cls, tables: list[SymbolTable],
                     segments: tuple[Segment, ...]) -> ElfSymbols:
        parts, strtabs, base = [], [], 0
        for table in tables:
            chosen = defined_functions(table, ifunc=True)
            parts.append((chosen["value"], chosen["size"],
                          chosen["name"].astype(np.uint64) + base, chosen["info"] >> 4,
                          chosen["shndx"]))
            strtabs.append(table.strings)
            base += len(table.strings)
        if not parts:
            return cls.empty()
        values, sizes, names, binds, sections = (np.concatenate(column)
                                                 for column in zip(*parts, strict=True))
        order = np.lexsort((_BIND_RANK[binds], values))
        first = np.ones(len(order), dtype=bool)
        first[1:] = values[order][1:] != values[order][:-1]  # aliases: the preferred name
        order = order[first]
        values, sizes, names, sections = (values[order], sizes[order], names[order],
                                          sections[order])
        # A symbol without a size (hand-written assembly) reaches the next symbol of its
        # section; ``_init`` must not swallow the PLT that follows it.
        following = values + 1
        same_section = sections[1:] == sections[:-1]
        following[:-1][same_section] = values[1:][same_section]
        ends = np.where(sizes > 0, values + sizes, following)
        return cls(values, ends, names, b"".join(strtabs), segments)

    def __len__(self) -> int:
        return len(self._starts)

    def name_at(self, file_offset: int) -> str | None:
        """The (demangled) function containing ``file_offset`` of the file, or None."""
        vaddr = self._vaddr(file_offset)
        if vaddr is None:
            return None
        index = bisect.bisect_right(self._starts, vaddr) - 1
        if index < 0 or vaddr >= self._ends[index]:
            return None
        name = self._decoded.get(index)
        if name is None:
            name = self._decoded[index] = demangle(
                c_string(self._strtab, int(self._name_offsets[index])))
        return name

    def _vaddr(self, file_offset: int) -> int | None:
        for segment in self._segments:
            if segment.offset <= file_offset < segment.offset + segment.size:
                return file_offset - segment.offset + segment.vaddr
        return None


def _debug_file_tables(build_id: str | None) -> list[SymbolTable]:
    """The symbol table of the file's separate debug file (/usr/lib/debug/.build-id), if any
    is installed: Debian's -dbgsym packages put full symbols there."""
    if build_id is None or len(build_id) < 4:
        return []
    path = os.path.join(_DEBUG_ROOT, build_id[:2], build_id[2:] + ".debug")
    try:
        with open(path, "rb") as stream:
            headers = read_headers(stream)
    except OSError:
        return []
    return [t for t in headers.tables if t.kind == "symtab"] if headers is not None else []


def demangle(name: str) -> str:
    """C++ names as c++filt shows them (``JavaThread::run()``); others unchanged."""
    return _demangle(name) if name.startswith("_Z") else name


@functools.lru_cache(maxsize=65536)
def _demangle(name: str) -> str:
    demangler = _cxa_demangle()
    if demangler is None:
        return name
    function, free = demangler
    status = ctypes.c_int(0)
    result = function(name.encode(), None, None, ctypes.byref(status))
    if not result or status.value != 0:
        return name
    try:
        return ctypes.string_at(result).decode("utf-8", errors="replace")
    finally:
        free(result)


@functools.cache
def _cxa_demangle() -> tuple[Any, Any] | None:
    """libstdc++'s ``__cxa_demangle`` and libc's ``free`` (None without libstdc++)."""
    try:  # by soname: find_library would run `ldconfig -p` (~10 ms)
        function = ctypes.CDLL("libstdc++.so.6").__cxa_demangle
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.POINTER(ctypes.c_int)]
    free = ctypes.CDLL(None).free
    free.argtypes = [ctypes.c_void_p]
    free.restype = None
    return function, free

