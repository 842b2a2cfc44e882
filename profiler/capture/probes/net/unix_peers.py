"""The other end of a Unix-domain socket, by inode, from the kernel's sock_diag netlink
interface (UNIX_DIAG_PEER): /proc/net/unix lists inodes and paths but not who is connected
to whom. Python's socket module speaks netlink; no dependency needed.

One request per socket (asked by inode, not a dump of the host's sockets), answered in
~10-20 us. Kernels without CONFIG_UNIX_DIAG answer nothing: every socket is then "not
known as Unix" and the caller falls back to what it did before.
"""

from __future__ import annotations

import contextlib
import socket
import struct

_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_UDIAG_SHOW_PEER = 0x4
_UNIX_DIAG_PEER = 2
_NO_COOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")          # nlmsghdr
_REQUEST = struct.Struct("=BBHIIIII")      # unix_diag_req
_MESSAGE = struct.Struct("=BBBBIII")       # unix_diag_msg
_ATTR = struct.Struct("=HH")               # rtattr


def diag_request(inode: int, seq: int) -> bytes:
    """A SOCK_DIAG_BY_FAMILY request for one AF_UNIX socket, asking for its peer."""
    body = _REQUEST.pack(socket.AF_UNIX, 0, 0, 0xFFFFFFFF, inode, _UDIAG_SHOW_PEER,
                         _NO_COOKIE, _NO_COOKIE)
    return _HEADER.pack(_HEADER.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, seq,
                        0) + body


def parse_diag_answer(raw: bytes, inode: int) -> tuple[bool, int | None]:
    """(is a Unix socket, peer inode or None) from the answer to ``diag_request(inode)``."""
    offset = 0
    while offset + _HEADER.size <= len(raw):
        length, kind, _, _, _ = _HEADER.unpack_from(raw, offset)
        if length < _HEADER.size:
            break
        if kind == _SOCK_DIAG_BY_FAMILY:
            found = _parse_message(raw[offset + _HEADER.size:offset + length], inode)
            if found is not None:
                return True, found or None
        elif kind in (_NLMSG_ERROR, _NLMSG_DONE):
            return False, None
        offset += (length + 3) & ~3
    return False, None


def _parse_message(body: bytes, inode: int) -> int | None:
    """The peer inode (0: none) of a unix_diag_msg about ``inode``; None: another socket."""
    if len(body) < _MESSAGE.size:
        return None
    family, _, _, _, ino, _, _ = _MESSAGE.unpack_from(body)
    if family != socket.AF_UNIX or ino != inode:
        return None
    offset = _MESSAGE.size
    while offset + _ATTR.size <= len(body):
        length, kind = _ATTR.unpack_from(body, offset)
        if length < _ATTR.size:
            break
        if kind == _UNIX_DIAG_PEER and length >= _ATTR.size + 4:
            return int(struct.unpack_from("=I", body, offset + _ATTR.size)[0])
        offset += (length + 3) & ~3
    return 0


class UnixPeers:
    """Asks the kernel for the peer of a Unix socket over one netlink socket."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0
        self.available = True

    def peer_inode(self, inode: int) -> tuple[bool, int | None]:
        """(is a Unix socket, its peer's inode: None when unconnected or unknown)."""
        sock = self._socket()
        if sock is None:
            return False, None
        self._seq += 1
        try:
            sock.send(diag_request(inode, self._seq))
            return parse_diag_answer(sock.recv(8192), inode)
        except OSError:
            return False, None

    def _socket(self) -> socket.socket | None:
        if self._sock is None and self.available:
            try:
                self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                                           _NETLINK_SOCK_DIAG)
                self._sock.settimeout(0.5)
                self._sock.connect((0, 0))
            except OSError:
                self.available = False
                self._sock = None
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
