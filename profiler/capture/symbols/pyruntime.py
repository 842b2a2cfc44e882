"""Where a live CPython process keeps its call stack: the facts the BPF sampler's Python walk
(bpf/stacks.c ``py_stack_of``) and the code-object namer (``pyframes``) need.

A process is a Python process when /proc/PID/maps maps a ``python3.N`` executable or a
``libpython3.N.so``; the address of ``_PyRuntime`` (and of ``PyCode_Type``, to check what we
name) comes from that file's dynamic symbols plus its load address. Struct offsets are per
interpreter minor version (CPython keeps them stable within one); they were read off the
3.11 headers and are checked against a running 3.11 by tests/unit/test_pyruntime.py. Before
a process is handed to the kernel its thread list is read once from /proc/PID/mem: a thread
state must carry the native id of one of the process's threads.
"""

from __future__ import annotations

import functools
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from profiler.capture.procfs import ProcessDescriptors

_PYTHON_FILE = re.compile(r"^(lib)?python(\d)\.(\d+)[a-z]*(\.so[.\d]*)?$")
_MAX_THREAD_STATES = 64


@dataclass(frozen=True)
class PyLayout:
    """Byte offsets of the fields on the path thread -> frame -> code -> names."""

    interp_head: int  # _PyRuntimeState.interpreters.head
    tstate_current: int  # _PyRuntimeState.gilstate.tstate_current (GIL holder, or NULL)
    tstate_head: int  # PyInterpreterState.threads.head
    tstate_next: int  # PyThreadState.next
    tstate_native_id: int  # PyThreadState.native_thread_id
    tstate_cframe: int  # PyThreadState.cframe
    cframe_frame: int  # _PyCFrame.current_frame
    frame_code: int  # _PyInterpreterFrame.f_code
    frame_previous: int  # _PyInterpreterFrame.previous
    code_firstlineno: int  # PyCodeObject.co_firstlineno (int)
    code_filename: int
    code_name: int
    code_qualname: int
    unicode_length: int  # PyASCIIObject.length
    unicode_state: int  # PyASCIIObject.state bit field: interned:2 kind:3 compact:1 ascii:1
    ascii_data: int  # sizeof(PyASCIIObject): compact ASCII text follows it
    compact_data: int  # sizeof(PyCompactUnicodeObject): compact non-ASCII text follows it


# CPython 3.11 on 64-bit Linux (Include/internal/pycore_runtime.h, pycore_interp.h,
# cpython/pystate.h, internal/pycore_frame.h, cpython/code.h, cpython/unicodeobject.h).
LAYOUTS: dict[tuple[int, int], PyLayout] = {
    (3, 11): PyLayout(
        interp_head=40, tstate_current=576, tstate_head=16, tstate_next=8,
        tstate_native_id=160, tstate_cframe=56, cframe_frame=8, frame_code=32,
        frame_previous=48, code_firstlineno=72, code_filename=112, code_name=120,
        code_qualname=128, unicode_length=16, unicode_state=32, ascii_data=48,
        compact_data=72),
}


@dataclass(frozen=True)
class PyProcess:
    """A Python process the sampler can walk."""

    pid: int
    version: tuple[int, int]
    runtime: int  # address of _PyRuntime
    code_type: int  # address of PyCode_Type, 0 if the file does not export it
    layout: PyLayout
    fixed_runtime: bool = False  # not position-independent: the same address everywhere

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class PyVerdict:
    """The result of looking at a process: ``process`` when walkable, else ``problem``
    (None for "not a Python process"); ``retry`` when a later look may succeed."""

    process: PyProcess | None = None
    problem: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class _Mapping:
    start: int
    offset: int
    path: str


def read_memory(pid: int, address: int, size: int) -> bytes | None:
    """``size`` bytes of a live process's memory, None when unreadable or it is gone."""
    try:
        fd = _open_memory(pid)
    except OSError:
        return None
    try:
        data = _pread(fd, address, size)
    finally:
        os.close(fd)
    return data if data is not None and len(data) == size else None


class ProcessMemory:
    """Reads of live processes' memory through one open ``/proc/PID/mem`` each: naming the
    code objects of sampled stacks takes ~5 reads an object, and an open costs more than a
    read. A descriptor keeps the memory it was opened on: once that is gone (the process
    exec'd or exited, maybe with its pid reused) its reads come back empty and the next read
    opens the file again; ``forget`` a pid to close it at once."""

    def __init__(self) -> None:
        self._fds = ProcessDescriptors(_open_memory)

    def reader(self, pid: int) -> Callable[[int, int], bytes | None]:
        return functools.partial(self.read, pid)

    def read(self, pid: int, address: int, size: int) -> bytes | None:
        try:
            fd = self._fds.get(pid)
        except OSError:
            return None
        data = _pread(fd, address, size)
        if data == b"" and size:
            self.forget(pid)  # the image it was opened on is gone (exit, exec): reopen
        return data if data is not None and len(data) == size else None

    def forget(self, pid: int) -> None:
        self._fds.forget(pid)

    def close(self) -> None:
        self._fds.close()


def _open_memory(pid: int) -> int:
    return os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)


