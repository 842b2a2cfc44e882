"""Names of user-space code addresses, in BCC's ``BPF.sym(show_module=True)`` text form.

``name [module]`` for a function of a mapped file, ``[unknown] [module]`` for an address in a
file but in no known function, ``[unknown]`` outside every file (JIT code: the perf map names
it later). A file's symbols are loaded once per run (keyed by device, inode and path) and
shared by every process mapping it.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from profiler.capture.symbols.codemaps import CodeMaps, Mapping
from profiler.capture.symbols.elfsyms import ElfSymbols

UNKNOWN = "[unknown]"
_DELETED = " (deleted)"
_MAX_FILES = 256  # libraries held at once (least recently used go first)
_MAX_NAMES = 200_000


class UserSymbols:
    def __init__(self, maps: CodeMaps | None = None) -> None:
        self.maps = maps or CodeMaps()
        self._files: OrderedDict[str, ElfSymbols] = OrderedDict()
        self._names: dict[tuple[str, int], str] = {}
        self._modules: dict[str, str] = {}  # file -> " [basename]"
        self.files_loaded = 0
        self.load_ns = 0  # CPU spent loading files' symbol tables

    def sym(self, address: int, pid: int) -> str:
        mapping = self.maps.mapping(pid, address)
        if mapping is None:
            return UNKNOWN
        offset = address - mapping.start + mapping.offset
        key = (mapping.file, offset)
        name = self._names.get(key)
        if name is None:
            function = self._symbols(pid, mapping).name_at(offset)
            name = (function or UNKNOWN) + self._module(mapping)
            if len(self._names) > _MAX_NAMES:
                self._names.clear()
                self._modules.clear()  # JNI libraries extracted under new names each run
            self._names[key] = name
        return name

    def names(self, pid: int, addresses: Sequence[int]) -> list[str]:
        """``sym`` of many addresses of one process: one vectorized look-up per mapped file
        instead of one Python-level look-up per address."""
        wanted = np.array(addresses, dtype=np.uint64)
        mappings, found = self.maps.mappings(pid, wanted)
        out = np.full(len(wanted), UNKNOWN, dtype=object)
        for index in np.unique(found[found >= 0]).tolist():
            mapping = mappings[index]
            positions = np.flatnonzero(found == index)
            offsets = wanted[positions] - np.uint64(mapping.start) + np.uint64(mapping.offset)
            module = self._module(mapping)
            functions = self._symbols(pid, mapping).names_at(offsets)
            out[positions] = [(function or UNKNOWN) + module for function in functions]
        return out.tolist()

    def _module(self, mapping: Mapping) -> str:
        module = self._modules.get(mapping.file)
        if module is None:
            module = self._modules[mapping.file] = f" [{os.path.basename(mapping.path)}]"
        return module

    @property
    def tables_ns(self) -> int:
        """CPU spent on the tables behind the names: files' symbols and processes' maps.
        Every kind of stack shares them; whichever needs one first pays for it."""
        return self.load_ns + self.maps.read_ns

    def forget(self, pid: int) -> None:
        """Drop a process's mappings (its files' symbols stay for the other processes)."""
        self.maps.forget(pid)

    def _symbols(self, pid: int, mapping: Mapping) -> ElfSymbols:
        symbols = self._files.get(mapping.file)
        if symbols is not None:
            self._files.move_to_end(mapping.file)
            return symbols
        started = time.thread_time_ns()
        symbols = _load(pid, mapping)
        self.load_ns += time.thread_time_ns() - started
        self.files_loaded += 1
        self._files[mapping.file] = symbols
        if len(self._files) > _MAX_FILES:
            self._files.popitem(last=False)[1].close()  # names read from its file
        return symbols


def _load(pid: int, mapping: Mapping) -> ElfSymbols:
    """Through /proc/PID/map_files first: it opens the very file the process mapped, even
    one deleted right after loading (JNI libraries extracted to /tmp) or replaced since."""
    symbols = ElfSymbols.load(f"/proc/{pid}/map_files/{mapping.start:x}-{mapping.end:x}")
    if len(symbols):
        return symbols
    path = mapping.path.removesuffix(_DELETED)
    try:
        stat = os.stat(path)
    except OSError:
        return symbols
    device, inode = _device_inode(mapping)
    if (stat.st_ino, os.major(stat.st_dev), os.minor(stat.st_dev)) != (inode, *device):
        return symbols  # another file now lives at that path
    return ElfSymbols.load(path)


def _device_inode(mapping: Mapping) -> tuple[tuple[int, int], int]:
    major, minor, inode, _ = mapping.file.split(":", 3)
    return (int(major, 16), int(minor, 16)), int(inode)
