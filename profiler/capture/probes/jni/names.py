"""JNI symbol names and library selection: pure functions, no BCC, no /proc.

``Java_com_github_luben_zstd_Zstd_compressByteArray`` -> (``com.github.luben.zstd.Zstd``,
``compressByteArray``), following the JNI mangling rules: ``_`` separates name parts, ``_1``
is a literal underscore, ``_2`` ``;``, ``_3`` ``[``, ``_0xxxx`` a UTF-16 unit, and ``__``
starts the argument signature of an overloaded method.

Libraries that register their natives with ``RegisterNatives`` (Netty's epoll transport) have
no ``Java_*`` symbols: their functions keep C names such as ``netty_unix_socket_accept``, found
in the ``.symtab``. A ``RegisteredNatives`` scheme maps those names back to (class, method) by
an explicit prefix table, checked against Netty's class files by the unit tests.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

JAVA_PREFIX = "Java_"
_NETTY_EPOLL = "io.netty.channel.epoll."
_NETTY_UNIX = "io.netty.channel.unix."


@dataclass(frozen=True)
class NativePrefix:
    """C functions named ``<prefix><method>`` are natives of ``class_name`` (only those in
    ``methods`` when it is given: a prefix can serve several classes)."""

    prefix: str
    class_name: str
    methods: frozenset[str] | None = None


@dataclass(frozen=True)
class RegisteredNatives:
    """The naming scheme of a library that registers its natives by hand: which libraries
    (basename globs), its prefixes (first match wins) and the C helpers under those prefixes
    that are not natives (method-part globs)."""

    libraries: tuple[str, ...]
    prefixes: tuple[NativePrefix, ...]
    helpers: tuple[str, ...]

    def applies_to(self, path: str) -> bool:
        base = os.path.basename(path.removesuffix(" (deleted)"))
        return any(fnmatch.fnmatchcase(base, glob) for glob in self.libraries)

    def name(self, symbol: str) -> tuple[str, str] | None:
        """(class, method) of one of this library's natives; None for other functions."""
        for entry in self.prefixes:
            if not symbol.startswith(entry.prefix):
                continue
            method = symbol[len(entry.prefix):]
            if entry.methods is not None and method not in entry.methods:
                continue
            if not method or any(fnmatch.fnmatchcase(method, glob) for glob in self.helpers):
                return None
            return entry.class_name, method
        return None


# Netty's transport-native-epoll (4.1/4.2): C names from netty_epoll_native.c,
# netty_epoll_linuxsocket.c and the netty_unix_*.c files it embeds. Constants are read
# through *StaticallyReferencedJniMethods classes so that they load before the natives.
NETTY_EPOLL = RegisteredNatives(
    libraries=("libnetty_transport_native_epoll*", "libnetty-transport-native-epoll*"),
    prefixes=(
        NativePrefix("netty_epoll_native_", _NETTY_EPOLL + "NativeStaticallyReferencedJniMethods",
                     frozenset({"epollin", "epollout", "epollrdhup", "epollet", "epollerr",
                                "isSupportingSendmmsg", "isSupportingRecvmmsg",
                                "kernelVersion", "tcpFastopenMode", "tcpMd5SigMaxKeyLen"})),
        NativePrefix("netty_epoll_native_", _NETTY_EPOLL + "Native"),
        NativePrefix("netty_epoll_linuxsocket_", _NETTY_EPOLL + "LinuxSocket"),
        NativePrefix("netty_unix_socket_", _NETTY_UNIX + "Socket"),
        NativePrefix("netty_unix_filedescriptor_", _NETTY_UNIX + "FileDescriptor"),
        NativePrefix("netty_unix_errors_", _NETTY_UNIX + "ErrorsStaticallyReferencedJniMethods"),
        NativePrefix("netty_unix_limits_", _NETTY_UNIX + "LimitsStaticallyReferencedJniMethods"),
        NativePrefix("netty_unix_buffer_", _NETTY_UNIX + "Buffer"),
    ),
    helpers=("JNI_On*", "throw*", "getOption", "getOption0", "getOptionHandleError",
             "setOption", "initSockaddr", "ipAddressLength", "nonBlockingSocket",
             "createInetSocketAddressArray"),
)
REGISTERED_NATIVES: tuple[RegisteredNatives, ...] = (NETTY_EPOLL,)
# The calls that carry data or wait for it: epoll waits, socket and fd reads/writes,
# splice/sendfile, accept/connect (not option getters/setters or constants).
_NETTY_IO: tuple[str, ...] = (
    "netty_epoll_native_epollWait*", "netty_epoll_native_epollBusyWait0",
    "netty_epoll_native_splice0", "netty_epoll_native_sendmmsg0",
    "netty_epoll_native_recvmmsg0", "netty_epoll_native_recvmsg0",
    "netty_epoll_linuxsocket_sendFile",
    "netty_unix_filedescriptor_read*", "netty_unix_filedescriptor_write*",
    "netty_unix_socket_send*", "netty_unix_socket_recv*", "netty_unix_socket_accept",
    "netty_unix_socket_connect*", "netty_unix_socket_finishConnect",
)
# Traced by default: library basename glob -> the method globs that carry the data (codecs'
# compress/decompress, NIO reads/writes/polls, zip inflate/deflate/CRC). Every uprobe costs a
# perf event whose removal waits for an RCU grace period (~0.2 s each here when the machine
# is busy), so the default stays at a few dozen methods; --jni-include LIB takes them all.
DEFAULT_METHODS: dict[str, tuple[str, ...]] = {
    "libzstd-jni*": ("Java_com_github_luben_zstd_*ompress*",),
    "liblz4-java*": ("Java_net_jpountz_lz4_LZ4JNI_*", "Java_net_jpountz_xxhash_XXHashJNI_*"),
    "libsnappyjava*": ("Java_org_xerial_snappy_SnappyNative_*ompress*",),
    "libsnappy-java*": ("Java_org_xerial_snappy_SnappyNative_*ompress*",),
    "libnio.so": ("Java_sun_nio_ch_*Dispatcher*_read*", "Java_sun_nio_ch_*Dispatcher*_write*",
                  "Java_sun_nio_ch_*Dispatcher*_pread0", "Java_sun_nio_ch_*Dispatcher*_pwrite0",
                  "Java_sun_nio_ch_FileChannelImpl_transferTo0", "Java_sun_nio_ch_EPoll_wait",
                  "Java_sun_nio_ch_Net_poll", "Java_sun_nio_ch_Net_accept",
                  "Java_sun_nio_ch_Net_connect0"),
    "libzip.so": ("Java_java_util_zip_Deflater_deflate*", "Java_java_util_zip_Inflater_inflate*",
                  "Java_java_util_zip_CRC32_update*"),
    "libnetty_transport_native_epoll*": _NETTY_IO,
    "libnetty-transport-native-epoll*": _NETTY_IO,
}
DEFAULT_LIBRARIES: tuple[str, ...] = tuple(DEFAULT_METHODS)
_DIGITS = re.compile(r"\d{6,}")
_HEX = frozenset("0123456789abcdefABCDEF")


