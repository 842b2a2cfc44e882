"""RunWriter as root in hostile places: symlinks, ownership, a full or failing disk."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import profiler
from profiler.errors import OutputError
from profiler.rundir import RunWriter, create_run_dir
from tests.conftest import require

NOBODY = (65534, 65534)


def gc_rows(rows: int, start: int = 0) -> dict[str, Any]:
    index = np.arange(start, start + rows)
    return {"pid": index.astype(np.int32), "tid": index.astype(np.int32), "start_ns": index * 10,
            "end_ns": index * 10 + 5, "duration_ns": np.full(rows, 5), "kind": ["gc"] * rows,
            "pool": [None] * rows}


def noisy_gc_rows(rows: int) -> dict[str, Any]:
    """Rows that do not compress: a part of them needs about 50 bytes a row."""
    rng = np.random.default_rng(0)
    columns = gc_rows(rows)
    columns["start_ns"] = rng.integers(0, 2**62, rows)
    columns["pool"] = [rng.bytes(24).hex() for _ in range(rows)]
    return columns


def test_a_symlinked_run_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "run").symlink_to(tmp_path / "target")
    with pytest.raises(OutputError, match="symbolic link"):
        RunWriter(tmp_path / "run")
    assert list((tmp_path / "target").iterdir()) == []


def test_a_symlinked_table_dir_is_refused_and_other_tables_still_written(tmp_path: Path) -> None:
    run_dir = create_run_dir(tmp_path / "run", force=False, owner=None)
    (tmp_path / "elsewhere").mkdir()
    (run_dir / "gc").symlink_to(tmp_path / "elsewhere")
    writer = RunWriter(run_dir)
    writer.append("gc", gc_rows(3))
    writer.append("threads", {"pid": [1], "tid": [1], "name": ["main"], "role": ["other"],
                              "start_ns": [None], "end_ns": [None]})
    with pytest.raises(OutputError, match="symbolic link"):
        writer.flush()
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert len(profiler.load(run_dir).threads) == 1
    with pytest.raises(OutputError):
        writer.close("complete")
    assert profiler.load(run_dir).meta["status"] == "incomplete"


def test_symlinks_planted_at_tmp_and_part_names_are_never_written_through(tmp_path: Path) -> None:
    run_dir = create_run_dir(tmp_path / "run", force=False, owner=None)
    victim = tmp_path / "victim"
    victim.write_text("secret")
    writer = RunWriter(run_dir)
    (run_dir / ".meta.json.tmp").symlink_to(victim)
    (run_dir / "gc").mkdir()
    (run_dir / "gc" / ".part-00000.parquet.tmp").symlink_to(victim)
    (run_dir / "gc" / "part-00001.parquet").symlink_to(victim)
    writer.append("gc", gc_rows(2))
    writer.close("complete")
    assert victim.read_text() == "secret"
    assert not (run_dir / "meta.json").is_symlink()
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "complete"
    assert (run_dir / "gc" / "part-00002.parquet").is_file()  # numbered after what was there


@pytest.mark.root
def test_everything_is_owned_by_the_owner(tmp_path: Path) -> None:
    run_dir = create_run_dir(tmp_path / "run", force=False, owner=NOBODY)
    with RunWriter(run_dir, owner=NOBODY) as writer:
        writer.append("gc", gc_rows(2))
        writer.flush()
        writer.append("gc", gc_rows(2))
    paths = [run_dir, *run_dir.rglob("*")]
    assert len(paths) == 5  # DIR, meta.json, gc/, two parts
    for path in paths:
        assert (path.stat().st_uid, path.stat().st_gid) == NOBODY, path
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path


def test_enospc_is_an_output_error_and_earlier_parts_survive(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    run_dir = create_run_dir(tmp_path / "run", force=False, owner=None)
    writer = RunWriter(run_dir)
    writer.append("gc", gc_rows(3))
    writer.flush()

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)  # what safefs.write_new_file calls
    writer.append("gc", gc_rows(3, start=3))
    with pytest.raises(OutputError) as caught:
        writer.flush()
    assert "No space left on device" in caught.value.message
    assert caught.value.remedy is not None and "free disk space" in caught.value.remedy
    monkeypatch.undo()
    assert sorted(p.name for p in (run_dir / "gc").iterdir()) == ["part-00000.parquet"]
    assert profiler.load(run_dir).gc["pid"].tolist() == [0, 1, 2]
    writer.close("complete")  # the space is back: the kept rows are written now
    loaded = profiler.load(run_dir)
    assert loaded.gc["pid"].tolist() == [0, 1, 2, 3, 4, 5]
    assert loaded.meta["status"] == "complete"


def mount_small_tmpfs(mount_point: Path) -> None:
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                              str(mount_point)], capture_output=True, check=False)
    require(mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")


@pytest.mark.root
def test_a_read_only_file_system(tmp_path: Path) -> None:
    mount_point = tmp_path / "small"
    mount_small_tmpfs(mount_point)
    try:
        run_dir = create_run_dir(mount_point / "run", force=False, owner=None)
        writer = RunWriter(run_dir)
        writer.append("gc", gc_rows(3))
        writer.flush()
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
        writer.append("gc", gc_rows(3))
        with pytest.raises(OutputError) as caught:
            writer.flush()
        assert "Read-only file system" in caught.value.message
        assert caught.value.remedy == "choose a writable output directory with -o"
        with pytest.raises(OutputError):
            writer.close("complete")
        assert profiler.load(run_dir).gc["pid"].tolist() == [0, 1, 2]
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.root
def test_a_really_full_file_system(tmp_path: Path) -> None:
    mount_point = tmp_path / "small"
    mount_small_tmpfs(mount_point)
    try:
        run_dir = create_run_dir(mount_point / "run", force=False, owner=None)
        writer = RunWriter(run_dir)
        writer.append("gc", gc_rows(3))
        writer.flush()
        writer.append("gc", noisy_gc_rows(5000))  # ~250 kB compressed: cannot fit
        with pytest.raises(OutputError, match="No space left on device"):
            writer.flush()
        assert sorted(p.name for p in (run_dir / "gc").iterdir()) == ["part-00000.parquet"]
        with pytest.raises(OutputError):
            writer.close("complete")
        loaded = profiler.load(run_dir)
        assert loaded.gc["pid"].tolist() == [0, 1, 2]
        assert loaded.meta["status"] in ("recording", "incomplete")
        assert loaded.warnings
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
