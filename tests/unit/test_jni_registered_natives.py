"""Registered natives (Netty's epoll transport): naming by the prefix table, discovery in the
real library shipped with PySpark, and the default method set. The names are checked against
the native methods declared in Netty's own class files, read from PySpark's jars."""

from __future__ import annotations

import fnmatch
import glob
import os
import struct
import zipfile
from pathlib import Path

import pytest

from profiler.capture.probes.jni import names as jni_names
from profiler.capture.probes.jni.discovery import java_symbols
from tests.conftest import require

_LIBRARY = "libnetty_transport_native_epoll_x86_64.so"
_ACC_NATIVE = 0x0100
# Classes whose natives the epoll library registers.
_CLASS_JARS = {"io/netty/channel/epoll/": "netty-transport-classes-epoll-",
               "io/netty/channel/unix/": "netty-transport-native-unix-common-"}


def _jars_dir() -> str:
    try:
        import pyspark
    except ImportError:
        require(False, "pyspark is not installed")
    return os.path.join(os.path.dirname(pyspark.__file__), "jars")


def _one_jar(prefix: str, suffix: str = ".jar") -> str:
    found = sorted(glob.glob(os.path.join(_jars_dir(), f"{prefix}4.*.Final{suffix}")))
    require(bool(found), f"no {prefix}*{suffix} in PySpark's jars")
    return found[-1]


