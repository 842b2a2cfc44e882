"""Which syscalls the BPF side counts, and how: the ``sys_flags`` array (indexed by syscall
number) that bpf/syscalls.c reads before anything else. Pure; the number <-> name table
comes from the caller (BCC's ``bcc.syscall.syscalls`` on the capture side)."""

from __future__ import annotations

from collections.abc import Mapping

# Bit layout shared with bpf/syscalls.c (FL_*).
FAMILY_CODES: dict[str, int] = {"net": 1, "io": 2, "other": 3}
FAMILY_NAMES: dict[int, str] = {code: name for name, code in FAMILY_CODES.items()}
FL_FD_READ = 4
FL_FD_WRITE = 8
FL_CONNECT = 16
FL_ACCEPT = 32
FL_CLOSE = 64
FL_OPEN = 128
FL_OPENAT = 256
FL_EXIT = 512
FL_DUP = 1024
FL_FCNTL = 2048
FL_DUP_ONTO = 4096
FL_FD_WAIT = 8192
FL_EPOLL_CTL = 16384
FL_EPOLL_NEW = 32768
SYS_FLAGS_SIZE = 512

NET_SYSCALLS: frozenset[str] = frozenset({
    "socket", "socketpair", "connect", "accept", "accept4", "bind", "listen", "shutdown",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getsockopt",
    "setsockopt", "getsockname", "getpeername",
})
# Calls that move file data or can wait on the disk. lseek, fstat/newfstatat/statx and
# mmap/munmap are left to "other": they never wait on a device, yet the JVM's jar reads make
# them about half of all traced calls, and each traced call costs ~1.7 us of BPF time here.
IO_SYSCALLS: frozenset[str] = frozenset({
    "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
    "preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "fsync",
    "fdatasync", "sync_file_range", "fallocate", "ftruncate", "sendfile", "splice",
    "copy_file_range", "io_uring_enter", "io_submit", "io_getevents", "msync", "unlink",
    "unlinkat", "rename", "renameat2", "mkdir", "mkdirat", "getdents64",
})
# Data-moving calls whose first argument is the fd and whose result is a byte count.
FD_READ_SYSCALLS: frozenset[str] = frozenset({
    "read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg",
})
FD_WRITE_SYSCALLS: frozenset[str] = frozenset({
    "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "sendfile",
})
# Waits on an epoll fd (arg0): counted per fd with no bytes; user space turns a wait on
# sockets of one peer class into that peer's recv time (the JVM's NIO selector on Python).
FD_WAIT_SYSCALLS: frozenset[str] = frozenset({"epoll_wait", "epoll_pwait", "epoll_pwait2"})
EPOLL_NEW_SYSCALLS: frozenset[str] = frozenset({"epoll_create", "epoll_create1"})
EXIT_SYSCALLS: frozenset[str] = frozenset({"exit", "exit_group"})


def family_of(name: str) -> str:
    if name in NET_SYSCALLS:
        return "net"
    if name in IO_SYSCALLS:
        return "io"
    return "other"


def syscall_flags(name: str, families: frozenset[str], lifecycle: bool) -> int:
    """The ``sys_flags`` word for one syscall: 0 means the probes ignore it."""
    flags = 0
    family = family_of(name)
    if family in families:
        flags |= FAMILY_CODES[family]
    if name in EXIT_SYSCALLS:
        return FL_EXIT  # only its status is kept; exit_group never returns
    if "net" in families or "io" in families:
        # Per-fd byte accounting feeds the network and file_io tables.
        if name in FD_READ_SYSCALLS:
            flags |= FL_FD_READ
        if name in FD_WRITE_SYSCALLS:
            flags |= FL_FD_WRITE
        if "net" in families and name in FD_WAIT_SYSCALLS:
            flags |= FL_FD_WAIT
        # What an epoll fd waits on, from its creation and registrations (a selector can
        # live and die between two drains, too briefly for /proc/PID/fdinfo).
        if "net" in families and name in EPOLL_NEW_SYSCALLS:
            flags |= FL_EPOLL_NEW
        if "net" in families and name == "epoll_ctl":
            flags |= FL_EPOLL_CTL
        # Opens and closes name the fds so that short-lived ones are resolved.
        if name in ("open", "creat"):
            flags |= FL_OPEN
        if name in ("openat", "openat2"):
            flags |= FL_OPENAT
        if name == "close":
            flags |= FL_CLOSE
        # A dup'ed fd is the same file or socket under a new number (PySpark workers read
        # the JVM's socket through two dups of it); fcntl only for F_DUPFD (checked in BPF).
        if name in ("dup", "dup2", "dup3"):
            flags |= FL_DUP
        if name in ("dup2", "dup3"):
            flags |= FL_DUP_ONTO
        if name == "fcntl":
            flags |= FL_FCNTL
    if lifecycle or "net" in families:
        if name == "connect":
            flags |= FL_CONNECT
        if name in ("accept", "accept4"):
            flags |= FL_ACCEPT
        if name == "close":
            flags |= FL_CLOSE
    return flags


def build_flag_table(numbers: Mapping[int, str], families: frozenset[str],
                     lifecycle: bool) -> dict[int, int]:
    """syscall number -> non-zero flags, for every number below SYS_FLAGS_SIZE."""
    table = {}
    for number, name in numbers.items():
        if 0 <= number < SYS_FLAGS_SIZE:
            flags = syscall_flags(name, families, lifecycle)
            if flags:
                table[number] = flags
    return table
