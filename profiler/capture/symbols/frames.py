"""User-space frame names for sampled stacks, resolved while the process is alive.

Addresses inside mapped files are named from the files' symbol tables (``name [module]``,
profiler.capture.symbols.usersyms) at once and cached per (pid, address). An address that no file
covers is JIT-compiled code or garbage from a broken frame-pointer walk: it is kept as a
number and named later from the JVM's perf map (written when the JVM exits), or becomes
``[unknown]``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from profiler.capture.symbols.usersyms import UserSymbols

UNKNOWN = "[unknown]"
PYTHON_FRAME = "[python]"
_PYTHON_MODULE = re.compile(r"^\[unknown\] \[(lib)?python3[.\d]*(\.so[.\d]*)?\]$")
_MAX_CACHED = 200_000
_UNKNOWN_IN_MODULE = UNKNOWN + " ["
_IS_NAME = str.__instancecheck__  # a type check map() runs without a Python-level loop

# A frame is a resolved name or an address waiting for a perf map.
Frame = str | int


class FrameNamer:
    def __init__(self, symbolize: Callable[[int, int], bytes | str],
                 forget: Callable[[int], None] | None = None,
                 symbolize_many: Callable[[int, list[int]], Sequence[bytes | str]] | None = None,
                 ) -> None:
        """``symbolize(address, pid)`` names an address like BCC's ``BPF.sym(addr, pid,
        show_module=True)``: ``b"name [module]"``, ``b"[unknown] [module]"``, or plain
        ``b"[unknown]"`` outside every mapped file (kept as the address, for the perf map).
        ``forget(pid)`` drops the symbolizer's state of a process; ``symbolize_many(pid,
        addresses)`` names many addresses of one process at once, as ``symbolize`` would."""
        self._symbolize = symbolize
        self._symbolize_many = symbolize_many or (
            lambda pid, addresses: [symbolize(address, pid) for address in addresses])
        self._forget = forget
        # pid -> address -> frame: per-process dicts let a whole stack be looked up with one
        # C-level map() instead of a Python loop building (pid, address) keys
        self._cache: dict[int, dict[int, Frame]] = {}
        self._cached = 0
        self._unknown_names: set[str] = set()  # "[unknown] [module]" frames seen so far
        self.resolved = 0
        self.unresolved = 0
        self.jit_resolved = 0

    @classmethod
    def for_symbols(cls, symbols: UserSymbols) -> FrameNamer:
        """Names from the symbol tables of the files the processes map."""
        return cls(symbols.sym, forget=symbols.forget, symbolize_many=symbols.names)

    def learn(self, pid: int, addresses: Iterable[int]) -> None:
        """Name at once every address of ``pid`` among ``addresses`` not named yet: a drain
        names its new addresses in one pass per process, and ``frames`` then only looks
        them up."""
        names = self._cache.get(pid)
        if names is None:
            names = self._cache[pid] = {}
        new = list(set(addresses).difference(names))
        if not new:
            return
        if self._cached + len(new) > _MAX_CACHED:
            self._clear()
        texts = [raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
                 for raw in self._symbolize_many(pid, new)]
        names.update(zip(new, texts, strict=True))  # most are "name [module]" as they are
        unnamed = map(str.startswith, texts, itertools.repeat(UNKNOWN))
        for address, text in itertools.compress(zip(new, texts, strict=True), unnamed):
            # outside every file (JIT code): the address waits for the perf map
            names[address] = address if text == UNKNOWN else self._frame(text, address)
        self._cached += len(new)

    def frames(self, pid: int, addresses: Sequence[int]) -> list[Frame]:
        names = self._cache.get(pid)
        if names is None:
            names = self._cache[pid] = {}
        out: list[Frame | None] = list(map(names.get, addresses))
        if None in out:
            for index, frame in enumerate(out):
                if frame is None:
                    out[index] = self._remember(names, pid, addresses[index])
        return out  # type: ignore[return-value]  # no None is left

    def _remember(self, names: dict[int, Frame], pid: int, address: int) -> Frame:
        if self._cached >= _MAX_CACHED:
            self._clear()
        frame = names[address] = self._frame(self._symbolize(address, pid), address)
        self._cached += 1
        return frame

    def _clear(self) -> None:
        for cached in self._cache.values():
            cached.clear()  # in place: callers hold a process's dict
        self._cached = 0

    def _frame(self, raw: bytes | str, address: int) -> Frame:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if text == UNKNOWN:
            return address
        if text.startswith(_UNKNOWN_IN_MODULE):
            if _PYTHON_MODULE.match(text):
                return PYTHON_FRAME  # the interpreter's static functions: no symbol to show
            self._unknown_names.add(text)
        return text

    def finish(self, frames: Sequence[Frame], jit_names: Mapping[int, str],
               times: int = 1) -> list[str]:
        """Every frame as a name: addresses named from ``jit_names`` (JIT code, from the
        JVM's perf map) or ``[unknown]``; a run of unnamed addresses (a frame-pointer walk
        gone astray in code built without frame pointers) becomes one ``[unknown]``. Counts
        named and unnamed frames for the report, as if the stack occurred ``times`` times."""
        unnamed_in_files = sum(map(self._unknown_names.__contains__, frames))
        names = sum(map(_IS_NAME, frames))
        self.resolved += (names - unnamed_in_files) * times
        if names == len(frames):  # nothing waits for a perf map
            self.unresolved += unnamed_in_files * times
            return list(frames)  # type: ignore[arg-type]  # every frame is a str
        # a name maps to itself (no str key); an address to its JIT name or stays a number
        out: list[Frame] = list(map(jit_names.get, frames, frames))  # type: ignore[arg-type]
        named = sum(map(_IS_NAME, out))
        self.jit_resolved += (named - names) * times
        self.unresolved += (len(out) - named + unnamed_in_files) * times
        if named == len(out):
            return out  # type: ignore[return-value]  # every frame is a str
        collapsed: list[str] = []
        for frame in out:
            if isinstance(frame, str):
                collapsed.append(frame)
            elif not collapsed or collapsed[-1] != UNKNOWN:
                collapsed.append(UNKNOWN)
        return collapsed

    def forget_process(self, pid: int) -> None:
        if self._forget is not None:
            self._forget(pid)
        names = self._cache.pop(pid, None)
        if names is not None:
            self._cached -= len(names)


def all_named(frames: Sequence[Frame]) -> bool:
    """Whether no frame is an address still waiting for a perf map."""
    return all(map(_IS_NAME, frames))


def waiting_addresses(stacks: Iterable[Sequence[Frame]]) -> Iterator[int]:
    """The frames of ``stacks`` still waiting for a perf map (addresses, not names)."""
    for stack in stacks:
        yield from itertools.filterfalse(_IS_NAME, stack)


def process_uid(pid: int) -> int | None:
    """The owner of a live process (whose perf map we may trust), None when it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
