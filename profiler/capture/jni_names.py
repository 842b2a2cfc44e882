"""JNI symbol names and library selection: pure functions, no BCC, no /proc.

``Java_com_github_luben_zstd_Zstd_compressByteArray`` -> (``com.github.luben.zstd.Zstd``,
``compressByteArray``), following the JNI mangling rules: ``_`` separates name parts, ``_1``
is a literal underscore, ``_2`` ``;``, ``_3`` ``[``, ``_0xxxx`` a UTF-16 unit, and ``__``
starts the argument signature of an overloaded method.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence

JAVA_PREFIX = "Java_"
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
    "libnetty_transport_native_epoll*": ("Java_*",),
    "libnetty-transport-native-epoll*": ("Java_*",),
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


def library_key(path: str) -> str:
    """A library's name without what differs between runs: the ``(deleted)`` suffix and the
    random digits of a temp-file copy (``libzstd-jni-1.5.7-7*.so``)."""
    base = os.path.basename(path.removesuffix(" (deleted)"))
    return _DIGITS.sub("*", base)


def _matches(text: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in globs)


def library_selected(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a library's ``Java_*`` methods are candidates: in the default set or matched
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
    class_name, method = demangle(symbol)
    return _matches(strip_version(symbol), include) or _matches(f"{class_name}.{method}",
                                                                include)


def symbol_excluded(symbol: str, exclude: Sequence[str]) -> bool:
    class_name, method = demangle(symbol)
    return _matches(strip_version(symbol), exclude) or _matches(f"{class_name}.{method}",
                                                                exclude)
