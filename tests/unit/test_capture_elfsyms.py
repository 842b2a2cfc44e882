"""Our own ELF symbolizer: names of functions in a library this process really loads."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from profiler.capture.symbols import elfsyms
from profiler.capture.symbols.elfsyms import ElfSymbols, demangle
from profiler.capture.symbols.usersyms import UNKNOWN, UserSymbols
from tests.conftest import require, waiting_child

LIBRARY_SOURCE = r"""
int sparkprof_alpha(int x) { return x * 3 + 1; }
int sparkprof_beta(int x) { return sparkprof_alpha(x) ^ 5; }
/* A hand-written function without a .size: it reaches the next symbol of .text. */
__asm__(".text\n.globl sparkprof_nosize\n.type sparkprof_nosize, @function\n"
        "sparkprof_nosize:\n ret\n nop\n nop\n nop\n");
"""


def _build(directory: Path, name: str) -> Path:
    require(shutil.which("gcc") is not None, "gcc is needed to build the test library")
    source = directory / "lib.c"
    source.write_text(LIBRARY_SOURCE)
    library = directory / name
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
                   check=True)
    return library


def _address(library: ctypes.CDLL, name: str) -> int:
    value = ctypes.cast(getattr(library, name), ctypes.c_void_p).value
    assert value is not None
    return value


def test_functions_of_a_loaded_library_are_named_with_their_module(tmp_path: Path) -> None:
    library = ctypes.CDLL(str(_build(tmp_path, "libsparkproftest1.so")))
    symbols = UserSymbols()
    pid = os.getpid()
    alpha = _address(library, "sparkprof_alpha")
    assert symbols.sym(alpha, pid) == "sparkprof_alpha [libsparkproftest1.so]"
    assert symbols.sym(alpha + 1, pid) == "sparkprof_alpha [libsparkproftest1.so]"
    assert symbols.sym(_address(library, "sparkprof_beta"), pid) == \
        "sparkprof_beta [libsparkproftest1.so]"
    assert symbols.sym(_address(library, "sparkprof_nosize") + 2, pid) == \
        "sparkprof_nosize [libsparkproftest1.so]"
    assert symbols.sym(16, pid) == UNKNOWN  # no file is mapped there


def test_many_addresses_named_at_once_as_one_at_a_time(tmp_path: Path) -> None:
    library = ctypes.CDLL(str(_build(tmp_path, "libsparkproftest3.so")))
    libc = ctypes.CDLL(None)
    rng = np.random.default_rng(7)
    # every byte of the test library's functions, and addresses all over libc's and the
    # interpreter's code (in functions, between them, past the end), plus garbage
    alpha = _address(library, "sparkprof_alpha")
    addresses = list(range(alpha - 64, alpha + 256))
    for base in (_address(libc, "getpid"), _address(ctypes.pythonapi, "Py_IsInitialized")):
        addresses += (base + rng.integers(-2**20, 2**20, 1500)).tolist()
    addresses += [0, 16, 0x3D1, 0x6A624F2F676E616C]
    pid = os.getpid()
    one_at_a_time = [UserSymbols().sym(address, pid) for address in addresses]
    assert UserSymbols().names(pid, addresses) == one_at_a_time
    assert "sparkprof_nosize [libsparkproftest3.so]" in one_at_a_time
    assert len(set(one_at_a_time)) > 100  # many functions, not one answer for all


def test_names_read_from_the_file_match_names_read_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _build(tmp_path, "libsparkproftest4.so")
    library = ctypes.CDLL(str(path))
    in_memory = ElfSymbols.load(str(path))
    monkeypatch.setattr(elfsyms, "_STRINGS_READ_UP_TO", 0)  # every string table left in it
    from_file = ElfSymbols.load(str(path))
    path.unlink()  # the open file still serves the names
    assert len(from_file) == len(in_memory) > 0
    base = _address(library, "sparkprof_alpha")
    offsets = np.array([symbols_offset(base + delta) for delta in range(-32, 160)],
                       dtype=np.uint64)
    assert from_file.names_at(offsets) == in_memory.names_at(offsets)
    assert "sparkprof_beta" in from_file.names_at(offsets)
    from_file.close()  # nothing named before is lost; new names cannot be read any more
    assert "sparkprof_beta" in from_file.names_at(offsets)


def symbols_offset(address: int) -> int:
    """The file offset of ``address`` in this process (for ElfSymbols' look-ups)."""
    from profiler.capture.symbols.codemaps import CodeMaps

    located = CodeMaps().locate(os.getpid(), address)
    assert located is not None
    return located[1]


def test_a_library_deleted_after_loading_is_still_named(tmp_path: Path) -> None:
    path = _build(tmp_path, "libsparkproftest2.so")
    library = ctypes.CDLL(str(path))
    path.unlink()  # what JNI libraries extracted to /tmp do
    name = UserSymbols().sym(_address(library, "sparkprof_beta"), os.getpid())
    assert name.startswith("sparkprof_beta [libsparkproftest2.so")


def test_forked_processes_share_one_load_of_a_file() -> None:
    address = _address(ctypes.CDLL(None), "getpid")
    symbols = UserSymbols()
    mine = symbols.sym(address, os.getpid())
    assert mine.endswith("[libc.so.6]") and "getpid" in mine
    with waiting_child() as child:
        assert symbols.sym(address, child) == mine
    assert symbols.files_loaded == 1


def test_the_cost_of_the_tables_is_counted_once_per_load() -> None:
    address = _address(ctypes.CDLL(None), "getpid")
    symbols = UserSymbols()
    assert symbols.tables_ns == 0
    symbols.sym(address, os.getpid())
    loaded = symbols.tables_ns
    assert symbols.load_ns > 0 and symbols.maps.read_ns > 0  # libc's symbols, our maps
    assert loaded == symbols.load_ns + symbols.maps.read_ns
    symbols.sym(address + 1, os.getpid())
    assert symbols.tables_ns == loaded  # named from what is loaded


def test_a_file_that_is_not_elf_has_no_symbols(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an ELF file")
    table = ElfSymbols.load(str(text))
    assert len(table) == 0 and table.name_at(0) is None
    assert len(ElfSymbols.load(str(tmp_path / "missing.so"))) == 0


@pytest.mark.parametrize(("mangled", "plain"), [
    ("_ZN10JavaThread3runEv", "JavaThread::run()"),
    ("_ZN6Thread8call_runEv", "Thread::call_run()"),
    ("Java_java_util_zip_Deflater_deflateBytesBytes",
     "Java_java_util_zip_Deflater_deflateBytesBytes"),
    ("_Znot a mangled name", "_Znot a mangled name"),
])
def test_cplusplus_names_are_demangled_like_cxxfilt(mangled: str, plain: str) -> None:
    assert demangle(mangled) == plain


def test_headers_agree_with_pyelftools_on_a_system_library() -> None:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import NoteSection

    from profiler.capture.symbols.elfheaders import read_headers

    path = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else "/bin/true"
    with open(path, "rb") as stream:
        ours = read_headers(stream)
        stream.seek(0)
        elf = ELFFile(stream)
        loads = [(s["p_offset"], s["p_vaddr"], s["p_filesz"]) for s in elf.iter_segments()
                 if s["p_type"] == "PT_LOAD"]
        notes = [note["n_desc"] for section in elf.iter_sections()
                 if isinstance(section, NoteSection) for note in section.iter_notes()
                 if note["n_type"] == "NT_GNU_BUILD_ID"]
        dynsym = elf.get_section_by_name(".dynsym")
        assert dynsym is not None
        dynsym_data = dynsym.data()
    assert ours is not None
    assert [(s.offset, s.vaddr, s.size) for s in ours.segments] == loads
    assert ours.build_id == (notes[0] if notes else None)
    assert any(t.kind == "dynsym" and t.symbols == dynsym_data for t in ours.tables)


def test_truncated_or_foreign_files_have_no_headers(tmp_path: Path) -> None:
    from profiler.capture.symbols.elfheaders import read_headers

    cut = tmp_path / "cut.so"
    cut.write_bytes(Path("/bin/true").read_bytes()[:40])
    with open(cut, "rb") as stream:
        assert read_headers(stream) is None
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    with open(script, "rb") as stream:
        assert read_headers(stream) is None
