"""Reading /proc: pure parsers (unit-tested on sample text) and thin readers around them.

Everything here tolerates a process that has just exited: readers return None/empty.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
    12: "NEW_SYN_RECV",
}


class ProcessDescriptors:
    """One open descriptor per process (its /proc/PID/mem, its pidfd), opened at first use
    and closed exactly once: when the process is forgotten, or all at ``close``."""

    def __init__(self, open_fd: Callable[[int], int]) -> None:
        """``open_fd(pid)`` opens a new descriptor, raising OSError when it cannot."""
        self._open = open_fd
        self._fds: dict[int, int] = {}

    def get(self, pid: int) -> int:
        """The process's descriptor, opened now if it has none; OSError from ``open_fd``."""
        fd = self._fds.get(pid)
        if fd is None:
            fd = self._fds[pid] = self._open(pid)
        return fd

    def forget(self, pid: int) -> None:
        fd = self._fds.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for pid in list(self._fds):
            self.forget(pid)


@dataclass(frozen=True)
class TcpSocket:
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    state: int
    inode: int


def normalize_addr(addr: str) -> str:
    """IPv4-mapped IPv6 (``::ffff:127.0.0.1``) as plain IPv4; other text unchanged."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def addr_from_bytes(raw: bytes, family: int) -> str:
    """An address from the raw bytes of a sockaddr / tracepoint (network order)."""
    if family == 2:
        return str(ipaddress.IPv4Address(raw[:4]))
    if family == 10:
        return normalize_addr(str(ipaddress.IPv6Address(raw[:16])))
    return ""


def _hex_addr(text: str) -> str:
    # /proc/net/tcp prints each 32-bit word of the address in host (little-endian) order.
    raw = bytes.fromhex(text)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = 2 if len(words) == 4 else 10
    return addr_from_bytes(words, family)


def parse_proc_net_tcp(text: str) -> list[TcpSocket]:
    """Rows of /proc/PID/net/tcp or tcp6."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, remote = fields[1].split(":"), fields[2].split(":")
        sockets.append(TcpSocket(
            local_addr=_hex_addr(local[0]), local_port=int(local[1], 16),
            remote_addr=_hex_addr(remote[0]), remote_port=int(remote[1], 16),
            state=int(fields[3], 16), inode=int(fields[9])))
    return sockets


def socket_inode(link: str) -> int | None:
    """``socket:[12345]`` -> 12345; None for anything else."""
    if link.startswith("socket:[") and link.endswith("]"):
        return int(link[8:-1])
    return None


def split_cmdline(raw: bytes) -> list[str]:
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def parse_stat_start_ticks(text: str) -> tuple[int, int]:
    """(ppid, start time in clock ticks after boot) from /proc/PID/stat."""
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19])


# --- readers --------------------------------------------------------------------------------

def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def read_cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return split_cmdline(handle.read())
    except OSError:
        return None


def read_comm(pid: int, tid: int | None = None) -> str | None:
    path = f"/proc/{pid}/task/{tid}/comm" if tid else f"/proc/{pid}/comm"
    text = read_text(path)
    return text.rstrip("\n") if text is not None else None


def read_exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def read_fd_link(pid: int, fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def read_fd_links(pid: int) -> dict[int, str]:
    links: dict[int, str] = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return links
    for name in names:
        try:
            links[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except (OSError, ValueError):
            continue
    return links


def read_tcp_sockets(pid: int) -> list[TcpSocket]:
    """TCP sockets of PID's network namespace (IPv4 and IPv6)."""
    sockets: list[TcpSocket] = []
    for name in ("tcp", "tcp6"):
        text = read_text(f"/proc/{pid}/net/{name}")
        if text:
            sockets.extend(parse_proc_net_tcp(text))
    return sockets


def descendants_of(root: int) -> list[int]:
    """Live descendants of ``root`` from a scan of /proc/*/stat (parent links)."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            text = read_text(f"/proc/{name}/stat")
            if text:
                parents[int(name)] = parse_stat_start_ticks(text)[0]
    return descendants_in(root, parents)


def descendants_in(root: int, parents: dict[int, int]) -> list[int]:
    """Descendants of ``root`` given pid -> ppid links, parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    queue = [root]
    while queue:
        pid = queue.pop(0)
        for child in sorted(children.get(pid, ())):
            found.append(child)
            queue.append(child)
    return found


def read_start_ns(pid: int) -> tuple[int, int] | None:
    """(ppid, start time in ns after boot) of a live process."""
    text = read_text(f"/proc/{pid}/stat")
    if text is None:
        return None
    ppid, ticks = parse_stat_start_ticks(text)
    return ppid, ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def parse_epoll_tfds(fdinfo: str) -> list[int]:
    """The fds registered in an epoll instance, from its /proc/PID/fdinfo text
    (one ``tfd: N events: ...`` line per registration)."""
    fds = []
    for line in fdinfo.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "tfd:" and parts[1].isdigit():
            fds.append(int(parts[1]))
    return fds


def read_epoll_tfds(pid: int, epfd: int) -> list[int] | None:
    """The fds registered in epoll fd ``epfd`` of ``pid`` now (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{epfd}", encoding="ascii", errors="replace") as f:
            return parse_epoll_tfds(f.read())
    except OSError:
        return None
