"""The TCP sockets of the tracked processes, by inode and by address, and which pid owns
each socket inode: refreshed from borrowed fds (profiler.capture.probes.net.sockets) or /proc."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from profiler.capture import procfs
from profiler.capture.probes.net.sockets import FdBorrower, scan_sockets

LISTEN = 10


@dataclass
class SocketDirectory:
    """The TCP sockets the tracked processes hold and which pid owns each inode, refreshed
    at most every ``max_age_s`` (a forced refresh for a new socket: every ``min_age_s``)."""

    max_age_s: float = 0.5
    min_age_s: float = 0.02
    by_inode: dict[int, procfs.TcpSocket] = field(default_factory=dict)
    by_tuple: dict[tuple[str, int, str, int], procfs.TcpSocket] = field(default_factory=dict)
    by_local: dict[tuple[str, int], procfs.TcpSocket] = field(default_factory=dict)
    owner_of_inode: dict[int, int] = field(default_factory=dict)
    local_addrs: set[str] = field(default_factory=lambda: {"127.0.0.1", "::1"})
    borrower: FdBorrower = field(default_factory=FdBorrower)
    _taken_at: float = -1.0

    def refresh(self, pids: list[int], force: bool = False) -> None:
        now = time.monotonic()
        if now - self._taken_at < (self.min_age_s if force else self.max_age_s):
            return
        first = self._taken_at < 0
        self._taken_at = now
        if self.borrower.available:
            self.by_inode, self.owner_of_inode = scan_sockets(pids, self.borrower,
                                                              self.by_inode)
        if first or not self.borrower.available:
            # /proc/net/tcp is slow (it walks every socket of the host): read once for the
            # host's own addresses, and always only where fds cannot be borrowed.
            sockets = procfs.read_tcp_sockets(pids[0] if pids else os.getpid())
            self.local_addrs |= {s.local_addr for s in sockets}
            if not self.borrower.available:
                self.by_inode = {s.inode: s for s in sockets if s.inode}
                self.owner_of_inode = {}
                for pid in pids:
                    for link in procfs.read_fd_links(pid).values():
                        inode = procfs.socket_inode(link)
                        if inode is not None:
                            self.owner_of_inode[inode] = pid
        self.by_tuple = {(s.local_addr, s.local_port, s.remote_addr, s.remote_port): s
                         for s in self.by_inode.values()}
        self.by_local = {(s.local_addr, s.local_port): s for s in self.by_inode.values()
                         if s.state != LISTEN}
        self.local_addrs |= {s.local_addr for s in self.by_inode.values()
                             if s.local_addr not in ("0.0.0.0", "::")}

    def listener_owner(self, addr: str, port: int) -> int | None:
        for sock in self.by_inode.values():
            if (sock.state == LISTEN and sock.local_port == port
                    and sock.local_addr in (addr, "0.0.0.0", "::")):
                return self.owner_of_inode.get(sock.inode)
        return None

    def peer_owner(self, laddr: str, lport: int, raddr: str, rport: int) -> int | None:
        """The tracked pid at the other end of a local connection: the owner of the peer
        socket, or of the listener when the peer is not accepted yet."""
        peer = self.by_tuple.get((raddr, rport, laddr, lport))
        if peer is None and not lport:  # our own end unknown: the peer's end is enough
            peer = self.by_local.get((raddr, rport))
        owner = self.owner_of_inode.get(peer.inode) if peer is not None else None
        return owner if owner is not None else self.listener_owner(raddr, rport)

    def is_local(self, addr: str) -> bool:
        return addr in self.local_addrs or addr.startswith("127.")
