"""Kernel-header detection and the fallback links, on fake /lib/modules and /usr/src trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.host.kheaders import (
    debian_arch,
    detect_kernel_headers,
    ensure_kernel_headers,
    find_fallback_headers,
    headers_release,
)

RELEASE = "6.18.44-fc-v669"


def make_headers(src: Path, name: str, uts_release: str | None, common: bool = True) -> Path:
    build = src / name
    (build / "include/generated").mkdir(parents=True)
    if uts_release is not None:
        (build / "include/generated/utsrelease.h").write_text(
            f'#define UTS_RELEASE "{uts_release}"\n'
        )
    if common and name.endswith("-amd64"):
        (src / name.replace("-amd64", "-common")).mkdir()
    return build


def link_build(modules: Path, release: str, target: Path) -> None:
    (modules / release).mkdir(parents=True, exist_ok=True)
    (modules / release / "build").symlink_to(target)


@pytest.fixture
def trees(tmp_path):
    modules, src = tmp_path / "modules", tmp_path / "src"
    modules.mkdir()
    src.mkdir()
    return modules, src


def test_headers_release_prefers_utsrelease_then_kernel_release(tmp_path):
    build = make_headers(tmp_path, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    assert headers_release(build) == "6.1.0-56-amd64"
    bare = tmp_path / "bare"
    (bare / "include/config").mkdir(parents=True)
    (bare / "include/config/kernel.release").write_text("6.9.1\n")
    assert headers_release(bare) == "6.9.1"
    assert headers_release(tmp_path / "nothing") is None


def test_exact_when_build_is_this_release(trees):
    modules, src = trees
    build = make_headers(src, f"linux-headers-{RELEASE}", RELEASE)
    link_build(modules, RELEASE, build)
    found = detect_kernel_headers(RELEASE, modules)
    assert (found.status, found.build_dir) == ("exact", str(build))


def test_fallback_when_build_is_another_release(trees):
    modules, src = trees
    build = make_headers(src, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    link_build(modules, RELEASE, build)
    found = detect_kernel_headers(RELEASE, modules)
    assert found.status == "fallback"
    assert "linux-headers-6.1.0-56-amd64" in found.detail and RELEASE in found.detail


@pytest.mark.parametrize("dangling", [False, True])
def test_missing_when_build_is_absent_or_dangling(trees, dangling):
    modules, src = trees
    if dangling:
        link_build(modules, RELEASE, src / "gone")
    found = detect_kernel_headers(RELEASE, modules)
    assert (found.status, found.build_dir) == ("missing", None)
    assert ("dangling" in found.detail) is dangling


def test_find_fallback_picks_the_newest_in_natural_order(trees):
    _, src = trees
    for name in ("6.1.0-9", "6.1.0-56", "6.9.0-1"):
        make_headers(src, f"linux-headers-{name}-amd64", f"{name}-amd64")
    make_headers(src, "linux-headers-6.10.0-2-amd64", "6.10.0-2-amd64", common=False)
    make_headers(src, "linux-headers-7.0.0-1-arm64", "7.0.0-1-arm64", common=False)
    fallback = find_fallback_headers("amd64", src)
    assert fallback is not None
    assert fallback.build.name == "linux-headers-6.10.0-2-amd64"
    assert fallback.common is None  # that one has no -common sibling
    assert find_fallback_headers("riscv64", src) is None


def test_ensure_links_build_and_source_when_root(trees):
    modules, src = trees
    build = make_headers(src, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    found = ensure_kernel_headers(RELEASE, modules, src, arch="amd64", is_root=True)
    assert found.status == "fallback"
    assert "fallback linux-headers-6.1.0-56-amd64" in found.detail
    assert (modules / RELEASE / "build").resolve() == build.resolve()
    assert (modules / RELEASE / "source").resolve() == (src / "linux-headers-6.1.0-56-common")
    assert detect_kernel_headers(RELEASE, modules).status == "fallback"


def test_ensure_replaces_a_dangling_link(trees):
    modules, src = trees
    link_build(modules, RELEASE, src / "gone")
    make_headers(src, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    assert ensure_kernel_headers(RELEASE, modules, src, "amd64", is_root=True).status == "fallback"


def test_ensure_changes_nothing_without_root(trees):
    modules, src = trees
    make_headers(src, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    found = ensure_kernel_headers(RELEASE, modules, src, arch="amd64", is_root=False)
    assert found.status == "missing" and "root could link" in found.detail
    assert not (modules / RELEASE).exists()


def test_ensure_reports_missing_when_nothing_is_installed(trees):
    modules, src = trees
    found = ensure_kernel_headers(RELEASE, modules, src, arch="amd64", is_root=True)
    assert found.status == "missing" and "no linux-headers-*" in found.detail


def test_ensure_leaves_exact_headers_alone(trees):
    modules, src = trees
    build = make_headers(src, f"linux-headers-{RELEASE}", RELEASE)
    link_build(modules, RELEASE, build)
    make_headers(src, "linux-headers-6.1.0-56-amd64", "6.1.0-56-amd64")
    assert ensure_kernel_headers(RELEASE, modules, src, "amd64", is_root=True).status == "exact"
    assert (modules / RELEASE / "build").resolve() == build.resolve()


@pytest.mark.parametrize(("machine", "arch"), [("x86_64", "amd64"), ("aarch64", "arm64")])
def test_debian_arch(machine, arch):
    assert debian_arch(machine) == arch
