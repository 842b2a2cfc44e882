"""Python frame names for sampled stacks: code objects read from a live process's memory, and
their place in the native user stack.

A frame is ``py::QUALNAME (FILE:FIRSTLINE)``: the code object's qualified name, its file
(shortened to the part after ``site-packages/``, ``dist-packages/`` or ``lib/pythonX.Y/``)
and the first line of the function, e.g. ``py::Stage.run (pyspark/worker.py:1510)``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence

from profiler.capture.symbols.frames import PYTHON_FRAME, UNKNOWN, Frame
from profiler.capture.symbols.pyruntime import PyLayout, PyProcess

PY_PREFIX = "py::"
_MAX_TEXT = 1024  # longer names are cut: a flame graph cannot show them anyway
_MAX_CACHED = 100_000
_LIBRARY_ROOT = re.compile(r"^.*/(?:site-packages|dist-packages|lib/python\d\.\d+)/")
_INTERPRETER_MODULE = re.compile(r" \[(lib)?python\d[.\d]*[a-z]*(\.so[.\d]*)?\]$")
_KINDS = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}

# read(address, size) -> bytes, or None when the memory cannot be read
Reader = Callable[[int, int], bytes | None]


def python_frame(qualname: str, filename: str, firstlineno: int) -> str:
    short = _LIBRARY_ROOT.sub("", filename)
    text = f"{PY_PREFIX}{qualname} ({short}:{firstlineno})"
    return text.replace(";", ":").replace("\n", " ")  # ';' separates folded frames


def read_text(read: Reader, layout: PyLayout, address: int) -> str | None:
    """A compact ``str`` object's text (the only kind code objects hold), else None."""
    header = read(address, layout.compact_data) if address else None
    if header is None:
        return None
    length = struct.unpack_from("<q", header, layout.unicode_length)[0]
    state = struct.unpack_from("<I", header, layout.unicode_state)[0]
    kind, compact, ascii_only = (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1
    if not compact or kind not in _KINDS or length < 0:
        return None
    length = min(length, _MAX_TEXT)
    if ascii_only:
        data = read(address + layout.ascii_data, length) if length else b""
        return data.decode("ascii", errors="replace") if data is not None else None
    data = read(address + layout.compact_data, length * kind) if length else b""
    return data.decode(_KINDS[kind], errors="replace") if data is not None else None


def read_code_name(read: Reader, process: PyProcess, code: int) -> str | None:
    """The frame name of the code object at ``code``, None unless it is a readable one."""
    layout = process.layout
    size = max(layout.code_qualname, layout.code_filename, layout.code_name) + 8
    raw = read(code, size) if code else None
    if raw is None:
        return None
    if process.code_type and struct.unpack_from("<Q", raw, 8)[0] != process.code_type:
        return None  # freed or reused memory: not a code object any more
    firstlineno = struct.unpack_from("<i", raw, layout.code_firstlineno)[0]
    filename = read_text(read, layout, struct.unpack_from("<Q", raw, layout.code_filename)[0])
    qualname = (read_text(read, layout, struct.unpack_from("<Q", raw, layout.code_qualname)[0])
                or read_text(read, layout, struct.unpack_from("<Q", raw, layout.code_name)[0]))
    if qualname is None:
        return None
    return python_frame(qualname, filename or "?", firstlineno)


class CodeNamer:
    """Names code objects per (pid, address), cached while the process lives."""

    def __init__(self, reader_for: Callable[[int], Reader]) -> None:
        """``reader_for(pid)`` reads that process's memory."""
        self._reader_for = reader_for
        self._cache: dict[tuple[int, int], str | None] = {}
        self._failed: list[tuple[int, int]] = []  # cached failures, retried once a drain
        self.named = 0
        self.unreadable = 0

    def frames(self, process: PyProcess, codes: Sequence[int]) -> list[str]:
        """Names of the readable code objects, leaf first (unreadable ones are left out)."""
        out = []
        read: Reader | None = None
        for code in codes:
            key = (process.pid, code)
            if key in self._cache:
                name = self._cache[key]
            else:
                read = read or self._reader_for(process.pid)
                name = read_code_name(read, process, code)
                if len(self._cache) > _MAX_CACHED:
                    self._cache.clear()
                    self._failed.clear()
                self._cache[key] = name
                if name is None:
                    self._failed.append(key)
            if name is None:
                self.unreadable += 1
            else:
                self.named += 1
                out.append(name)
        return out

    def retry_failures(self) -> None:
        """Forget the code objects that could not be read: a torn read of a frame that was
        being pushed names garbage, and the address may hold a real code object later."""
        for key in self._failed:
            self._cache.pop(key, None)
        self._failed.clear()

    def forget_process(self, pid: int) -> None:
        for key in [key for key in self._cache if key[0] == pid]:
            del self._cache[key]


def is_interpreter_frame(frame: Frame) -> bool:
    return isinstance(frame, str) and (frame == PYTHON_FRAME
                                       or bool(_INTERPRETER_MODULE.search(frame)))


def _is_eval_frame(frame: Frame) -> bool:
    """A frame of the bytecode loop (or an unnamed interpreter frame, most often the loop)."""
    return is_interpreter_frame(frame) and isinstance(frame, str) and (
        frame == PYTHON_FRAME or frame.startswith(("_PyEval_EvalFrame", UNKNOWN)))


def _is_unnamed(frame: Frame) -> bool:
    return not isinstance(frame, str) or frame.startswith((UNKNOWN, "[missing"))


def splice(native: Sequence[Frame], python: Sequence[str]) -> list[Frame]:
    """The user stack with the Python frames in place of the interpreter's frames.

    Leaf first: native frames up to the first bytecode-loop frame (or, when the walk lost
    its way before reaching one, up to the first unnamed frame) stay, e.g. ``PyObject_Free
    [python3.11]`` or a C extension's function; the Python frames follow; of the rest only
    named frames outside the interpreter stay (its start-up frames and the addresses of a
    frame-pointer walk gone astray in an interpreter built without frame pointers would split
    identical Python stacks)."""
    if not python:
        return list(native)
    cut = next((i for i, frame in enumerate(native) if _is_eval_frame(frame)), None)
    if cut is None:
        cut = next((i for i, frame in enumerate(native) if _is_unnamed(frame)), len(native))
    rest = [frame for frame in native[cut:]
            if not _is_unnamed(frame) and not is_interpreter_frame(frame)]
    return [*native[:cut], *python, *rest]
