"""What each (pid, fd) of the per-fd aggregates was: a TCP socket (addresses and peer class),
a regular file (path) or something else, and when.

The BPF side cannot cheaply tell a socket from a file, so fds are resolved here: from open
events (path), connect/accept events (then /proc/PID/fd while the fd is alive) and, for fds
seen only in aggregates, /proc at drain time. Each fd keeps a history of (since, until,
target) intervals so a number reused after close() is attributed to the right target.
Epoll fds carry their registrations (epoll_create/epoll_ctl events, probes.net.epolls) so a
wait is attributed to the peer of the sockets registered while it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from profiler.capture import procfs
from profiler.capture.probes.net.epolls import EPOLL_CTL_ADD, EpollInstance
from profiler.capture.probes.net.peers import classify_peer, classify_unix_peer
from profiler.capture.probes.net.socket_directory import SocketDirectory
from profiler.capture.probes.net.unix_peers import UnixPeers


@dataclass
class FdTarget:
    kind: str  # socket | pipe (JVM <-> Python) | epoll | file | other | unresolved
    path: str = ""
    local_addr: str = ""
    local_port: int = 0
    remote_addr: str = ""
    remote_port: int = 0
    peer_class: str = "unknown"
    inode: int | None = None
    epoll: EpollInstance | None = None  # kind epoll: its registrations


@dataclass
class _Generation:
    since_ns: int
    until_ns: int | None  # when it was closed
    target: FdTarget


# An fd gone before it could be identified (a pipe or dup of a short-lived process, most
# often): left to the syscalls table and counted, not guessed at.
UNRESOLVED = FdTarget(kind="unresolved")
_UNKNOWN_BUCKET = (0, 1 << 62)  # a lookup without a time: the fd's whole life
_BRIDGE_ROLES = frozenset({"driver-jvm", "executor-jvm", "python-driver", "pyspark-daemon",
                           "python-worker"})
EPOLL_LINK = "anon_inode:[eventpoll]"
# Peers whose epoll waits count as network time: a task thread waits on its Python worker
# through a selector. Netty's idle event loops (shuffle, driver RPC) wait on epoll too, and
# that is not time spent on a peer.
WAIT_PEERS = frozenset({"python-worker", "py4j"})


class FdResolver:
    """(pid, fd, generation) -> FdTarget.

    The generation of an fd number is how many times the process closed it (the BPF side
    counts the same closes and tags the per-fd aggregates with it), so a number reused for
    another file within one time bucket still maps to the right target."""

    def __init__(self, role_of: Callable[[int], str | None], live_pids: Callable[[], list[int]],
                 driver_rpc_ports: Callable[[], set[int]], bucket_ns: int = 100_000_000,
                 ) -> None:
        self._role_of = role_of
        self._bucket_ns = bucket_ns
        self._live_pids = live_pids
        self._driver_rpc_ports = driver_rpc_ports
        self._targets: dict[tuple[int, int], dict[int, _Generation]] = {}
        self._fds_of: dict[int, set[int]] = {}  # pid -> fds in _targets (forks copy them)
        self._closes: dict[tuple[int, int], int] = {}
        self.unresolved = 0  # (bucket, thread, fd) rows whose fd could not be identified
        self.sockets = SocketDirectory()
        self.unix = UnixPeers()
        # (pid, fd) -> the epoll instances it is registered in (their registration ends at
        # the close of the file).
        self._registered_in: dict[tuple[int, int], list[EpollInstance]] = {}

    # -- events ----------------------------------------------------------------------------
    def generation(self, pid: int, fd: int) -> int:
        return self._closes.get((pid, fd), 0)

    def _generations(self, pid: int, fd: int) -> dict[int, _Generation]:
        gens = self._targets.get((pid, fd))
        if gens is None:
            gens = self._targets[(pid, fd)] = {}
            self._fds_of.setdefault(pid, set()).add(fd)
        return gens

    def opened(self, pid: int, fd: int, ts: int, target: FdTarget) -> None:
        gens = self._generations(pid, fd)
        gens[self.generation(pid, fd)] = _Generation(ts, None, target)

    def closed(self, pid: int, fd: int, ts: int) -> None:
        key = (pid, fd)
        current = self._targets.get(key, {}).get(self.generation(pid, fd))
        if current is not None:
            current.until_ns = ts
        self._closes[key] = self.generation(pid, fd) + 1
        instances = self._registered_in.pop(key, None)
        if instances and not (current is not None and self._still_open(pid, current.target)):
            for instance in instances:
                instance.fd_closed(pid, fd, ts)

    def _still_open(self, pid: int, target: FdTarget) -> bool:
        """Another fd of ``pid`` names the same open file (a dup): closing one of them
        leaves its epoll registrations in place."""
        for fd in self._fds_of.get(pid, ()):
            gens = self._targets.get((pid, fd), {})
            found = gens.get(self.generation(pid, fd))
            if found is not None and found.until_ns is None and found.target is target:
                return True
        return False

    def epoll_created(self, pid: int, fd: int, ts: int) -> None:
        self.opened(pid, fd, ts, FdTarget(kind="epoll", path=EPOLL_LINK,
                                          epoll=EpollInstance()))

    def epoll_control(self, pid: int, epfd: int, op: int, fd: int, ts: int) -> None:
        """A successful epoll_ctl(epfd, op, fd) of ``pid`` (ADD or DEL)."""
        target = self.current(pid, epfd)
        if target is None or target.epoll is None:
            return  # gone before we could look, or not an epoll fd after all
        instance = target.epoll
        if instance.control(op, pid, fd, self.generation(pid, fd), ts):
            watchers = self._registered_in.setdefault((pid, fd), [])
            if instance not in watchers:
                watchers.append(instance)
        elif op != EPOLL_CTL_ADD:
            watchers = self._registered_in.get((pid, fd), [])
            if instance in watchers:
                watchers.remove(instance)

    def inherit(self, parent: int, child: int, ts: int) -> None:
        """A forked child starts with its parent's open fds (its closes count from 0)."""
        for fd in list(self._fds_of.get(parent, ())):
            current = self._targets[(parent, fd)].get(self.generation(parent, fd))
            if current is not None and current.until_ns is None:
                gens = self._generations(child, fd)
                gens.clear()
                gens[0] = _Generation(ts, None, current.target)

    def scan(self, pid: int, ts: int) -> None:
        """Record every fd a live process has now (after exec, or when tracking starts)."""
        for fd in procfs.read_fd_links(pid):
            gens = self._generations(pid, fd)
            if self.generation(pid, fd) not in gens:
                target = self.resolve_now(pid, fd)
                if target is not None:
                    gens[self.generation(pid, fd)] = _Generation(ts, None, target)

    def close(self) -> None:
        self.sockets.borrower.close()
        self.unix.close()

    def prune(self, before_ns: int) -> None:
        """Forget targets closed before ``before_ns`` (no data about them is still coming),
        so memory stays bounded on long runs."""
        for key, gens in list(self._targets.items()):
            for gen in [g for g, t in gens.items()
                        if t.until_ns is not None and t.until_ns < before_ns]:
                del gens[gen]
            for kept in gens.values():
                if kept.target.epoll is not None:
                    kept.target.epoll.forget_before(before_ns)
            if not gens:
                del self._targets[key]
                fds = self._fds_of.get(key[0])
                if fds is not None:
                    fds.discard(key[1])

    def forget_process(self, pid: int) -> list[int]:
        """Drop what is known about an exited process; its fds that were ever closed (their
        generation counters in the kernel can go too)."""
        self.sockets.borrower.forget(pid)
        for fd in self._fds_of.pop(pid, ()):
            self._targets.pop((pid, fd), None)
            self._registered_in.pop((pid, fd), None)
        closed = [fd for (p, fd) in self._closes if p == pid]
        for fd in closed:
            del self._closes[(pid, fd)]
        return closed

    def resolve_now(self, pid: int, fd: int) -> FdTarget | None:
        """Resolve a live fd from /proc (None when it is gone)."""
        link = procfs.read_fd_link(pid, fd)
        if link is None:
            return None
        inode = procfs.socket_inode(link)
        if inode is None:
            if link.startswith("/"):
                return FdTarget(kind="file", path=link)
            if link.startswith("pipe:"):
                return self.pipe_target(pid, link)
            if link == EPOLL_LINK:
                return self.epoll_target(pid, fd)
            return FdTarget(kind="other", path=link)
        sock = self.sockets.borrower.endpoint(pid, fd, inode)
        if sock is not None:
            self.sockets.by_inode[inode] = sock
            self.sockets.owner_of_inode[inode] = pid
            return self.classified(pid, sock.local_addr, sock.local_port, sock.remote_addr,
                                   sock.remote_port, inode)
        return self.socket_target(pid, inode)

    def pipe_target(self, pid: int, link: str) -> FdTarget:
        """A pipe between a Spark JVM and its Python processes is part of the bridge (the
        executor reads the pyspark.daemon's port from its stdout while a task waits): a
        ``pipe`` target with the peer class of the process holding the other end."""
        mine = self._role_of(pid)
        if mine not in _BRIDGE_ROLES:
            return FdTarget(kind="other", path=link)
        for other in self._live_pids():
            role = self._role_of(other)
            if other == pid or role not in _BRIDGE_ROLES:
                continue
            if link in procfs.read_fd_links(other).values():
                peer_class = classify_peer(mine, role, 0, 0, True)
                if peer_class != "unknown":
                    return FdTarget(kind="pipe", path=link, peer_class=peer_class)
        return FdTarget(kind="other", path=link)

    def epoll_target(self, pid: int, epfd: int) -> FdTarget:
        """An epoll fd not seen created (it predates tracking, or its event was lost): its
        registrations now, from /proc/PID/fdinfo, read once; epoll_ctl events keep them
        up to date from then on."""
        instance = EpollInstance(seeded=True)
        for tfd in procfs.read_epoll_tfds(pid, epfd) or []:
            instance.control(EPOLL_CTL_ADD, pid, tfd, self.generation(pid, tfd), 0)
            self._registered_in.setdefault((pid, tfd), []).append(instance)
        return FdTarget(kind="epoll", path=EPOLL_LINK, epoll=instance)

    def epoll_view(self, target: FdTarget, start_ns: int, end_ns: int) -> FdTarget:
        """What an epoll fd waited on in [start_ns, end_ns): when its sockets and bridge
        pipes registered then all share one peer class of WAIT_PEERS, an ``epoll`` target
        with that class and the first one's addresses; else ``target`` (class unknown)."""
        instance = target.epoll
        if instance is None or instance.overflowed:
            return target
        classes: set[str] = set()
        first: FdTarget | None = None
        for reg in instance.during(start_ns, end_ns):
            registered = self._known(reg.pid, reg.fd, reg.generation)
            if registered is None or registered.kind not in ("socket", "pipe"):
                continue  # the selector's own wake-up eventfd or pipe
            classes.add(registered.peer_class)
            first = first or registered
        if first is None or len(classes) != 1 or not classes <= WAIT_PEERS:
            return target
        return FdTarget(kind="epoll", path=EPOLL_LINK, local_addr=first.local_addr,
                        local_port=first.local_port, remote_addr=first.remote_addr,
                        remote_port=first.remote_port, peer_class=first.peer_class,
                        inode=first.inode, epoll=instance)

    def socket_target(self, pid: int, inode: int) -> FdTarget:
        is_unix, peer_inode = self.unix.peer_inode(inode)
        if is_unix:
            return self.unix_target(pid, inode, peer_inode)
        self.sockets.refresh(self._live_pids())
        sock = self.sockets.by_inode.get(inode)
        if sock is None:
            self.sockets.refresh(self._live_pids(), force=True)
            sock = self.sockets.by_inode.get(inode)
        if sock is None:  # a UDP socket, or already gone
            return FdTarget(kind="socket", inode=inode)
        return self.classified(pid, sock.local_addr, sock.local_port, sock.remote_addr,
                               sock.remote_port, inode)

    def unix_target(self, pid: int, inode: int, peer_inode: int | None) -> FdTarget:
        """A Unix-domain socket: no addresses; the peer class from the role of the tracked
        process holding the other end (found by inode among their fds)."""
        owner = None
        if peer_inode is not None:
            owner = self.sockets.owner_of_inode.get(peer_inode)
            if owner is None or owner == pid:
                self.sockets.refresh(self._live_pids(), force=True)
                owner = self.sockets.owner_of_inode.get(peer_inode)
        peer_class = classify_unix_peer(self._role_of(pid),
                                        self._role_of(owner) if owner is not None else None)
        return FdTarget(kind="socket", path="unix", peer_class=peer_class, inode=inode)

    def classified(self, pid: int, laddr: str, lport: int, raddr: str, rport: int,
                   inode: int | None = None, refresh: bool = True) -> FdTarget:
        """A socket target with its peer class; ``refresh``: re-read /proc (rate-limited)
        when the other end is not in the current snapshot."""
        local = self.sockets.is_local(raddr)
        remote_pid = None
        if local:
            remote_pid = self.sockets.peer_owner(laddr, lport, raddr, rport)
            if remote_pid is None and refresh:
                self.sockets.refresh(self._live_pids(), force=True)
                remote_pid = self.sockets.peer_owner(laddr, lport, raddr, rport)
        remote_role = self._role_of(remote_pid) if remote_pid is not None else None
        peer_class = classify_peer(self._role_of(pid), remote_role, lport, rport, local,
                                   self._driver_rpc_ports())
        return FdTarget(kind="socket", local_addr=laddr, local_port=lport, remote_addr=raddr,
                        remote_port=rport, peer_class=peer_class, inode=inode)

    # -- lookups ---------------------------------------------------------------------------
    def current(self, pid: int, fd: int) -> FdTarget | None:
        """What (pid, fd) names in its current generation, from history or /proc."""
        return self._known(pid, fd, self.generation(pid, fd))

    def target(self, pid: int, fd: int, gen: int, bucket_ns: int | None = None) -> FdTarget:
        """What (pid, fd) was in its generation ``gen`` (during the time bucket starting at
        ``bucket_ns``, for an epoll fd); the live fd from /proc when that is the current
        generation and nothing is known yet."""
        found = self._known(pid, fd, gen)
        if found is None:
            self.unresolved += 1
            return UNRESOLVED
        if found.epoll is not None:
            start, end = (_UNKNOWN_BUCKET if bucket_ns is None
                          else (bucket_ns, bucket_ns + self._bucket_ns))
            return self.epoll_view(found, start, end)
        return found

    def _known(self, pid: int, fd: int, gen: int) -> FdTarget | None:
        """(pid, fd, gen) from history, or from /proc when it is the live generation (then
        remembered); None when it cannot be identified."""
        found = self._targets.get((pid, fd), {}).get(gen)
        if found is not None:
            target = found.target
            if target.kind == "socket" and target.peer_class == "unknown" and target.remote_port:
                # Classified before the other end was known (a fast connect): try again.
                found.target = target = self.classified(
                    pid, target.local_addr, target.local_port, target.remote_addr,
                    target.remote_port, target.inode, refresh=False)
            return target
        now = self.resolve_now(pid, fd) if gen == self.generation(pid, fd) else None
        if now is not None:
            self._generations(pid, fd)[gen] = _Generation(0, None, now)
        return now
