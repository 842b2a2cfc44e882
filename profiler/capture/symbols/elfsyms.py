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
from typing import Any, BinaryIO

import numpy as np

from profiler.capture.symbols.elfheaders import (
    ELF64_SYM,
    STT_FUNC,
    STT_GNU_IFUNC,
    ElfHeaders,
    FileStrings,
    Segment,
    SymbolTable,
    c_string,
    read_headers,
)

# Of aliases at one address, name the GLOBAL one first, then WEAK, then LOCAL (by st_bind).
_BIND_RANK = np.array([2, 0, 1] + [3] * 13, dtype=np.uint8)
_DEBUG_ROOT = "/usr/lib/debug/.build-id"
# Bigger string tables stay in their file and are read a name at a time (FileStrings).
_STRINGS_READ_UP_TO = 1 << 20


class ElfSymbols:
    """Sorted function ranges of one file; an empty table when the file has none or is not
    a 64-bit little-endian ELF (then every lookup answers None)."""

    def __init__(self, starts: np.ndarray[Any, Any], ends: np.ndarray[Any, Any],
                 name_offsets: np.ndarray[Any, Any], strtab: bytes | FileStrings,
                 segments: tuple[Segment, ...]) -> None:
        self._start_array = np.asarray(starts, dtype=np.uint64)
        self._end_array = np.asarray(ends, dtype=np.uint64)
        # One address at a time, bisect on a Python list costs a sixth of numpy's per-call
        # searchsorted; the lists are built at the first such look-up (the sampler names
        # addresses in bulk, with numpy, and never needs them).
        self._lists: tuple[list[int], list[int]] | None = None
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
        opened = _read_tables(path)
        if opened is None:
            return cls.empty()
        headers, file = opened
        tables = list(headers.tables)
        # .symtab holds every function .dynsym does (checked on 453 libraries having both):
        # the headers hold .dynsym only when there is no .symtab
        if not any(table.kind == "symtab" for table in tables) and headers.build_id:
            debug = _read_tables(_debug_path(headers.build_id), strings_up_to=None)
            if debug is not None:
                # .dynsym first: of aliases it gives plain names where the debug file's
                # table has versioned ones (realpath@@GLIBC_2.3)
                tables += [table for table in debug[0].tables if table.kind == "symtab"]
        try:
            symbols = cls._from_tables(tables, headers.segments, file)
        except BaseException:
            if file is not None:
                file.close()
            raise
        return symbols

    @classmethod
    def _from_tables(cls, tables: list[SymbolTable], segments: tuple[Segment, ...],
                     file: BinaryIO | None = None) -> ElfSymbols:
        """``file``: the open file whose string tables were left in it (None: all read);
        kept open by the result when its one table's names are read from it, else closed."""
        strings: bytes | FileStrings
        if len(tables) == 1 and tables[0].strings_left_in_file and file is not None:
            strings = FileStrings(file, tables[0].strings_offset, tables[0].strings_size)
        else:
            if file is not None:
                tables = [_with_strings(table, file) for table in tables]
                file.close()
            strings = b"".join(table.strings for table in tables)
        parts, base = [], 0
        for table in tables:
            parts.append(_function_columns(table, base))
            base += len(table.strings)
        if not parts:
            if isinstance(strings, FileStrings):
                strings.close()
            return cls.empty()
        values, sizes, names, binds, sections = (
            parts[0] if len(parts) == 1
            else tuple(np.concatenate(column) for column in zip(*parts, strict=True)))
        # by address, then the preferred alias first: one sort of a packed key (a shared
        # library's addresses are far below 2^62) is a third cheaper than np.lexsort
        order = np.argsort((values << np.uint64(2)) | _BIND_RANK[binds].astype(np.uint64),
                           kind="stable")
        values = values[order]
        first = np.ones(len(values), dtype=bool)
        np.not_equal(values[1:], values[:-1], out=first[1:])  # aliases: the preferred name
        order, values = order[first], values[first]
        sizes, names, sections = sizes[order], names[order], sections[order]
        # A symbol without a size (hand-written assembly) reaches the next symbol of its
        # section; ``_init`` must not swallow the PLT that follows it.
        following = values + 1
        same_section = sections[1:] == sections[:-1]
        following[:-1][same_section] = values[1:][same_section]
        ends = np.where(sizes > 0, values + sizes, following)
        return cls(values, ends, names, strings, segments)

    def close(self) -> None:
        """Close the file the names are read from, if any (the table stays usable for what
        it has named)."""
        if isinstance(self._strtab, FileStrings):
            self._strtab.close()

    def __len__(self) -> int:
        return len(self._start_array)

    def name_at(self, file_offset: int) -> str | None:
        """The (demangled) function containing ``file_offset`` of the file, or None."""
        vaddr = self._vaddr(file_offset)
        if vaddr is None:
            return None
        if self._lists is None:
            self._lists = (self._start_array.tolist(), self._end_array.tolist())
        starts, ends = self._lists
        index = bisect.bisect_right(starts, vaddr) - 1
        if index < 0 or vaddr >= ends[index]:
            return None
        return self._name(index)

    def names_at(self, file_offsets: np.ndarray[Any, Any]) -> list[str | None]:
        """``name_at`` of many file offsets (uint64) in one pass."""
        vaddrs = np.zeros(len(file_offsets), dtype=np.uint64)
        loaded = np.zeros(len(file_offsets), dtype=bool)
        for segment in self._segments:
            inside = ((file_offsets >= segment.offset)
                      & (file_offsets < segment.offset + segment.size) & ~loaded)
            vaddrs[inside] = file_offsets[inside] - segment.offset + segment.vaddr
            loaded |= inside
        index = np.searchsorted(self._start_array, vaddrs, side="right").astype(np.int64) - 1
        found = loaded & (index >= 0)
        found[found] = vaddrs[found] < self._end_array[index[found]]
        index[~found] = -1  # never a function's index: looks up None
        indices = index.tolist()
        names: list[str | None] = list(map(self._decoded.get, indices))
        for position in np.flatnonzero(found).tolist():
            if names[position] is None:  # a function seen for the first time
                names[position] = self._name(indices[position])
        return names

    def _name(self, index: int) -> str | None:
        name = self._decoded.get(index)
        if name is None:
            offset = int(self._name_offsets[index])
            raw = (self._strtab.name_at(offset) if isinstance(self._strtab, FileStrings)
                   else c_string(self._strtab, offset))
            if raw is None:
                return None  # its file could not be read: an unnamed function, this time
            name = self._decoded[index] = demangle(raw)
        return name

    def _vaddr(self, file_offset: int) -> int | None:
        for segment in self._segments:
            if segment.offset <= file_offset < segment.offset + segment.size:
                return file_offset - segment.offset + segment.vaddr
        return None