def _pread(fd: int, address: int, size: int) -> bytes | None:
    """What /proc/PID/mem gives at ``address`` (b"" once the process's memory is gone),
    None for an address it cannot read."""
    try:
        return os.pread(fd, size, address)
    except (OSError, OverflowError):
        return None


def read_word(pid: int, address: int) -> int | None:
    data = read_memory(pid, address, 8) if address >= 4096 else None
    return struct.unpack("<Q", data)[0] if data is not None else None


def python_file_version(path: str) -> tuple[int, int] | None:
    """(3, 11) for ``/usr/bin/python3.11`` or ``.../libpython3.11.so.1.0``, else None."""
    match = _PYTHON_FILE.match(os.path.basename(path))
    return (int(match.group(2)), int(match.group(3))) if match else None


def _python_mappings(pid: int) -> list[_Mapping] | None:
    """The mappings of the process's Python files, libpython first; None if it is gone."""
    found = []
    try:
        with open(f"/proc/{pid}/maps") as handle:
            for line in handle:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and python_file_version(fields[5].strip()):
                    found.append(_Mapping(int(fields[0].split("-")[0], 16),
                                          int(fields[2], 16), fields[5].strip()))
    except OSError:
        return None
    return sorted(found, key=lambda m: (not os.path.basename(m.path).startswith("lib"),
                                        m.path, m.start))


@dataclass(frozen=True)
class _ElfFacts:
    symbols: dict[str, int]
    relocatable: bool  # ET_DYN: addresses are relative to where the file is loaded
    first_vaddr: int  # lowest PT_LOAD address, page-aligned


# (device, inode, mtime) -> facts: every worker maps the same file; parsing costs ~50 ms.
_ELF_CACHE: dict[tuple[int, int, int], _ElfFacts | None] = {}


def _read_elf_facts(path: str) -> _ElfFacts | None:
    wanted = {"_PyRuntime", "PyCode_Type"}
    try:
        with open(path, "rb") as stream:
            elf = ELFFile(stream)
            section = elf.get_section_by_name(".dynsym")
            symbols = {}
            if isinstance(section, SymbolTableSection):
                for symbol in section.iter_symbols():
                    if symbol.name in wanted and symbol["st_value"]:
                        symbols[symbol.name] = int(symbol["st_value"])
            loads = [int(seg["p_vaddr"]) for seg in elf.iter_segments()
                     if seg["p_type"] == "PT_LOAD"]
            return _ElfFacts(symbols, elf["e_type"] == "ET_DYN",
                             (min(loads) if loads else 0) & ~0xFFF)
    except (OSError, ELFError, ValueError):
        return None


def elf_facts(path: str) -> _ElfFacts | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    identity = (info.st_dev, info.st_ino, int(info.st_mtime))
    if identity not in _ELF_CACHE:
        _ELF_CACHE[identity] = _read_elf_facts(path)
    return _ELF_CACHE[identity]


def inspect_process(pid: int) -> PyVerdict:
    """Whether and how the sampler can walk ``pid``'s Python frames."""
    mappings = _python_mappings(pid)
    if mappings is None:
        return PyVerdict(problem=None)
    if not mappings:
        return PyVerdict()
    path = mappings[0].path
    version = python_file_version(path)
    assert version is not None
    layout = LAYOUTS.get(version)
    if layout is None:
        return PyVerdict(problem=f"Python {version[0]}.{version[1]}: no frame layout known "
                                 f"(supported: {', '.join(f'{a}.{b}' for a, b in LAYOUTS)})")
    facts = elf_facts(f"/proc/{pid}/root{path}") or elf_facts(path)
    if facts is None or "_PyRuntime" not in facts.symbols:
        return PyVerdict(problem=f"{path} does not export _PyRuntime")
    base = min((m.start - m.offset for m in mappings if m.path == path), default=0)
    bias = base - facts.first_vaddr if facts.relocatable else 0
    code_type = facts.symbols.get("PyCode_Type", 0)
    process = PyProcess(pid, version, facts.symbols["_PyRuntime"] + bias,
                        code_type + bias if code_type else 0, layout,
                        fixed_runtime=not facts.relocatable)
    return check_thread_states(process)


def check_thread_states(process: PyProcess) -> PyVerdict:
    """A process is walkable when one of its thread states names one of its threads."""
    pid, layout = process.pid, process.layout
    interp = read_word(pid, process.runtime + layout.interp_head)
    if interp is None:
        return PyVerdict(problem=f"cannot read _PyRuntime of {pid}", retry=True)
    tstate = read_word(pid, interp + layout.tstate_head) if interp else 0
    if not tstate:
        return PyVerdict(problem="interpreter not initialised yet", retry=True)
    try:
        threads = {int(name) for name in os.listdir(f"/proc/{pid}/task")}
    except OSError:
        return PyVerdict(problem=f"process {pid} is gone", retry=True)
    for _ in range(_MAX_THREAD_STATES):
        if not tstate:
            break
        if read_word(pid, tstate + layout.tstate_native_id) in threads:
            return PyVerdict(process=process)
        tstate = read_word(pid, tstate + layout.tstate_next) or 0
    return PyVerdict(problem=f"Python {process.version_text} thread states of {pid} do not "
                             f"match its threads: layout differs from the one known")
