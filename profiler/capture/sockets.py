"""Addresses of a tracked process's sockets without reading /proc/net/tcp (4-5 ms a read on
this kernel): the fd is borrowed with pidfd_getfd(2) and asked getsockname/getpeername.
/proc/PID/net/tcp{,6} stays the fallback where pidfd_getfd is unavailable (< 5.6, no
ptrace rights)."""

from __future__ import annotations

import ctypes as ct
import os
import socket

from profiler.capture import procfs
from profiler.capture.procfs import TcpSocket, normalize_addr

_SYS_PIDFD_OPEN = 434
_SYS_PIDFD_GETFD = 438
_LISTEN = 10
_ESTABLISHED = 1
_libc = ct.CDLL(None, use_errno=True)


class FdBorrower:
    """Duplicates fds of other processes into this one (root: same rights as ptrace)."""

    def __init__(self) -> None:
        self.available = True
        self._pidfds: dict[int, int] = {}

    def _pidfd(self, pid: int) -> int | None:
        fd = self._pidfds.get(pid)
        if fd is None:
            fd = _libc.syscall(_SYS_PIDFD_OPEN, pid, 0)
            if fd < 0:
                if ct.get_errno() == 38:  # ENOSYS
                    self.available = False
                return None
            self._pidfds[pid] = fd
        return fd

    def endpoint(self, pid: int, fd: int, inode: int) -> TcpSocket | None:
        """The TCP endpoint behind PID's fd (None: gone, not TCP, or no rights)."""
        pidfd = self._pidfd(pid)
        if pidfd is None:
            return None
        copy = _libc.syscall(_SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            if ct.get_errno() in (38, 1):  # ENOSYS, EPERM
                self.available = False
            return None
        try:
            sock = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            return None
        try:
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or \
                    sock.type != socket.SOCK_STREAM:
                return None
            local = sock.getsockname()
            listening = bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
            try:
                remote = sock.getpeername()
            except OSError:  # not connected (a listener, or connecting)
                remote = ("0.0.0.0", 0)
            return TcpSocket(normalize_addr(local[0]), local[1], normalize_addr(remote[0]),
                             remote[1], _LISTEN if listening else _ESTABLISHED, inode)
        except OSError:
            return None
        finally:
            sock.detach()
            os.close(copy)

    def forget(self, pid: int) -> None:
        fd = self._pidfds.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for pid in list(self._pidfds):
            self.forget(pid)


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
