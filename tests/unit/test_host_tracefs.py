"""Reading /proc/self/mounts for tracefs and debugfs."""

from __future__ import annotations

from profiler.host.tracefs import debugfs_mounted, mounted_filesystems, tracefs_mounted

MOUNTS = """sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
tracefs /sys/kernel/tracing tracefs rw,relatime 0 0
debugfs /sys/kernel/debug debugfs rw,relatime 0 0
"""


def test_mounted_filesystems_pairs():
    assert mounted_filesystems(MOUNTS + "garbage\n") == [
        ("/sys", "sysfs"),
        ("/sys/kernel/tracing", "tracefs"),
        ("/sys/kernel/debug", "debugfs"),
    ]


def test_tracefs_and_debugfs_from_a_mounts_file(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert tracefs_mounted(mounts) and debugfs_mounted(mounts)
    mounts.write_text(MOUNTS.splitlines()[0] + "\n")
    assert not tracefs_mounted(mounts) and not debugfs_mounted(mounts)
    assert not tracefs_mounted(tmp_path / "absent")
