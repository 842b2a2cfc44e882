"""USDT notes in ELF files and JDK discovery (real libjvm when a JDK is installed)."""

from __future__ import annotations

import shutil
import struct

import pytest

from profiler.host.elf import has_dynamic_symbol, parse_stapsdt_desc, usdt_probes
from profiler.host.jvm import elf_has_usdt_notes, find_jdks, inspect_jdk, major_version
from tests.conftest import require


def stapsdt_desc(fmt: str, pc: int, semaphore: int, *strings: bytes) -> bytes:
    return struct.pack(fmt, pc, 0, semaphore) + b"\0".join(strings) + b"\0"


def test_parse_stapsdt_desc_64_bit():
    desc = stapsdt_desc("<QQQ", 0x784E60, 0, b"hotspot", b"gc__begin", b"1@%dil")
    probe = parse_stapsdt_desc(desc, 8)
    assert (probe.provider, probe.name, probe.pc, probe.arguments) == (
        "hotspot",
        "gc__begin",
        0x784E60,
        "1@%dil",
    )
    assert probe.semaphore == 0


def test_parse_stapsdt_desc_32_bit_with_semaphore_and_no_args():
    desc = stapsdt_desc("<III", 0x1000, 0x2000, b"python", b"gc__start", b"")
    probe = parse_stapsdt_desc(desc, 4)
    assert (probe.provider, probe.name, probe.semaphore, probe.arguments) == (
        "python",
        "gc__start",
        0x2000,
        "",
    )


@pytest.fixture(scope="module")
def jdk_with_probes():
    jdks = [jdk for jdk in find_jdks() if jdk.has_hotspot_usdt]
    require(bool(jdks), "no JDK whose libjvm has hotspot USDT notes")
    return jdks[0]


def test_real_libjvm_has_hotspot_gc_probes(jdk_with_probes):
    probes = usdt_probes(jdk_with_probes.libjvm)
    names = {(p.provider, p.name) for p in probes}
    assert ("hotspot", "gc__begin") in names and ("hotspot", "gc__end") in names
    assert elf_has_usdt_notes(jdk_with_probes.libjvm)
    assert elf_has_usdt_notes(jdk_with_probes.libjvm, "hotspot_jni")
    assert not elf_has_usdt_notes(jdk_with_probes.libjvm, "python")
    assert has_dynamic_symbol(jdk_with_probes.libjvm, "JNI_CreateJavaVM")


def test_binary_without_notes_and_non_elf_files(tmp_path):
    ls = shutil.which("ls")
    assert ls is not None
    assert usdt_probes(ls) == []
    assert not elf_has_usdt_notes(ls)
    text = tmp_path / "libjvm.so"
    text.write_text("not an ELF file")
    assert not elf_has_usdt_notes(text)
    assert not elf_has_usdt_notes(tmp_path / "absent.so")
    assert not has_dynamic_symbol(text, "main")


@pytest.mark.parametrize(
    ("version", "major"), [("1.8.0_402", 8), ("17.0.15", 17), ("25", 25), ("21-ea", 21), ("", 0)]
)
def test_major_version(version, major):
    assert major_version(version) == major


def fake_jdk(root, name, version, libjvm_glob="lib/server"):
    home = root / name
    (home / libjvm_glob).mkdir(parents=True)
    (home / libjvm_glob / "libjvm.so").write_bytes(b"\x7fELF not really")
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


def test_find_jdks_in_a_fake_jvm_root(tmp_path, monkeypatch):
    fake_jdk(tmp_path, "jdk-17", "17.0.9")
    fake_jdk(tmp_path, "jdk-8", "1.8.0_402", "jre/lib/amd64/server")
    (tmp_path / "jdk-17-alias").symlink_to(tmp_path / "jdk-17")
    (tmp_path / "not-a-jdk").mkdir()
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    jdks = find_jdks(tmp_path)
    assert [(j.major, j.version) for j in jdks] == [(17, "17.0.9"), (8, "1.8.0_402")]
    assert jdks[1].libjvm.endswith("jre/lib/amd64/server/libjvm.so")
    assert not any(j.has_hotspot_usdt for j in jdks)


def test_java_home_comes_first(tmp_path, monkeypatch):
    fake_jdk(tmp_path, "a-jdk-21", "21.0.1")
    preferred = fake_jdk(tmp_path / "elsewhere", "jdk-11", "11.0.2")
    monkeypatch.setenv("JAVA_HOME", str(preferred))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    assert [j.major for j in find_jdks(tmp_path)] == [11, 21]


def test_inspect_jdk_without_libjvm_is_none(tmp_path):
    assert inspect_jdk(tmp_path) is None