def _function_columns(table: SymbolTable, name_base: int) -> tuple[np.ndarray[Any, Any], ...]:
    """Address, size, name offset (+ ``name_base``), binding and section of the functions
    ``table`` defines, each column copied alone: a big C++ library has ~100k symbols, and
    copying whole 24-byte records first cost megabytes of fresh pages."""
    symbols = np.frombuffer(table.symbols, dtype=ELF64_SYM,
                            count=len(table.symbols) // ELF64_SYM.itemsize)
    info = symbols["info"]
    kind = info & 0xF
    wanted = (kind == STT_FUNC) | (kind == STT_GNU_IFUNC)
    wanted &= symbols["shndx"] != 0  # defined here
    wanted &= symbols["value"] != 0
    names = symbols["name"][wanted].astype(np.uint64)
    if name_base:
        names += np.uint64(name_base)
    return (symbols["value"][wanted], symbols["size"][wanted], names, info[wanted] >> 4,
            symbols["shndx"][wanted])


def _debug_path(build_id: str) -> str:
    """Where Debian's -dbgsym packages put a file's full symbols (by its GNU build id)."""
    return os.path.join(_DEBUG_ROOT, build_id[:2], build_id[2:] + ".debug")


def _read_tables(path: str, strings_up_to: int | None = _STRINGS_READ_UP_TO,
                 ) -> tuple[ElfHeaders, BinaryIO | None] | None:
    """The file's headers, and the file still open when a string table was left in it;
    None when it cannot be read or is no ELF file this reads."""
    try:
        file = open(path, "rb")  # noqa: SIM115  # kept open for the names read later
    except OSError:
        return None
    try:
        headers = read_headers(file, strings_up_to=strings_up_to, full_table_only=True)
    except OSError:
        headers = None
    if headers is None or not any(t.strings_left_in_file for t in headers.tables):
        file.close()
        return None if headers is None else (headers, None)
    return headers, file


def _with_strings(table: SymbolTable, file: BinaryIO) -> SymbolTable:
    """``table`` with its string table read in, if it was left in the file."""
    if not table.strings_left_in_file:
        return table
    file.seek(table.strings_offset)
    return SymbolTable(table.kind, table.symbols, file.read(table.strings_size),
                       table.strings_offset, table.strings_size)


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

