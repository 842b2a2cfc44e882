"""Which native libraries a JVM has mapped, and the native methods in them: ``Java_*``
symbols, and for libraries that register their natives by hand (jni_names.RegisteredNatives)
the local functions of their ``.symtab`` that the library's naming scheme names.

Libraries that Spark's dependencies extract to /tmp are deleted right after loading: the path
in /proc/PID/maps no longer opens, so every library is read (and later attached) through
/proc/PID/map_files/<start>-<end>, which opens the mapped inode whatever happened to its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from profiler.capture.probes.jni.names import (
    JAVA_PREFIX,
    RegisteredNatives,
    registered_natives,
    strip_version,
)
from profiler.capture.symbols.elfheaders import (
    ElfHeaders,
    Segment,
    c_string,
    defined_functions,
    read_headers,
)

_FIRST_BYTES = 8


@dataclass(frozen=True)
class Mapping:
    """One line of /proc/PID/maps that maps a file."""

    start: int
    end: int
    perms: str
    offset: int
    inode: int
    dev: str
    path: str  # as the kernel shows it, " (deleted)" included

    @property
    def executable(self) -> bool:
        return "x" in self.perms

    @property
    def file_key(self) -> tuple[str, int]:
        return self.dev, self.inode


@dataclass(frozen=True)
class JniSymbol:
    """A native method's function in a library file (``Java_*`` or a registered native)."""

    name: str          # without the @@VERSION suffix
    vaddr: int         # st_value: what BCC's attach_uprobe(addr=...) takes
    file_offset: int   # where its code starts in the file
    first_bytes: bytes


def parse_maps(text: str) -> list[Mapping]:
    """File-backed mappings of a /proc/PID/maps text (anonymous and [special] ones dropped)."""
    found = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        span, perms, offset, dev, inode, path = fields
        if inode == "0":
            continue
        low, high = span.split("-")
        found.append(Mapping(int(low, 16), int(high, 16), perms, int(offset, 16), int(inode),
                             dev, path))
    return found


def read_maps(pid: int) -> list[Mapping]:
    return parse_maps(read_library_lines(pid))


def read_library_lines(pid: int) -> str:
    """The lines of /proc/PID/maps that map a ``*.so`` file ("" when the process is gone):
    a JVM has thousands of mappings, a few dozen of them libraries."""
    try:
        with open(f"/proc/{pid}/maps") as handle:
            return "".join(line for line in handle if ".so" in line)
    except OSError:
        return ""


def shared_libraries(mappings: list[Mapping]) -> dict[tuple[str, int], list[Mapping]]:
    """The mappings of each mapped ``*.so`` file (by device and inode), in address order."""
    libraries: dict[tuple[str, int], list[Mapping]] = {}
    for mapping in mappings:
        base = os.path.basename(mapping.path.removesuffix(" (deleted)"))
        if ".so" in base:
            libraries.setdefault(mapping.file_key, []).append(mapping)
    return libraries


def map_files_path(pid: int, mapping: Mapping) -> str:
    return f"/proc/{pid}/map_files/{mapping.start:x}-{mapping.end:x}"


def _file_offset(segments: tuple[Segment, ...], vaddr: int) -> int | None:
    for segment in segments:
        if segment.vaddr <= vaddr < segment.vaddr + segment.size:
            return vaddr - segment.vaddr + segment.offset
    return None


def _functions(headers: ElfHeaders, kind: str,
               prefix: bytes = b"") -> Iterator[tuple[str, int]]:
    """Defined functions of the file's ``kind`` symbol table whose names start with
    ``prefix``: (name without @@VERSION, st_value)."""
    for table in headers.tables:
        if table.kind != kind:
            continue
        functions = defined_functions(table)
        for name_offset, vaddr in zip(functions["name"].tolist(), functions["value"].tolist(),
                                      strict=True):
            if table.strings.startswith(prefix, name_offset):
                yield strip_version(c_string(table.strings, name_offset)), vaddr


def _native_functions(headers: ElfHeaders,
                      schemes: tuple[RegisteredNatives, ...]) -> Iterator[tuple[str, int]]:
    """``Java_*`` functions of .dynsym, then the registered natives of .symtab (local
    functions, so only there; a stripped library has none to offer)."""
    yield from _functions(headers, "dynsym", JAVA_PREFIX.encode())
    if schemes:
        for name, vaddr in _functions(headers, "symtab"):
            if any(scheme.name(name) is not None for scheme in schemes):
                yield name, vaddr


def java_symbols(path: str, library: str = "") -> list[JniSymbol]:
    """Every defined native-method function of an ELF file with its first code bytes: its
    ``Java_*`` symbols, and the registered natives of the naming schemes that apply to
    ``library`` (the path the process maps it under; ``path`` may be a map_files link). []
    when the file cannot be read as ELF."""
    schemes = registered_natives(library or path)
    try:
        with open(path, "rb") as handle:
            headers = read_headers(handle)
            if headers is None:
                return []
            found: dict[str, JniSymbol] = {}
            for name, vaddr in _native_functions(headers, schemes):
                offset = _file_offset(headers.segments, vaddr)
                if offset is None or name in found:
                    continue
                handle.seek(offset)
                found[name] = JniSymbol(name, vaddr, offset, handle.read(_FIRST_BYTES))
            return sorted(found.values(), key=lambda s: s.file_offset)
    except OSError:
        return []


def file_offsets(path: str, vaddrs: list[int]) -> dict[int, int]:
    """File offsets of ELF virtual addresses (those inside a loaded segment)."""
    try:
        with open(path, "rb") as handle:
            headers = read_headers(handle, symbols=False)
    except OSError:
        return {}
    if headers is None:
        return {}
    found = {vaddr: _file_offset(headers.segments, vaddr) for vaddr in vaddrs}
    return {vaddr: offset for vaddr, offset in found.items() if offset is not None}


def runtime_address(mappings: list[Mapping], file_offset: int) -> int | None:
    """Where ``file_offset`` of a library sits in the process (its executable mapping)."""
    for mapping in mappings:
        size = mapping.end - mapping.start
        if mapping.executable and mapping.offset <= file_offset < mapping.offset + size:
            return mapping.start + file_offset - mapping.offset
    return None
