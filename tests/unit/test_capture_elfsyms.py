"""Our own ELF symbolizer: names of functions in a library this process really loads."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from profiler.capture.elfsyms import ElfSymbols, demangle
from profiler.capture.usersyms import UNKNOWN, UserSymbols
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

    from profiler.capture.elfheaders import read_headers

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
    from profiler.capture.elfheaders import read_headers

    cut = tmp_path / "cut.so"
    cut.write_bytes(Path("/bin/true").read_bytes()[:40])
    with open(cut, "rb") as stream:
        assert read_headers(stream) is None
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    with open(script, "rb") as stream:
        assert read_headers(stream) is None