@pytest.fixture(scope="module")
def netty_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The x86-64 epoll library, extracted from its jar as Netty does at run time."""
    jar = _one_jar("netty-transport-native-epoll-", "-linux-x86_64.jar")
    target = tmp_path_factory.mktemp("netty") / _LIBRARY
    with zipfile.ZipFile(jar) as archive:
        target.write_bytes(archive.read(f"META-INF/native/{_LIBRARY}"))
    return target


def _native_methods(class_bytes: bytes) -> set[str]:
    """Names of the methods a class file declares ``native`` (JVMS 4.1, 4.4, 4.6)."""
    count = struct.unpack_from(">H", class_bytes, 8)[0]
    utf8: dict[int, str] = {}
    position, index = 10, 1
    sizes = {3: 5, 4: 5, 9: 5, 10: 5, 11: 5, 12: 5, 17: 5, 18: 5, 5: 9, 6: 9, 7: 3, 8: 3,
             16: 3, 19: 3, 20: 3, 15: 4}
    while index < count:
        tag = class_bytes[position]
        if tag == 1:
            length = struct.unpack_from(">H", class_bytes, position + 1)[0]
            utf8[index] = class_bytes[position + 3:position + 3 + length].decode("utf-8")
            position += 3 + length
        else:
            position += sizes[tag]
        index += 2 if tag in (5, 6) else 1  # long and double take two slots
    interfaces = struct.unpack_from(">H", class_bytes, position + 6)[0]
    position += 8 + 2 * interfaces
    natives: set[str] = set()
    for members in ("fields", "methods"):
        total = struct.unpack_from(">H", class_bytes, position)[0]
        position += 2
        for _ in range(total):
            flags, name, _descriptor, attributes = struct.unpack_from(">HHHH", class_bytes,
                                                                      position)
            position += 8
            for _ in range(attributes):
                position += 6 + struct.unpack_from(">I", class_bytes, position + 2)[0]
            if members == "methods" and flags & _ACC_NATIVE:
                natives.add(utf8[name])
    return natives


@pytest.fixture(scope="module")
def declared_natives() -> dict[str, set[str]]:
    """Java class name -> its native methods, for every class of Netty's epoll and unix
    packages that declares any."""
    declared: dict[str, set[str]] = {}
    for package, jar_prefix in _CLASS_JARS.items():
        with zipfile.ZipFile(_one_jar(jar_prefix)) as archive:
            for entry in archive.namelist():
                if entry.startswith(package) and entry.endswith(".class"):
                    methods = _native_methods(archive.read(entry))
                    if methods:
                        declared[entry.removesuffix(".class").replace("/", ".")] = methods
    assert declared, "no native methods found in Netty's class files"
    return declared


def test_every_discovered_symbol_is_a_declared_native(
        netty_library: Path, declared_natives: dict[str, set[str]]) -> None:
    symbols = java_symbols(str(netty_library), f"/tmp/{_LIBRARY}")
    assert len(symbols) > 100
    for symbol in symbols:
        class_name, method = jni_names.native_name(symbol.name)
        assert method in declared_natives.get(class_name, set()), symbol.name
        assert symbol.file_offset > 0 and len(symbol.first_bytes) == 8


def test_every_declared_native_has_a_symbol(
        netty_library: Path, declared_natives: dict[str, set[str]]) -> None:
    """Some constants are registered on two classes from one C function: the method name is
    what must be covered."""
    found = {jni_names.native_name(s.name)[1]
             for s in java_symbols(str(netty_library), _LIBRARY)}
    missing = {f"{cls}.{m}" for cls, methods in declared_natives.items() for m in methods
               if m not in found}
    assert not missing


def test_no_registered_natives_without_the_scheme(netty_library: Path) -> None:
    """The library has no ``Java_*`` symbols: under another name nothing is found."""
    assert java_symbols(str(netty_library), "/opt/libother.so") == []


def test_default_set_is_the_io_methods(netty_library: Path) -> None:
    deleted_copy = "/tmp/libnetty_transport_native_epoll_x86_646183927340718.so (deleted)"
    assert jni_names.library_selected(deleted_copy, (), ())
    globs = jni_names.default_methods(deleted_copy, ())
    assert globs
    chosen = {jni_names.native_name(s.name) for s in java_symbols(str(netty_library),
                                                                   deleted_copy)
              if any(fnmatch.fnmatchcase(s.name, g) for g in globs)}
    methods = {f"{cls.rsplit('.', 1)[1]}.{method}" for cls, method in chosen}
    for expected in ("Native.epollWait", "Native.epollWait0", "Native.epollBusyWait0",
                     "Native.splice0", "Native.recvmmsg0", "Native.sendmmsg0",
                     "FileDescriptor.read", "FileDescriptor.writeAddress",
                     "FileDescriptor.writevAddresses", "Socket.accept", "Socket.connect",
                     "Socket.sendTo", "Socket.recvFromAddress", "LinuxSocket.sendFile"):
        assert expected in methods
    assert not any(".set" in m or ".get" in m or ".is" in m for m in methods), methods
    assert "Native.epollCtlAdd0" not in methods and "FileDescriptor.close" not in methods
    assert len(methods) < 40  # every uprobe costs a detach: the default set stays small


@pytest.mark.parametrize(("symbol", "expected"), [
    ("netty_epoll_native_epollWait", ("io.netty.channel.epoll.Native", "epollWait")),
    ("netty_epoll_native_epollin",
     ("io.netty.channel.epoll.NativeStaticallyReferencedJniMethods", "epollin")),
    ("netty_epoll_linuxsocket_sendFile", ("io.netty.channel.epoll.LinuxSocket", "sendFile")),
    ("netty_unix_socket_recvFrom", ("io.netty.channel.unix.Socket", "recvFrom")),
    ("netty_unix_filedescriptor_writev", ("io.netty.channel.unix.FileDescriptor", "writev")),
    ("netty_unix_errors_strError",
     ("io.netty.channel.unix.ErrorsStaticallyReferencedJniMethods", "strError")),
    ("netty_unix_limits_iovMax",
     ("io.netty.channel.unix.LimitsStaticallyReferencedJniMethods", "iovMax")),
    ("netty_unix_buffer_memoryAddress0", ("io.netty.channel.unix.Buffer", "memoryAddress0")),
    # C helpers under the same prefixes are not natives
    ("netty_unix_socket_initSockaddr", ("", "netty_unix_socket_initSockaddr")),
    ("netty_unix_errors_throwIOException", ("", "netty_unix_errors_throwIOException")),
    ("netty_epoll_native_JNI_OnLoad", ("", "netty_epoll_native_JNI_OnLoad")),
    ("netty_jni_util_prepend", ("", "netty_jni_util_prepend")),
    ("netty_unix_socket_", ("", "netty_unix_socket_")),
    ("Java_java_util_zip_CRC32_update", ("java.util.zip.CRC32", "update")),
])
def test_native_name(symbol: str, expected: tuple[str, str]) -> None:
    assert jni_names.native_name(symbol) == expected


def test_include_and_exclude_by_java_name() -> None:
    assert jni_names.symbol_included("netty_epoll_native_epollCtlAdd0",
                                     ("io.netty.channel.epoll.Native.epollCtl*",))
    assert jni_names.symbol_excluded("netty_unix_socket_accept", ("*.Socket.accept",))
    assert not jni_names.symbol_excluded("netty_unix_socket_accept", ("*.Socket.connect",))


def test_schemes_apply_by_library_basename() -> None:
    assert jni_names.registered_natives("/tmp/libnetty_transport_native_epoll_x86_64123.so")
    assert jni_names.registered_natives("/x/libnetty-transport-native-epoll.so (deleted)")
    assert not jni_names.registered_natives("/tmp/libnetty_tcnative_linux_x86_64.so")
    assert not jni_names.registered_natives("/usr/lib/jvm/x/lib/libnio.so")