def strip_version(symbol: str) -> str:
    """``Java_x@@LOCAL_ZSTD`` -> ``Java_x`` (BCC looks symbols up without the version)."""
    return symbol.split("@", 1)[0]


def demangle(symbol: str) -> tuple[str, str]:
    """(class name with dots, method name) of a ``Java_*`` symbol; ("", symbol) if it is
    not one."""
    name = strip_version(symbol)
    if not name.startswith(JAVA_PREFIX):
        return "", symbol
    body = name[len(JAVA_PREFIX):]
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "_":
            current.append(char)
            i += 1
            continue
        following = body[i + 1] if i + 1 < len(body) else ""
        if following == "_":  # "__": the overload signature follows; it is dropped
            break
        unicode = body[i + 2:i + 6]
        if following and following in "123":
            current.append({"1": "_", "2": ";", "3": "["}[following])
            i += 2
        elif following == "0" and len(unicode) == 4 and all(c in _HEX for c in unicode):
            current.append(chr(int(unicode, 16)))
            i += 6
        else:
            parts.append("".join(current))
            current = []
            i += 1
    parts.append("".join(current))
    if len(parts) < 2:
        return "", parts[0]
    return ".".join(parts[:-1]), parts[-1]


def registered_natives(path: str) -> tuple[RegisteredNatives, ...]:
    """The naming schemes that apply to a library (none for most)."""
    return tuple(scheme for scheme in REGISTERED_NATIVES if scheme.applies_to(path))


def native_name(symbol: str) -> tuple[str, str]:
    """(class, method) of a traced symbol: a ``Java_*`` one demangled, a registered native
    named by its scheme; ("", symbol) for anything else."""
    name = strip_version(symbol)
    if not name.startswith(JAVA_PREFIX):
        for scheme in REGISTERED_NATIVES:
            found = scheme.name(name)
            if found is not None:
                return found
    return demangle(symbol)


def library_key(path: str) -> str:
    """A library's name without what differs between runs: the ``(deleted)`` suffix and the
    random digits of a temp-file copy (``libzstd-jni-1.5.7-7*.so``)."""
    base = os.path.basename(path.removesuffix(" (deleted)"))
    return _DIGITS.sub("*", base)


def _matches(text: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in globs)


def library_selected(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a library's native methods are candidates: in the default set or matched
    by an include glob (on the basename or full path), and not excluded."""
    base = os.path.basename(path.removesuffix(" (deleted)"))
    names = (base, path)
    if any(_matches(name, exclude) for name in names):
        return False
    return any(_matches(name, (*DEFAULT_LIBRARIES, *include)) for name in names)


def default_methods(path: str, include: Sequence[str]) -> tuple[str, ...] | None:
    """The method globs to trace in a selected library: all (None) when an include glob
    names the library itself, else the default set's globs for it."""
    base = os.path.basename(path.removesuffix(" (deleted)"))
    if any(_matches(name, include) for name in (base, path)):
        return None
    for library, methods in DEFAULT_METHODS.items():
        if fnmatch.fnmatchcase(base, library):
            return methods
    return ()


def symbol_included(symbol: str, include: Sequence[str]) -> bool:
    """An include glob that names the symbol (``Java_*Deflater*``) or its ``Class.method``
    forces it past the cost guard."""
    if not include:
        return False  # the common case: no demangling for each of a library's symbols
    class_name, method = native_name(symbol)
    return _matches(strip_version(symbol), include) or _matches(f"{class_name}.{method}",
                                                                include)


def symbol_excluded(symbol: str, exclude: Sequence[str]) -> bool:
    if not exclude:
        return False
    class_name, method = native_name(symbol)
    return _matches(strip_version(symbol), exclude) or _matches(f"{class_name}.{method}",
                                                                exclude)
