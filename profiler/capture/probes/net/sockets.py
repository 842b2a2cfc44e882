"""Addresses of a tracked process's sockets without reading /proc/net/tcp (4-5 ms a read on
this kernel): the fd is borrowed with pidfd_getfd(2) and asked getsockname/getpeername.
/proc/PID/net/tcp{,6} stays the fallback where pidfd_getfd is unavailable (< 5.6, no
ptrace rights)."""

from __future__ import annotations

import ctypes as ct
import errno
import os
from typing import Any

from profiler.capture import procfs
from profiler.capture.procfs import (
    ProcessDescriptors,
    TcpSocket,
    addr_from_bytes,
    normalize_addr,
)

_SYS_PIDFD_OPEN = 434
_SYS_PIDFD_GETFD = 438
_LISTEN = 10
_ESTABLISHED = 1
_libc = ct.CDLL(None, use_errno=True)


_SOL_SOCKET = 1
_SO_TYPE = 3
_SO_ACCEPTCONN = 30
_SO_DOMAIN = 39
_SOCK_STREAM = 1
_AF_INET = 2
_AF_INET6 = 10


def _sockopt_int(fd: int, option: int) -> int | None:
    value = ct.c_int(0)
    size = ct.c_uint32(ct.sizeof(value))
    if _libc.getsockopt(fd, _SOL_SOCKET, option, ct.byref(value), ct.byref(size)) != 0:
        return None
    return value.value


def _sockaddr(call: Any, fd: int) -> tuple[str, int] | None:
    """(address, port) from getsockname/getpeername on a raw fd (None: not connected)."""
    buffer = (ct.c_uint8 * 128)()
    size = ct.c_uint32(128)
    if call(fd, buffer, ct.byref(size)) != 0:
        return None
    return parse_sockaddr(bytes(buffer[:size.value]))


def parse_sockaddr(raw: bytes) -> tuple[str, int] | None:
    """A sockaddr_in / sockaddr_in6 as (address text, port); None for other families."""
    if len(raw) < 4:
        return None
    family = int.from_bytes(raw[:2], "little")
    port = int.from_bytes(raw[2:4], "big")
    if family == _AF_INET and len(raw) >= 8:
        return addr_from_bytes(raw[4:8], _AF_INET), port
    if family == _AF_INET6 and len(raw) >= 24:
        return addr_from_bytes(raw[8:24], _AF_INET6), port
    return None


class FdBorrower:
    """Duplicates fds of other processes into this one (root: same rights as ptrace).

    Every fd this class gets is closed exactly once by this class: the borrowed copy is
    queried through raw libc calls, never wrapped in a ``socket.socket`` (such an object
    owns its fd and closes it again when garbage-collected, possibly after the number was
    reused, e.g. by the run directory's writer)."""

    def __init__(self) -> None:
        self.available = True
        self._pidfds = ProcessDescriptors(_open_pidfd)

    def _pidfd(self, pid: int) -> int | None:
        try:
            return self._pidfds.get(pid)
        except OSError as error:
            if error.errno == errno.ENOSYS:
                self.available = False
            return None

    def endpoint(self, pid: int, fd: int, inode: int) -> TcpSocket | None:
        """The TCP endpoint behind PID's fd (None: gone, not TCP, or no rights)."""
        pidfd = self._pidfd(pid)
        if pidfd is None:
            return None
        copy = int(_libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(fd), 0))
        if copy < 0:
            if ct.get_errno() in (38, 1):  # ENOSYS, EPERM
                self.available = False
            return None
        try:
            return _tcp_endpoint(copy, inode)
        finally:
            os.close(copy)

    def forget(self, pid: int) -> None:
        self._pidfds.forget(pid)

    def close(self) -> None:
        self._pidfds.close()


def _open_pidfd(pid: int) -> int:
    fd = int(_libc.syscall(_SYS_PIDFD_OPEN, int(pid), 0))
    if fd < 0:
        error = ct.get_errno()
        raise OSError(error, os.strerror(error))
    return fd


def _tcp_endpoint(fd: int, inode: int) -> TcpSocket | None:
    if _sockopt_int(fd, _SO_DOMAIN) not in (_AF_INET, _AF_INET6) or \
            _sockopt_int(fd, _SO_TYPE) != _SOCK_STREAM:
        return None
    local = _sockaddr(_libc.getsockname, fd)
    if local is None:
        return None
    listening = bool(_sockopt_int(fd, _SO_ACCEPTCONN))
    remote = _sockaddr(_libc.getpeername, fd) or ("0.0.0.0", 0)  # a listener, or connecting
    return TcpSocket(normalize_addr(local[0]), local[1], normalize_addr(remote[0]), remote[1],
                     _LISTEN if listening else _ESTABLISHED, inode)


def scan_sockets(pids: list[int], borrower: FdBorrower, known: dict[int, TcpSocket],
                 ) -> tuple[dict[int, TcpSocket], dict[int, int]]:
    """(inode -> endpoint, inode -> owner pid) of the TCP sockets the pids hold now.
    Endpoints already in ``known`` (by inode) are not asked again."""
    endpoints: dict[int, TcpSocket] = {}
    owners: dict[int, int] = {}
    for pid in pids:
        for fd, link in procfs.read_fd_links(pid).items():
            inode = procfs.socket_inode(link)
            if inode is None:
                continue
            owners[inode] = pid
            found = known.get(inode) or borrower.endpoint(pid, fd, inode)
            if found is not None:
                endpoints[inode] = found
    return endpoints, owners
