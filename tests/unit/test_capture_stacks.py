"""StackResolver: ids from the long-lived `stacks` table and from the two `ustacks` tables that
are emptied and switched at each drain (bpf/common.h fresh_user_stack)."""

from __future__ import annotations

import ctypes as ct
from typing import Any

from profiler.capture.symbols.stacks import MISSING_USER, USTACK_COPY1, USTACK_FRESH, StackResolver

DEPTH = 127


class FakeLibbcc:
    """The libbcc calls StackReader makes, over one dict of stack id -> frames per map fd."""

    def __init__(self) -> None:
        self.maps: dict[int, dict[int, list[int]]] = {}

    @staticmethod
    def _id(key: Any) -> int:
        return ct.cast(key, ct.POINTER(ct.c_uint32)).contents.value

    def bpf_lookup_elem(self, fd: int, key: Any, value: ct.c_void_p) -> int:
        frames = self.maps[fd].get(self._id(key))
        if frames is None:
            return -1
        entry = (ct.c_uint64 * DEPTH)(*frames)
        ct.memmove(value.value, entry, ct.sizeof(entry))
        return 0

    def bpf_get_next_key(self, fd: int, key: Any, following: Any) -> int:
        after = -1 if key is None else self._id(key)
        later = sorted(stack_id for stack_id in self.maps[fd] if stack_id > after)
        if not later:
            return -1
        ct.cast(following, ct.POINTER(ct.c_uint32)).contents.value = later[0]
        return 0

    def bpf_delete_elem(self, fd: int, key: Any) -> int:
        return 0 if self.maps[fd].pop(self._id(key), None) is not None else -1


class FakeStackTable:
    Leaf = ct.c_uint64 * DEPTH

    def __init__(self, fd: int) -> None:
        self.map_fd = fd


class FakeArray:
    def __init__(self) -> None:
        self.value = 0

    @staticmethod
    def Key(index: int) -> int:
        return index

    @staticmethod
    def Leaf(value: int) -> int:
        return value

    def __setitem__(self, key: int, value: int) -> None:
        self.value = value


class FakeBpf:
    def __init__(self, lib: FakeLibbcc) -> None:
        self.tables: dict[bytes, Any] = {}
        for fd, name in enumerate((b"stacks", b"ustacks0", b"ustacks1"), start=3):
            self.tables[name] = FakeStackTable(fd)
            lib.maps[fd] = {}
        self.tables[b"ustack_copy"] = FakeArray()

    def get_table(self, name: bytes) -> Any:
        return self.tables[name]

    def __getitem__(self, name: bytes) -> Any:
        return self.tables[name]


class FakeSymbols:
    @staticmethod
    def sym(address: int, pid: int) -> str:
        return f"f{address:x} [lib{pid}.so]"


def _resolver() -> tuple[StackResolver, FakeBpf, FakeLibbcc]:
    lib = FakeLibbcc()
    bpf = FakeBpf(lib)
    resolver = StackResolver(bpf, lib)
    resolver.user_symbols = FakeSymbols()  # type: ignore[assignment]
    return resolver, bpf, lib


def test_tagged_ids_are_read_from_their_ustacks_table() -> None:
    resolver, _, lib = _resolver()
    lib.maps[3][7] = [0x10]        # stacks
    lib.maps[4][7] = [0x20, 0x21]  # ustacks0
    lib.maps[5][7] = [0x30]        # ustacks1
    assert resolver.user(1, 7) == ["f10 [lib1.so]"]
    assert resolver.user(1, USTACK_FRESH | 7) == ["f20 [lib1.so]", "f21 [lib1.so]"]
    assert resolver.user(1, USTACK_FRESH | USTACK_COPY1 | 7) == ["f30 [lib1.so]"]
    assert resolver.user(1, -14) == [MISSING_USER]  # a failed walk's errno


def test_rotation_empties_the_quiet_table_and_forgets_its_names() -> None:
    resolver, bpf, lib = _resolver()
    lib.maps[4][2] = [0x20]
    lib.maps[5][2] = [0x30]
    lib.maps[5][9] = [0x31]
    old = USTACK_FRESH | USTACK_COPY1 | 2
    assert resolver.user(1, old) == ["f30 [lib1.so]"]
    resolver.rotate_user_stacks()  # the probes filled ustacks0: ustacks1 is emptied
    assert lib.maps[5] == {} and lib.maps[4] == {2: [0x20]}
    assert bpf.tables[b"ustack_copy"].value == 1
    lib.maps[5][2] = [0x40]  # the id is reused for another stack
    assert resolver.user(1, old) == ["f40 [lib1.so]"]  # not the cached names of the old one
    resolver.rotate_user_stacks()
    assert lib.maps[4] == {} and bpf.tables[b"ustack_copy"].value == 0
    assert resolver.user(1, USTACK_FRESH | 2) == [MISSING_USER]
    lib.maps[3][2] = [0x50]
    assert resolver.user(1, 2) == ["f50 [lib1.so]"]  # `stacks` is never emptied
