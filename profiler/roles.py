"""Pure classification of Spark processes and threads into roles.

Used by the capture side (to label processes and threads as they appear) and by ``record``.
Nothing here touches /proc: callers pass the command line, comm and the parent's role.

Process roles: driver-jvm, executor-jvm, python-driver, pyspark-daemon, python-worker, other.
Thread roles: task-runner, shuffle, rpc, gc, jit, python-main, other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

DRIVER_JVM = "driver-jvm"
EXECUTOR_JVM = "executor-jvm"
PYTHON_DRIVER = "python-driver"
PYSPARK_DAEMON = "pyspark-daemon"
PYTHON_WORKER = "python-worker"
OTHER = "other"

PROCESS_ROLES: tuple[str, ...] = (
    DRIVER_JVM,
    EXECUTOR_JVM,
    PYTHON_DRIVER,
    PYSPARK_DAEMON,
    PYTHON_WORKER,
    OTHER,
)
THREAD_ROLES: tuple[str, ...] = (
    "task-runner", "shuffle", "rpc", "gc", "jit", "python-main", "other",
)

_SPARK_SUBMIT_CLASS = "org.apache.spark.deploy.SparkSubmit"
_EXECUTOR_BACKEND_SUFFIX = "CoarseGrainedExecutorBackend"
# JVM launcher options that take their value as the next argument (everything else that
# starts with "-" is a single token), so the main class is found after them.
_JAVA_OPTIONS_WITH_VALUE = frozenset(
    {"-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules",
     "--upgrade-module-path", "--limit-modules", "--add-reads", "--add-exports",
     "--add-opens", "--patch-module", "-d", "--describe-module"}
)
# Linux truncates a thread's comm to 15 bytes; names of that length may be cut-off prefixes.
_COMM_LENGTH = 15


@dataclass(frozen=True)
class ProcessRole:
    role: str
    executor_id: str | None = None
    app_id: str | None = None


def classify_process(cmdline: Sequence[str], comm: str, parent_role: str | None) -> ProcessRole:
    """Role of one process from its command line, comm and its parent's role.

    A process forked without exec (Python workers forked by pyspark.daemon) shares its
    parent's command line, so the parent's role decides for those.
    """
    if _is_java(cmdline, comm):
        if parent_role in (DRIVER_JVM, EXECUTOR_JVM):
            # A JVM clones itself to spawn helpers (jspawnhelper, chmod, rm): until the exec,
            # the clone shows the parent's command line, but it is not a second JVM.
            return ProcessRole(OTHER)
        return _classify_java(cmdline)
    if _is_python(cmdline, comm):
        return ProcessRole(_classify_python(cmdline, parent_role))
    return ProcessRole(OTHER)


def role_of_parent(parent_role: str, parent_cmdline: Sequence[str], parent_comm: str,
                   child_role: str) -> str:
    """The parent's role once a child is known: a Python that started the driver JVM is the
    Python driver (``python app.py`` building its own SparkSession)."""
    if (child_role == DRIVER_JVM and parent_role == OTHER
            and _is_python(parent_cmdline, parent_comm)):
        return PYTHON_DRIVER
    return parent_role


def classify_thread(name: str) -> str:
    """Role of a thread from its name (full Java name or a 15-byte comm)."""
    for role, prefixes in _THREAD_PREFIXES:
        if any(_name_matches(name, prefix) for prefix in prefixes):
            return role
    if "-netty-" in name:
        return "shuffle"
    if _looks_like_python_name(name):
        return "python-main"
    return OTHER


_THREAD_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Spark's task pool: "launch worker" while running a task, "idle worker" (Spark 4) between
    # tasks; their 15-byte comms are "Executor task l" / "Executor task i".
    ("task-runner", ("Executor task launch worker", "Executor task idle worker")),
    ("shuffle", ("shuffle-", "block-manager", "BlockManager", "files-client-",
                 "files-server-")),
    ("rpc", ("dispatcher-", "rpc-", "netty-rpc-")),
    ("gc", ("GC Thread", "G1 ", "VM Thread", "ZGC", "Shenandoah", "VM Periodic")),
    ("jit", ("C1 CompilerThread", "C2 CompilerThread", "JVMCI CompilerThread")),
)


def _name_matches(name: str, prefix: str) -> bool:
    if name.startswith(prefix):
        return True
    # A truncated comm such as "Executor task l" still identifies its prefix.
    return len(name) == _COMM_LENGTH and prefix.startswith(name)


def _looks_like_python_name(name: str) -> bool:
    return name.startswith(("python", "pypy"))


def _basename(cmdline: Sequence[str]) -> str:
    return os.path.basename(cmdline[0]) if cmdline else ""


def _is_java(cmdline: Sequence[str], comm: str) -> bool:
    return _basename(cmdline) == "java" or (not cmdline and comm == "java")


def _is_python(cmdline: Sequence[str], comm: str) -> bool:
    name = _basename(cmdline) or comm
    return _looks_like_python_name(name)


def _java_main_class(cmdline: Sequence[str]) -> str | None:
    args = list(cmdline[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-jar", "-m", "--module"):
            return args[index + 1] if index + 1 < len(args) else None
        if arg in _JAVA_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        return arg
    return None


def _classify_java(cmdline: Sequence[str]) -> ProcessRole:
    main_class = _java_main_class(cmdline)
    if main_class == _SPARK_SUBMIT_CLASS:
        return ProcessRole(DRIVER_JVM)
    if main_class is not None and main_class.endswith(_EXECUTOR_BACKEND_SUFFIX):
        return ProcessRole(EXECUTOR_JVM, executor_id=_option_value(cmdline, "--executor-id"),
                           app_id=_option_value(cmdline, "--app-id"))
    return ProcessRole(OTHER)


def _option_value(cmdline: Sequence[str], option: str) -> str | None:
    for index, arg in enumerate(cmdline):
        if arg == option and index + 1 < len(cmdline):
            return cmdline[index + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1:]
    return None


def _python_module(cmdline: Sequence[str]) -> str | None:
    """The module of ``python [opts] -m MODULE`` (None for scripts and -c)."""
    for index, arg in enumerate(cmdline[1:], start=1):
        if arg == "-m":
            return cmdline[index + 1] if index + 1 < len(cmdline) else None
        if arg.startswith("-m") and len(arg) > 2:
            return arg[2:]
        if arg == "-c" or not arg.startswith("-"):
            return None
    return None


def _classify_python(cmdline: Sequence[str], parent_role: str | None) -> str:
    if parent_role in (PYSPARK_DAEMON, PYTHON_WORKER):
        # Forked by the daemon (same cmdline) or by a worker without exec.
        return PYTHON_WORKER
    module = _python_module(cmdline)
    if module == "pyspark.daemon":
        return PYSPARK_DAEMON
    if module == "pyspark.worker":
        return PYTHON_WORKER
    if parent_role in (DRIVER_JVM, PYTHON_DRIVER):
        # spark-submit app.py: the driver JVM starts the Python driver (PythonRunner);
        # a Python started by the Python driver (multiprocessing) stays in that family.
        return PYTHON_DRIVER
    return OTHER
