"""Which fds an epoll instance had registered, and when, from the epoll_ctl events of the
tracked processes (bpf/syscalls.c streams ADD and DEL). Pure bookkeeping: what a registered
fd *is* stays with the caller (profiler.capture.probes.net.fds).

An epoll fd's waits are aggregated per time bucket; to say what a wait in one bucket was on,
the registrations alive during that bucket are asked for, so a selector that registered a
socket, waited on it and was closed between two drains is still known. Registrations made
before tracking started are seeded from /proc/PID/fdinfo (``seeded``: since time 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
# A selector waiting on one peer has one or two registrations (its socket, a wake-up fd).
# Past this many registrations an instance is an event loop over many connections: new ones
# are not remembered, and it is never a single peer's wait.
MAX_REGISTRATIONS = 64


@dataclass
class Registration:
    pid: int          # whose fd table ``fd`` is a number of
    fd: int
    generation: int   # of (pid, fd) when registered: names one open file
    since_ns: int
    until_ns: int | None = None  # EPOLL_CTL_DEL, or the close of the registered fd

    def overlaps(self, start_ns: int, end_ns: int) -> bool:
        return self.since_ns < end_ns and (self.until_ns is None or self.until_ns >= start_ns)


@dataclass(eq=False)
class EpollInstance:
    """One epoll instance: shared by every fd naming it (dups, forked children).

    One registration per registered file, from its first ADD to its last DEL (or close):
    a selector that toggles a channel's interest between none and some DELs and re-ADDs
    the same file over and over, and should neither grow without bound nor overflow."""

    seeded: bool = False
    registrations: list[Registration] = field(default_factory=list)
    overflowed: bool = False
    _by_file: dict[tuple[int, int, int], Registration] = field(default_factory=dict,
                                                                repr=False)
    _live: dict[tuple[int, int], Registration] = field(default_factory=dict, repr=False)

    def live(self, pid: int, fd: int) -> Registration | None:
        return self._live.get((pid, fd))

    def control(self, op: int, pid: int, fd: int, generation: int, ts: int) -> bool:
        """Apply one successful epoll_ctl; True when (pid, fd) is registered afterwards."""
        current = self._live.get((pid, fd))
        if op == EPOLL_CTL_DEL:
            self._end(pid, fd, ts)
            return False
        if current is not None and current.generation == generation:
            return True  # MOD, or an ADD whose DEL we did not see: the same registration
        if current is not None:
            self._end(pid, fd, ts)  # the number names another file now
        again = self._by_file.get((pid, fd, generation))
        if again is not None:
            again.until_ns = None
        elif len(self._by_file) >= MAX_REGISTRATIONS:
            self.overflowed = True
            return False
        else:
            again = self._by_file[(pid, fd, generation)] = Registration(pid, fd, generation, ts)
            self.registrations.append(again)
        self._live[(pid, fd)] = again
        return True

    def fd_closed(self, pid: int, fd: int, ts: int) -> None:
        """The last reference to a registered file is gone: the kernel drops the
        registration."""
        self._end(pid, fd, ts)

    def _end(self, pid: int, fd: int, ts: int) -> None:
        current = self._live.pop((pid, fd), None)
        if current is not None:
            current.until_ns = ts

    def during(self, start_ns: int, end_ns: int) -> list[Registration]:
        """Registrations alive at some time in [start_ns, end_ns)."""
        return [reg for reg in self.registrations if reg.overlaps(start_ns, end_ns)]

    def forget_before(self, before_ns: int) -> None:
        """Drop registrations that ended before ``before_ns`` (no rows about them to come)."""
        gone = [reg for reg in self.registrations
                if reg.until_ns is not None and reg.until_ns < before_ns]
        for reg in gone:
            del self._by_file[(reg.pid, reg.fd, reg.generation)]
        if gone:
            self.registrations = [reg for reg in self.registrations
                                  if reg.until_ns is None or reg.until_ns >= before_ns]
