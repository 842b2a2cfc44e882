"""Python frame naming for samples: CPython layouts checked against this interpreter, code
objects read from this process's own memory, and the splice into native stacks."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import types
from typing import Any

import numpy as np
import pytest

from profiler.capture.probes import pystacks
from profiler.capture.probes.pystacks import PY_STACK_VAL, PythonStacks
from profiler.capture.symbols import pyruntime
from profiler.capture.symbols.frames import PYTHON_FRAME, Frame
from profiler.capture.symbols.pyframes import (
    CodeNamer,
    python_frame,
    read_code_name,
    read_text,
    splice,
)
from profiler.capture.symbols.pyruntime import (
    LAYOUTS,
    ProcessMemory,
    PyLayout,
    inspect_process,
    python_file_version,
    read_memory,
)
from tests.conftest import require, waiting_child

VERSION = sys.version_info[:2]


def _layout() -> PyLayout:
    require(VERSION in LAYOUTS, f"no frame layout for this Python {VERSION}")
    return LAYOUTS[VERSION]


def _word(address: int) -> int:
    return ctypes.c_uint64.from_address(address).value


def _own_memory(address: int, size: int) -> bytes | None:
    return read_memory(os.getpid(), address, size)


def test_layout_leads_from_the_runtime_to_this_frame() -> None:
    layout = _layout()
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_Head.restype = ctypes.c_void_p
    runtime = ctypes.addressof(ctypes.c_void_p.in_dll(api, "_PyRuntime"))
    tstate = api.PyThreadState_Get()
    interp = _word(runtime + layout.interp_head)
    assert interp == api.PyInterpreterState_Head()
    assert _word(runtime + layout.tstate_current) == tstate  # we hold the GIL
    states, each = [], _word(interp + layout.tstate_head)
    while each and len(states) < 100:
        states.append(each)
        each = _word(each + layout.tstate_next)
    assert tstate in states
    assert _word(tstate + layout.tstate_native_id) == threading.get_native_id()
    cframe = _word(tstate + layout.tstate_cframe)
    # read inline: inside a helper function the current frame would be the helper's
    frame = ctypes.c_uint64.from_address(cframe + layout.cframe_frame).value
    assert _word(frame + layout.frame_code) == id(sys._getframe().f_code)
    caller = _word(frame + layout.frame_previous)
    assert _word(caller + layout.frame_code) == id(sys._getframe(1).f_code)
    # bpf/stacks.c reads the first 64 bytes of a frame at once
    assert max(layout.frame_code, layout.frame_previous) < 64


def test_code_offsets_match_a_code_object() -> None:
    layout = _layout()
    code = test_code_offsets_match_a_code_object.__code__
    assert _word(id(code) + layout.code_filename) == id(code.co_filename)
    assert _word(id(code) + layout.code_name) == id(code.co_name)
    assert _word(id(code) + layout.code_qualname) == id(code.co_qualname)
    line = ctypes.c_int.from_address(id(code) + layout.code_firstlineno).value
    assert line == code.co_firstlineno


def test_this_process_is_walkable() -> None:
    _layout()
    verdict = inspect_process(os.getpid())
    assert verdict.process is not None, verdict.problem
    runtime = ctypes.addressof(ctypes.c_void_p.in_dll(ctypes.pythonapi, "_PyRuntime"))
    assert verdict.process.runtime == runtime
    assert verdict.process.code_type == id(types.CodeType)
    assert verdict.process.version == VERSION


def test_a_program_without_python_is_not_a_python_process() -> None:
    child = subprocess.Popen(["sleep", "5"])
    try:
        verdict = inspect_process(child.pid)
    finally:
        child.kill()
        child.wait()
    assert verdict.process is None and verdict.problem is None


def test_python_file_versions() -> None:
    assert python_file_version("/usr/bin/python3.11") == (3, 11)
    assert python_file_version("/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0") == (3, 12)
    assert python_file_version("/opt/py/bin/python3.13t") == (3, 13)
    assert python_file_version("/usr/bin/python3") is None
    assert python_file_version("/usr/lib/libpythonista.so") is None


def _own_process():  # type: ignore[no-untyped-def]
    verdict = inspect_process(os.getpid())
    assert verdict.process is not None, verdict.problem
    return verdict.process


def test_a_method_is_named_with_its_qualified_name_file_and_line() -> None:
    _layout()

    class Holder:
        def burn_cpu_named_here(self) -> None:
            pass

    code = Holder.burn_cpu_named_here.__code__
    name = read_code_name(_own_memory, _own_process(), id(code))
    assert name == python_frame(code.co_qualname, code.co_filename, code.co_firstlineno)
    assert name is not None and name.startswith(
        "py::test_a_method_is_named_with_its_qualified_name_file_and_line.<locals>.Holder."
        "burn_cpu_named_here (")
    assert name.endswith(f"test_capture_pyframes.py:{code.co_firstlineno})")


@pytest.mark.parametrize("text", ["plain", "größe", "名前", "f\U0001f600.py", ""])
def test_text_of_every_string_kind(text: str) -> None:
    layout = _layout()
    value = "".join(list(text))  # a fresh, compact object
    assert read_text(_own_memory, layout, id(value)) == text


def test_non_ascii_function_and_file_names() -> None:
    _layout()
    namespace: dict[str, object] = {}
    exec(compile("def größe_名前():\n    pass\n", "/tmp/f\U0001f600.py", "exec"), namespace)
    code = namespace["größe_名前"].__code__  # type: ignore[attr-defined]
    name = read_code_name(_own_memory, _own_process(), id(code))
    assert name == "py::größe_名前 (/tmp/f\U0001f600.py:1)"


def test_memory_that_is_not_a_code_object_has_no_name() -> None:
    _layout()
    process = _own_process()
    not_code = [1, 2, 3]
    assert read_code_name(_own_memory, process, id(not_code)) is None
    assert read_code_name(_own_memory, process, 0) is None
    assert read_code_name(lambda address, size: None, process, id(not_code)) is None


def test_the_namer_reads_each_code_object_once() -> None:
    _layout()
    process = _own_process()
    reads = []

    def reader(pid: int):  # type: ignore[no-untyped-def]
        def read(address: int, size: int) -> bytes | None:
            reads.append(address)
            return _own_memory(address, size)
        return read

    namer = CodeNamer(reader)
    codes = [id(test_the_namer_reads_each_code_object_once.__code__), id([])]
    first = namer.frames(process, codes)
    count = len(reads)
    assert namer.frames(process, codes) == first and len(reads) == count
    assert len(first) == 1 and namer.named == 2 and namer.unreadable == 2
    namer.retry_failures()
    namer.frames(process, codes)
    assert reads[count:] == [codes[1]]  # only the failure is read again
    namer.forget_process(process.pid)
    count = len(reads)
    namer.frames(process, codes)
    assert len(reads) > count + 1


def _counting_opens(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []
    real = pyruntime._open_memory

    def open_memory(pid: int) -> int:
        opened.append(pid)
        return real(pid)

    monkeypatch.setattr(pyruntime, "_open_memory", open_memory)
    return opened


def test_process_memory_reads_through_one_descriptor_until_forgotten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _counting_opens(monkeypatch)
    text = ctypes.create_string_buffer(b"sparkprof reads this")
    memory = ProcessMemory()
    pid = os.getpid()
    assert memory.read(pid, ctypes.addressof(text), 9) == b"sparkprof"
    assert memory.reader(pid)(ctypes.addressof(text) + 10, 5) == b"reads"
    assert memory.read(pid, 0, 8) is None  # unmapped
    assert opened == [pid]
    memory.forget(pid)
    assert memory.read(pid, ctypes.addressof(text), 9) == b"sparkprof"
    assert opened == [pid, pid]
    assert memory.read(2**22 + 7, 0x1000, 8) is None  # no such process (pid_max <= 2^22)
    memory.close()


def test_process_memory_opens_again_once_the_process_is_gone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _counting_opens(monkeypatch)
    text = ctypes.create_string_buffer(b"the child has it too")
    memory = ProcessMemory()
    with waiting_child() as child:
        assert memory.read(child, ctypes.addressof(text), 9) == b"the child"
    assert memory.read(child, ctypes.addressof(text), 9) is None  # its memory is gone
    assert opened == [child]
    assert memory.read(child, ctypes.addressof(text), 9) is None
    assert opened == [child, child]  # the stale descriptor was dropped, not read again
    memory.close()


def test_library_paths_are_shortened() -> None:
    assert python_frame("Stage.run", "/v/lib/python3.11/site-packages/pyspark/worker.py",
                        7) == "py::Stage.run (pyspark/worker.py:7)"
    assert python_frame("f", "/usr/lib/python3.11/json/decoder.py", 3) == \
        "py::f (json/decoder.py:3)"
    assert python_frame("g;h", "/home/me/job.py", 1) == "py::g:h (/home/me/job.py:1)"


PY = ["py::leaf (a.py:1)", "py::root (a.py:9)"]


@pytest.mark.parametrize(("native", "expected"), [
    # the bytecode loop at the leaf, then a frame-pointer walk gone astray
    (["_PyEval_EvalFrameDefault [python3.11]", 0x1234, "[unknown]"], PY),
    ([PYTHON_FRAME, "[unknown]"], PY),
    # an allocator called from Python: it stays the leaf
    (["PyObject_Free [python3.11]", 0x1234], ["PyObject_Free [python3.11]", *PY]),
    # a C extension, then the loop, then interpreter start-up and libc's start
    (["dot [_multiarray.so]", "_PyEval_EvalFrameDefault [libpython3.11.so.1.0]",
      "Py_RunMain [libpython3.11.so.1.0]", "__libc_start_main [libc.so.6]"],
     ["dot [_multiarray.so]", *PY, "__libc_start_main [libc.so.6]"]),
    (["[missing user stack]"], PY),
    (["read [libc.so.6]"], ["read [libc.so.6]", *PY]),
])
def test_python_frames_replace_the_interpreter_frames(native: list[Frame],
                                                      expected: list[Frame]) -> None:
    assert splice(native, PY) == expected


def test_no_python_frames_leave_the_stack_alone() -> None:
    native: list[Frame] = ["_PyEval_EvalFrameDefault [python3.11]", 0x1234]
    assert splice(native, []) == native


class _FakeTable:
    """The part of a BCC table PythonStacks uses, keyed by plain ints."""

    class Leaf(ctypes.Structure):
        _fields_ = [("runtime", ctypes.c_uint64), *[(name, ctypes.c_uint16) for name in (
            "interp_head", "tstate_current", "tstate_head", "tstate_next", "tstate_native_id",
            "tstate_cframe", "cframe_frame", "frame_code", "frame_previous")]]

    def __init__(self) -> None:
        self.items: dict[int, object] = {}

    @staticmethod
    def Key(value: int) -> int:
        return value

    def __getitem__(self, key: int) -> object:
        return self.items[key]

    def __setitem__(self, key: int, leaf: object) -> None:
        self.items[key] = leaf

    def __delitem__(self, key: int) -> None:
        del self.items[key]

    @property
    def map_fd(self) -> _FakeTable:
        return self  # what the fake batch look-up below reads


def _fake_batch_lookup(lib: object, table: _FakeTable, key_dtype: np.dtype[Any],
                       val_dtype: np.dtype[Any], capacity: int,
                       ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    keys = np.array(list(table.items)[:capacity], dtype=key_dtype)
    return keys, np.zeros(len(keys), dtype=val_dtype)


def test_processes_are_registered_skipped_and_spliced(monkeypatch: pytest.MonkeyPatch,
                                                      ) -> None:
    monkeypatch.setattr(pystacks, "batch_lookup", _fake_batch_lookup)
    _layout()
    tables = {name: _FakeTable() for name in (b"tracked", b"py_procs", b"py_skip",
                                              b"py_default", b"py_stacks0")}
    child = subprocess.Popen(["sleep", "5"])
    try:
        tables[b"tracked"][os.getpid()] = 1
        tables[b"tracked"][child.pid] = 1
        stacks = PythonStacks(tables, lib=None)
        stacks.look_ahead(0)
    finally:
        child.kill()
        child.wait()
    runtime = ctypes.addressof(ctypes.c_void_p.in_dll(ctypes.pythonapi, "_PyRuntime"))
    leaf = tables[b"py_procs"][os.getpid()]
    assert leaf.runtime == runtime and leaf.frame_code == _layout().frame_code  # type: ignore[attr-defined]
    assert child.pid in tables[b"py_skip"].items and child.pid not in tables[b"py_procs"].items
    assert stacks.report.processes == {os.getpid(): f"{VERSION[0]}.{VERSION[1]}"}

    code = test_processes_are_registered_skipped_and_spliced.__code__
    row = np.zeros(1, dtype=PY_STACK_VAL)[0]
    row["pid"], row["depth"], row["code"][0] = os.getpid(), 1, id(code)
    stacks._stacks = {7: row}
    spliced = stacks.splice(os.getpid(), 7, [PYTHON_FRAME, 0x1234], count=3)
    assert spliced == [python_frame(code.co_qualname, code.co_filename, code.co_firstlineno)]
    assert stacks.splice(os.getpid(), 8, [PYTHON_FRAME], count=1) == [PYTHON_FRAME]
    assert stacks.report.samples_with_frames == 3 and stacks.report.frames_named == 3
    stacks.forget_process(os.getpid())
    assert os.getpid() not in tables[b"py_procs"].items
