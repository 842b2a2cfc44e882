"""create_run_dir (--force semantics, symlinks, ownership) and default_run_dir_name."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from profiler.errors import OutputError
from profiler.rundir import create_run_dir, default_run_dir_name

NOBODY = (65534, 65534)


def previous_run(path: Path) -> Path:
    path.mkdir()
    (path / "meta.json").write_text(json.dumps({"format_version": 1, "status": "complete"}))
    (path / "gc").mkdir()
    (path / "gc" / "part-00000.parquet").write_bytes(b"old")
    return path


@pytest.mark.parametrize(("label", "now", "expected"), [
    ("app", dt.datetime(2026, 11, 21, 9, 5, 3, tzinfo=dt.UTC),
     "sparkprof-app-20261121T090503Z"),
    ("spark-submit my app.py", dt.datetime(2026, 1, 2, 3, 4, 5),  # naive: taken as UTC
     "sparkprof-spark-submit-my-app.py-20260102T030405Z"),
    ("../../etc/x", dt.datetime(2026, 1, 2, 23, 30, 0,
                                tzinfo=dt.timezone(dt.timedelta(hours=-2))),
     "sparkprof-etc-x-20260103T013000Z"),
    ("", dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "sparkprof-run-20260102T000000Z"),
    ("ü/..", dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "sparkprof-run-20260102T000000Z"),
])
def test_default_name_is_sanitized_and_utc(label: str, now: dt.datetime, expected: str) -> None:
    assert default_run_dir_name(label, now) == expected


def test_default_name_label_is_bounded() -> None:
    name = default_run_dir_name("x" * 500, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert len(name) < 80 and "/" not in name


def test_creates_a_0755_directory_despite_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        created = create_run_dir(tmp_path / "run", force=False, owner=None)
    finally:
        os.umask(old)
    assert created == tmp_path / "run" and created.is_absolute()
    assert (created.stat().st_mode & 0o777) == 0o755


@pytest.mark.root
def test_directory_is_owned_by_the_owner(tmp_path: Path) -> None:
    created = create_run_dir(tmp_path / "run", force=False, owner=NOBODY)
    assert (created.stat().st_uid, created.stat().st_gid) == NOBODY


def test_an_existing_empty_directory_is_used_without_force(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    assert create_run_dir(tmp_path / "run", force=False, owner=None) == tmp_path / "run"


def test_an_existing_directory_needs_force(tmp_path: Path) -> None:
    previous_run(tmp_path / "run")
    with pytest.raises(OutputError) as caught:
        create_run_dir(tmp_path / "run", force=False, owner=None)
    assert caught.value.message == f"{tmp_path / 'run'} exists"
    assert caught.value.remedy == "use --force or another -o"
    assert (tmp_path / "run" / "gc" / "part-00000.parquet").exists()


def test_force_replaces_a_previous_run_directory(tmp_path: Path) -> None:
    previous_run(tmp_path / "run")
    create_run_dir(tmp_path / "run", force=True, owner=None)
    assert list((tmp_path / "run").iterdir()) == []


@pytest.mark.parametrize("kind", ["plain dir", "meta without version", "meta symlink", "file"])
def test_force_never_removes_anything_else(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "run"
    if kind == "file":
        target.write_text("precious")
    else:
        target.mkdir()
        (target / "precious.txt").write_text("precious")
    if kind == "meta without version":
        (target / "meta.json").write_text('{"status": "complete"}')
    if kind == "meta symlink":  # a real run's meta.json elsewhere must not vouch for this dir
        elsewhere = previous_run(tmp_path / "elsewhere")
        (target / "meta.json").symlink_to(elsewhere / "meta.json")
    with pytest.raises(OutputError, match="not a sparkprof run directory"):
        create_run_dir(target, force=True, owner=None)
    assert (target.read_text() if kind == "file" else (target / "precious.txt").read_text()) \
        == "precious"


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("target_kind", ["empty dir", "previous run", "missing"])
def test_a_symlinked_run_dir_is_refused(tmp_path: Path, force: bool, target_kind: str) -> None:
    target = tmp_path / "target"
    if target_kind == "empty dir":
        target.mkdir()
    elif target_kind == "previous run":
        previous_run(target)
    (tmp_path / "run").symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):
        create_run_dir(tmp_path / "run", force=force, owner=None)
    assert (tmp_path / "run").is_symlink()
    if target_kind == "previous run":
        assert (target / "gc" / "part-00000.parquet").read_bytes() == b"old"
    assert target_kind != "missing" or not target.exists()


def test_a_missing_parent_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="parent directory"):
        create_run_dir(tmp_path / "no" / "run", force=False, owner=None)


@pytest.mark.root
def test_an_empty_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    os.chown(tmp_path / "run", 4242, 4242)
    with pytest.raises(OutputError, match="owned by another user"):
        create_run_dir(tmp_path / "run", force=False, owner=NOBODY)
    assert create_run_dir(tmp_path / "run", force=False, owner=(4242, 4242)) == tmp_path / "run"
