"""Who invoked ``sudo sparkprof record``: the user the command runs as and who owns DIR."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from profiler.errors import CommandNotFoundError, UsageError

# sudo's own variables: the command runs as the user, not "under sudo".
_SUDO_VARIABLES = ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND", "SUDO_HOME", "SUDO_PS1")


@dataclass(frozen=True)
class InvokingUser:
    uid: int
    gid: int
    name: str | None
    home: str | None
    groups: tuple[int, ...]  # supplementary groups, resolved before any fork

    @property
    def owner(self) -> tuple[int, int]:
        return (self.uid, self.gid)

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def invoking_user(env: Mapping[str, str]) -> InvokingUser:
    """The user behind sudo (SUDO_UID/SUDO_GID/SUDO_USER), or this process's own user."""
    raw_uid = env.get("SUDO_UID")
    if raw_uid is None or os.geteuid() != 0:
        return _user_from_uid(os.getuid(), os.getgid(), None)
    try:
        uid = int(raw_uid)
        gid = int(env.get("SUDO_GID", "")) if env.get("SUDO_GID") else None
    except ValueError as error:
        raise UsageError(f"SUDO_UID/SUDO_GID are not numbers ({raw_uid!r})",
                         "run sparkprof through sudo, or unset SUDO_UID") from error
    return _user_from_uid(uid, gid, env.get("SUDO_USER"))


def _user_from_uid(uid: int, gid: int | None, name: str | None) -> InvokingUser:
    entry: pwd.struct_passwd | None
    try:
        entry = pwd.getpwnam(name) if name else pwd.getpwuid(uid)
        if entry.pw_uid != uid:
            entry = pwd.getpwuid(uid)
    except KeyError:
        entry = None
    if gid is None:
        gid = entry.pw_gid if entry else uid
    user_name = entry.pw_name if entry else name
    groups: tuple[int, ...] = (gid,)
    if user_name is not None:
        try:
            groups = tuple(dict.fromkeys(os.getgrouplist(user_name, gid)))
        except OSError:
            groups = (gid,)
    return InvokingUser(uid, gid, user_name, entry.pw_dir if entry else None, groups)


def command_environment(env: Mapping[str, str], user: InvokingUser) -> dict[str, str]:
    """The environment sudo passed, with the user's HOME/USER/LOGNAME and no SUDO_*."""
    result = {key: value for key, value in env.items() if key not in _SUDO_VARIABLES}
    if "SUDO_UID" in env:  # switching user: sudo may have kept the caller's HOME
        if user.home:
            result["HOME"] = user.home
        if user.name:
            result["USER"] = user.name
            result["LOGNAME"] = user.name
    return result


def resolve_command(name: str, env: Mapping[str, str]) -> str:
    """The executable ``name`` resolves to on the user's PATH; CommandNotFoundError if none."""
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise CommandNotFoundError(f"command not found: {name}",
                                   "check the command name and the PATH sudo passes "
                                   "(sudo resets PATH to secure_path; use a full path)")
    return found


def user_can_read(path: Path, user: InvokingUser) -> bool:
    """Whether ``user`` may read ``path`` by its mode bits: root must not read a file for a
    user that the user could not read."""
    try:
        info = path.stat()
    except OSError:
        return False
    if user.is_root:
        return True
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IRUSR)
    if info.st_gid in user.groups:
        return bool(info.st_mode & stat.S_IRGRP)
    return bool(info.st_mode & stat.S_IROTH)
