"""What kind of command the user asked to record, and a short label for the run directory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class CommandKind(Enum):
    SPARK_SUBMIT = "spark-submit"  # spark-submit [options] app.py|app.jar [app args]
    PYSPARK_SHELL = "pyspark"  # bin/pyspark [spark-submit options]
    PYTHON = "python"  # python [options] app.py|-m module|-c code
    OTHER = "other"  # a shell script or anything else that may start Spark


# spark-submit options that take a value (SparkSubmitOptionParser); the first argument that
# is neither an option nor an option's value is the application (and what follows is its own).
SUBMIT_OPTIONS_WITH_VALUE = frozenset({
    "--master", "--remote", "--deploy-mode", "--class", "--name", "--jars", "--packages",
    "--exclude-packages", "--repositories", "--py-files", "--files", "--archives",
    "--conf", "-c", "--properties-file", "--driver-memory", "--driver-java-options",
    "--driver-library-path", "--driver-class-path", "--executor-memory", "--proxy-user",
    "--driver-cores", "--total-executor-cores", "--executor-cores", "--num-executors",
    "--queue", "--principal", "--keytab", "--kill", "--status", "--extra-properties-file",
    "--driver-default-class-path",
})


@dataclass(frozen=True)
class SubmitArgs:
    """A spark-submit argument list split into Spark's options and the application part."""

    options: tuple[str, ...]
    application: tuple[str, ...]  # the primary resource and its own arguments


def command_kind(argv: Sequence[str]) -> CommandKind:
    name = os.path.basename(argv[0]) if argv else ""
    if name in ("spark-submit", "spark-submit.sh"):
        return CommandKind.SPARK_SUBMIT
    if name in ("pyspark", "pyspark.sh"):
        return CommandKind.PYSPARK_SHELL
    if name.startswith(("python", "pypy")):
        return CommandKind.PYTHON
    return CommandKind.OTHER


def split_submit_args(args: Sequence[str]) -> SubmitArgs:
    """Split the arguments after ``spark-submit`` at the primary resource."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in SUBMIT_OPTIONS_WITH_VALUE:
            index += 2
        elif arg.startswith("-") and arg != "-":
            index += 1  # a flag (--verbose, --supervise) or --opt=value
        else:
            break
    return SubmitArgs(tuple(args[:index]), tuple(args[index:]))


def python_script(argv: Sequence[str]) -> str | None:
    """The script or ``-m`` module a ``python ...`` command runs (None for -c and the REPL)."""
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg == "-m":
            return argv[index + 1] if index + 1 < len(argv) else None
        if arg.startswith("-m") and len(arg) > 2:
            return arg[2:]
        if arg == "-c" or (arg.startswith("-c") and len(arg) > 2):
            return None
        if arg in ("-W", "-X", "--check-hash-based-pycs"):
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        return arg
    return None


def command_label(argv: Sequence[str]) -> str:
    """A short name for the run: the app's script/jar name, else the command's basename."""
    if not argv:
        return "run"
    kind = command_kind(argv)
    target: str | None = None
    if kind is CommandKind.SPARK_SUBMIT:
        application = split_submit_args(argv[1:]).application
        target = application[0] if application else None
    elif kind is CommandKind.PYTHON:
        target = python_script(argv)
    if target is None:
        target = argv[0]
    return _stem(target)


def _stem(path: str) -> str:
    name = os.path.basename(path.rstrip("/")) or path
    for suffix in (".py", ".jar", ".sh", ".R"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
