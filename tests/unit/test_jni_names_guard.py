"""JNI symbol demangling, library/method selection, the uprobe cost guard and /proc maps
parsing: pure functions, no root."""

from __future__ import annotations

import pytest

from profiler.capture.probes.jni import names as jni_names
from profiler.capture.probes.jni.discovery import (
    Mapping,
    parse_maps,
    runtime_address,
    shared_libraries,
)
from profiler.capture.probes.jni.guard import (
    RateBudget,
    describe_first_instruction,
    emulated_first_instruction,
)


@pytest.mark.parametrize(("symbol", "expected"), [
    ("Java_com_github_luben_zstd_Zstd_compressByteArray",
     ("com.github.luben.zstd.Zstd", "compressByteArray")),
    ("Java_com_github_luben_zstd_ZstdOutputStreamNoFinalizer_compressStream@@LOCAL_ZSTD",
     ("com.github.luben.zstd.ZstdOutputStreamNoFinalizer", "compressStream")),
    ("Java_net_jpountz_lz4_LZ4JNI_LZ4_1compress_1limitedOutput",
     ("net.jpountz.lz4.LZ4JNI", "LZ4_compress_limitedOutput")),
    ("Java_java_util_zip_CRC32_update__II", ("java.util.zip.CRC32", "update")),
    ("Java_a_b_000e9t_run", ("a.b\u00e9t", "run")),
    ("Java_a_B_run_", ("a.B.run", "")),
    ("deflate", ("", "deflate")),
])
def test_demangle(symbol: str, expected: tuple[str, str]) -> None:
    assert jni_names.demangle(symbol) == expected


def test_library_key_hides_temp_digits_and_deletion() -> None:
    path = "/tmp/libzstd-jni-1.5.7-71234567890123.so (deleted)"
    assert jni_names.library_key(path) == "libzstd-jni-1.5.7-*.so"


def test_default_selection_include_and_exclude() -> None:
    zstd = "/tmp/libzstd-jni-1.5.7-7123456789.so (deleted)"
    assert jni_names.library_selected(zstd, (), ())
    assert not jni_names.library_selected(zstd, (), ("libzstd*",))
    assert not jni_names.library_selected("/opt/libfoo.so", (), ())
    assert jni_names.library_selected("/opt/libfoo.so", ("libfoo*",), ())
    # the default set traces a library's data methods; including the library takes them all
    assert jni_names.default_methods("/usr/lib/jvm/x/lib/libzip.so", ()) == \
        jni_names.DEFAULT_METHODS["libzip.so"]
    assert jni_names.default_methods("/usr/lib/jvm/x/lib/libzip.so", ("libzip.so",)) is None
    assert jni_names.default_methods("/opt/libfoo.so", ()) == ()
    assert jni_names.symbol_included("Java_java_util_zip_CRC32_update", ("*CRC32*",))
    assert jni_names.symbol_included("Java_java_util_zip_CRC32_update",
                                     ("java.util.zip.CRC32.update",))
    assert jni_names.symbol_excluded("Java_java_util_zip_CRC32_update", ("*.CRC32.*",))
    assert not jni_names.symbol_excluded("Java_java_util_zip_CRC32_update", ("*Adler*",))


@pytest.mark.parametrize(("code", "cheap", "name"), [
    (bytes.fromhex("554889e5"), True, "55 48 89 e5"),          # push %rbp
    (bytes.fromhex("4157"), True, "41 57"),                    # push %r15
    (bytes.fromhex("0f1f440000"), True, "0f 1f 44 00"),        # nopl
    (bytes.fromhex("e9aabbccdd"), True, "e9 aa bb cc"),        # jmp rel32
    (bytes.fromhex("f30f1efa55"), False, "endbr64"),
    (bytes.fromhex("4883ec08"), False, "sub/add imm8"),        # sub $8,%rsp
    (bytes.fromhex("488d0500000000"), False, "lea"),
    (bytes.fromhex("b801000000"), False, "b8 01 00 00"),       # mov $1,%eax
    (b"", False, ""),
])
def test_first_instruction_cost(code: bytes, cheap: bool, name: str) -> None:
    assert emulated_first_instruction(code) is cheap
    if not cheap and code:
        assert describe_first_instruction(code) == name


def test_rate_budget_reports_each_busy_method_once() -> None:
    budget = RateBudget(calls_per_s=1000)
    assert budget.over_budget({"a": 500, "b": 5000}, 1.0) == ["b"]
    assert budget.over_budget({"a": 500, "b": 5000}, 1.0) == []
    assert budget.over_budget({"a": 3000}, 2.0) == ["a"]
    assert "calls/s" in budget.detached["a"]
    assert budget.over_budget({"c": 10**9}, 0.0) == []


MAPS = """\
00400000-0041f000 r--p 00000000 fe:00 260811 /usr/bin/python3.11
7f00aa000000-7f00aa001000 r--p 00000000 fe:00 99 /tmp/libzstd-jni-1.5.7-7123456.so (deleted)
7f00aa001000-7f00aa050000 r-xp 00001000 fe:00 99 /tmp/libzstd-jni-1.5.7-7123456.so (deleted)
7f00ab000000-7f00ab100000 rw-p 00000000 00:00 0
7f00ac000000-7f00ac021000 rw-p 00000000 00:00 0 [heap]
"""


def test_maps_parsing_and_runtime_addresses() -> None:
    mappings = parse_maps(MAPS)
    assert [m.inode for m in mappings] == [260811, 99, 99]
    libraries = shared_libraries(mappings)
    assert list(libraries) == [("fe:00", 99)]
    zstd = libraries[("fe:00", 99)]
    assert zstd[0].path.endswith("(deleted)")
    assert runtime_address(zstd, 0x1234) == 0x7F00AA001234
    assert runtime_address(zstd, 0x10) is None  # not in the executable mapping
    assert runtime_address([Mapping(0, 0x1000, "r-xp", 0, 1, "d", "/x.so")], 0x2000) is None
