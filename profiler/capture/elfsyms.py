"""Function names for addresses in mapped ELF files, one symbol table per file (not per
process), read with binutils' ``nm``.

Why not BCC's symbolizer: on this machine it took ~0.9 ms per lookup in libjvm.so even after
its first load, which made naming the frames of a 49 Hz sampling run cost several percent of
the job's CPU. ``nm`` reads and demangles libjvm's 57,000 symbols in ~0.13 s, once for every
process that maps the file; a lookup is then a binary search.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

_CODE_TYPES = frozenset("TtWwi")


@dataclass(frozen=True)
class SymbolTable:
    starts: list[int]
    ends: list[int]    # start + size, or the next symbol's start when nm gave no size
    names: list[str]
    segments: list[tuple[int, int, int]]  # PT_LOAD (file offset, size in file, vaddr)

    def vaddr_of(self, file_offset: int) -> int | None:
        for offset, size, vaddr in self.segments:
            if offset <= file_offset < offset + size:
                return file_offset - offset + vaddr
        return None

    def name_at(self, file_offset: int) -> str | None:
        vaddr = self.vaddr_of(file_offset)
        if vaddr is None:
            return None
        index = bisect.bisect_right(self.starts, vaddr) - 1
        if index >= 0 and vaddr < self.ends[index]:
            return self.names[index]
        return None


def parse_nm(text: str) -> list[tuple[int, int | None, str]]:
    """(address, size or None, name) of the code symbols in ``nm -n -S -C`` output."""
    found = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        try:
            if len(parts) == 4 and len(parts[2]) == 1:
                address, size, kind, name = int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]
            elif len(parts) >= 3 and len(parts[1]) == 1:
                address, size, kind = int(parts[0], 16), None, parts[1]
                name = " ".join(parts[2:])
            else:
                continue
        except ValueError:
            continue
        if kind in _CODE_TYPES and address:
            found.append((address, size, name))
    return found


def build_table(symbols: list[tuple[int, int | None, str]],
                segments: list[tuple[int, int, int]]) -> SymbolTable:
    by_start: dict[int, tuple[int | None, str]] = {}
    for address, size, name in symbols:
        if address not in by_start or (by_start[address][0] is None and size is not None):
            by_start[address] = (size, name)
    starts = sorted(by_start)
    ends = []
    for index, start in enumerate(starts):
        size = by_start[start][0]
        following = starts[index + 1] if index + 1 < len(starts) else start + (1 << 20)
        ends.append(start + size if size else following)
    return SymbolTable(starts, ends, [by_start[s][1] for s in starts], segments)


def _segments(path: str) -> list[tuple[int, int, int]]:
    with open(path, "rb") as handle:
        return [(seg["p_offset"], seg["p_filesz"], seg["p_vaddr"])
                for seg in ELFFile(handle).iter_segments() if seg["p_type"] == "PT_LOAD"]


def load_table(path: str, nm: str | None = None) -> SymbolTable | None:
    """The code symbols of an ELF file (its symbol table and its dynamic one); None when
    nm is missing or the file is not readable ELF."""
    nm = nm or shutil.which("nm")
    if nm is None:
        return None
    try:
        segments = _segments(path)
        symbols: list[tuple[int, int | None, str]] = []
        for extra in ([], ["-D"]):
            done = subprocess.run([nm, "-n", "-S", "-C", "--defined-only", *extra, path],
                                  capture_output=True, text=True, timeout=60, check=False)
            symbols.extend(parse_nm(done.stdout))
    except (OSError, ELFError, ValueError, subprocess.SubprocessError):
        return None
    return build_table(symbols, segments)
