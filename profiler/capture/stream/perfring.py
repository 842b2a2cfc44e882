"""Per-CPU perf ring buffers read directly (perf_event_open + mmap), parsed with numpy.

BCC's reader calls a Python callback per record (about 1 us each here); this reader copies
whatever a ring holds in one slice and, since every record of a stream has the same size,
views the bytes as a structured array: no Python work per record. A BPF_PERF_OUTPUT map
gets one ring per online CPU; PERF_RECORD_LOST records are counted per stream.
"""

from __future__ import annotations

import ctypes as ct
import functools
import mmap
import os
import select
import struct
import threading
from typing import Any, Protocol

import numpy as np

_SYS_PERF_EVENT_OPEN = 298  # x86_64
_PERF_TYPE_SOFTWARE = 1
_PERF_COUNT_SW_BPF_OUTPUT = 10
_PERF_SAMPLE_RAW = 1 << 10
_PERF_FLAG_FD_CLOEXEC = 1 << 3
_ATTR_SIZE = 112  # PERF_ATTR_SIZE_VER5
_PERF_RECORD_LOST = 2
_PERF_RECORD_SAMPLE = 9
_HEAD_OFFSET = 1024  # perf_event_mmap_page.data_head; data_tail follows
_SAMPLE_HEADER = 12  # perf_event_header (8) + u32 raw size
_MIN_PULL_INTERVAL_S = 0.002


def record_size(event_size: int) -> int:
    """Bytes one PERF_RECORD_SAMPLE takes in the ring for a raw event of ``event_size``."""
    return (_SAMPLE_HEADER + event_size + 7) // 8 * 8


@functools.lru_cache(maxsize=64)
def sample_dtype(event: np.dtype[Any]) -> np.dtype[Any]:
    """A ring record viewed as the event: the event's fields shifted past the headers, plus
    the record type and size to check."""
    fields: dict[str, Any] = dict(event.fields or {})
    names = ["_type", "_size", *fields]
    formats: list[Any] = ["<u4", "<u2", *(fields[name][0] for name in fields)]
    offsets = [0, 6, *(fields[name][1] + _SAMPLE_HEADER for name in fields)]
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": record_size(event.itemsize)})


def parse_records(raw: bytes, event: np.dtype[Any]) -> tuple[np.ndarray[Any, Any], int]:
    """(samples as ``event`` records, records lost) from a run of ring bytes."""
    size = record_size(event.itemsize)
    view_dtype = sample_dtype(event)
    names = list(event.names or ())
    if len(raw) % size == 0:
        records = np.frombuffer(raw, dtype=view_dtype)
        if ((records["_type"] == _PERF_RECORD_SAMPLE).all()
                and (records["_size"] == size).all()):
            return _as_event(records, names, event), 0
    # Mixed records (a lost-records notice among samples): walk the headers.
    samples = bytearray()
    lost = 0
    offset = 0
    while offset + 8 <= len(raw):
        kind, _misc, length = struct.unpack_from("<IHH", raw, offset)
        if length == 0:
            break
        if kind == _PERF_RECORD_SAMPLE and length == size:
            samples += raw[offset:offset + size]
        elif kind == _PERF_RECORD_LOST:
            lost += struct.unpack_from("<Q", raw, offset + 16)[0]
        offset += length
    records = np.frombuffer(bytes(samples), dtype=view_dtype)
    return _as_event(records, names, event), lost


def _as_event(records: np.ndarray[Any, Any], names: list[str],
              event: np.dtype[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(records), dtype=event)
    for name in names:
        out[name] = records[name]
    return out


class PerfRing:
    """One CPU's ring of one BPF_PERF_OUTPUT map."""

    def __init__(self, cpu: int, pages: int, wakeup_events: int) -> None:
        if pages <= 0 or pages & (pages - 1):
            raise ValueError("perf ring pages must be a power of two")
        attr = (ct.c_uint8 * 128)()
        struct.pack_into("<IIQQQ", attr, 0, _PERF_TYPE_SOFTWARE, _ATTR_SIZE,
                         _PERF_COUNT_SW_BPF_OUTPUT, 1, _PERF_SAMPLE_RAW)
        struct.pack_into("<I", attr, 48, wakeup_events)
        libc = ct.CDLL(None, use_errno=True)
        fd = libc.syscall(_SYS_PERF_EVENT_OPEN, attr, -1, cpu, -1, _PERF_FLAG_FD_CLOEXEC)
        if fd < 0:
            error = ct.get_errno()
            raise OSError(error, f"perf_event_open on CPU {cpu}: {os.strerror(error)}")
        self.fd = fd
        self.page = mmap.PAGESIZE
        self.data_size = pages * self.page
        self._map = mmap.mmap(fd, self.page + self.data_size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)

    def read(self) -> bytes:
        """Everything written since the last read, in order; frees the space."""
        head, tail = struct.unpack_from("<QQ", self._map, _HEAD_OFFSET)
        if head == tail:
            return b""
        start = self.page + tail % self.data_size
        length = head - tail
        end = start + length
        if end <= self.page + self.data_size:
            data = self._map[start:end]
        else:
            first = self.page + self.data_size - start
            data = self._map[start:] + self._map[self.page:self.page + length - first]
        struct.pack_into("<Q", self._map, _HEAD_OFFSET + 8, head)
        return data

    def close(self) -> None:
        """Unmap and close once; later calls do nothing (a second os.close of the number
        could close whatever reused it)."""
        if self.fd < 0:
            return
        self._map.close()
        fd, self.fd = self.fd, -1
        os.close(fd)


class Pullable(Protocol):
    def fds(self) -> list[int]: ...
    def pull(self) -> int: ...


class RingGroup:
    """A reader thread waiting on every ring (one epoll) and pulling streams that wake it;
    :meth:`wait` lets the session sleep until something arrived."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._owner_of_fd: dict[int, Pullable] = {}
        self._arrived = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def watch(self, stream: Pullable) -> None:
        for fd in stream.fds():
            self._epoll.register(fd, select.EPOLLIN)
            self._owner_of_fd[fd] = stream

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sparkprof-rings", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                ready = self._epoll.poll(0.05)
                woken = {id(s): s for fd, _ in ready
                         if (s := self._owner_of_fd.get(fd)) is not None}
                if any(stream.pull() for stream in woken.values()):
                    self._arrived.set()
                    # Let a busy ring fill a little: one copy of many records costs far
                    # less than a wake-up per few records (a ring holds >100 ms of them).
                    self._stopping.wait(_MIN_PULL_INTERVAL_S)
        except BaseException as error:  # surfaced by wait(): a dead reader must not hide
            self.error = error
            self._arrived.set()

    def wait(self, timeout_ms: int) -> None:
        """Sleep until a ring woke the reader or ``timeout_ms`` passed."""
        self._arrived.wait(max(timeout_ms, 0) / 1000.0)
        self._arrived.clear()
        if self.error is not None:
            raise RuntimeError(f"perf ring reader failed: {self.error}") from self.error

    def close(self) -> None:
        """Stop the reader and close the epoll fd (idempotent)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._epoll.close()  # a closed epoll object ignores a second close()
