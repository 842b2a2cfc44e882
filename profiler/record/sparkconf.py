"""How ``record`` configures Spark without clobbering what the user set (pure functions).

Everything we add has the lowest precedence Spark knows: ``-Dspark.*`` system properties in
``SPARK_SUBMIT_OPTS``, which the launcher puts on the command line of every driver JVM that
``spark-submit`` starts (also when PySpark's ``python app.py`` starts it), and which
``spark-defaults.conf``, ``--conf`` and SparkSession builder settings all override. The JVM
flags go into the same variable, so they reach the driver JVM (which hosts the executors in
local mode) without touching ``--driver-java-options`` or ``spark.driver.extraJavaOptions``.

Only ``spark.executor.extraJavaOptions`` needs a merge: when the user set it somewhere we can
see, their value wins over ours, so we restate their value plus our flags at a precedence just
above theirs.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from profiler.record.command import CommandKind, command_kind, split_submit_args
from profiler.record.javaprops import (
    append_java_options,
    join_java_options,
    split_java_options,
)

JVM_FLAGS: tuple[str, ...] = (
    "-XX:+PreserveFramePointer",  # Java stacks walkable by frame pointers
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DumpPerfMapAtExit",  # /tmp/perf-PID.map names JIT frames
)
EVENTLOG_ENABLED = "spark.eventLog.enabled"
EVENTLOG_DIR = "spark.eventLog.dir"
EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
PYSPARK_SHELL = "pyspark-shell"
PYSPARK_PYTHON_NOTICE = "PYSPARK_PYTHON is not set: Python workers run `python3` from PATH"


def worker_interpreter_notice(worker_exes: Sequence[str | None]) -> str:
    """The PYSPARK_PYTHON notice once the run is over: the job may have set the variable
    itself (os.environ or spark.pyspark.python), so say what the workers actually ran."""
    seen = sorted({exe for exe in worker_exes if exe})
    head = "PYSPARK_PYTHON was not set for the command, so the job chose the workers' Python"
    if seen:
        return f"{head}: they ran {', '.join(seen)}"
    if worker_exes:
        return f"{head} (its path was not seen)"
    return f"{head} (`python3` from PATH unless it sets one); no Python worker ran"

# Where a setting came from, lowest precedence first.
SOURCE_SUBMIT_OPTS = "SPARK_SUBMIT_OPTS"
SOURCE_DEFAULTS = "properties file"
SOURCE_PYSPARK_ARGS = "PYSPARK_SUBMIT_ARGS"
SOURCE_COMMAND_LINE = "command line"


@dataclass(frozen=True)
class SparkPlan:
    """The command and environment to run, and what to look for after the run."""

    argv: tuple[str, ...]
    env: dict[str, str]
    user_eventlog_dir: str | None  # a location the user configured (searched after the run)
    eventlog_disabled_by_user: bool
    notices: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Setting:
    value: str
    source: str


def submit_confs(args: Sequence[str]) -> dict[str, str]:
    """``--conf k=v`` / ``-c k=v`` / ``--conf=k=v`` / ``--driver-java-options`` settings."""
    confs: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        value: str | None = None
        if arg in ("--conf", "-c") and index + 1 < len(args):
            value = args[index + 1]
            index += 1
        elif arg.startswith("--conf="):
            value = arg[len("--conf="):]
        elif arg == "--driver-java-options" and index + 1 < len(args):
            confs[DRIVER_JAVA_OPTIONS] = args[index + 1]
            index += 1
        if value is not None and "=" in value:
            key, _, setting = value.partition("=")
            confs[key.strip()] = setting
        index += 1
    return confs


def properties_file_arg(args: Sequence[str]) -> str | None:
    """The last ``--properties-file`` given (it replaces spark-defaults.conf)."""
    found: str | None = None
    for index, arg in enumerate(args):
        if arg == "--properties-file" and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith("--properties-file="):
            found = arg.partition("=")[2]
    return found


def submit_opts_properties(submit_opts: str) -> dict[str, str]:
    """``-Dspark.x=y`` system properties in a SPARK_SUBMIT_OPTS string."""
    found: dict[str, str] = {}
    for option in split_java_options(submit_opts):
        if option.startswith("-Dspark."):
            key, _, value = option[2:].partition("=")
            found[key] = value
    return found


def user_submit_args(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, ...]:
    """The spark-submit options the user's command passes: on its command line for
    spark-submit/pyspark, else through PYSPARK_SUBMIT_ARGS."""
    kind = command_kind(argv)
    if kind in (CommandKind.SPARK_SUBMIT, CommandKind.PYSPARK_SHELL):
        return split_submit_args(argv[1:]).options
    return tuple(shlex.split(env.get("PYSPARK_SUBMIT_ARGS", "")))


def plan_spark_launch(argv: Sequence[str], env: Mapping[str, str], eventlog_dir: Path,
                      defaults: Mapping[str, str]) -> SparkPlan:
    """Configure Spark for recording. ``defaults`` is the user's spark-defaults.conf (or
    --properties-file) content, already parsed."""
    kind = command_kind(argv)
    user_opts = env.get("SPARK_SUBMIT_OPTS", "")
    settings = _visible_settings(argv, env, kind, user_opts, defaults)
    new_argv = list(argv)
    new_env = dict(env)
    executor = settings.get(EXECUTOR_JAVA_OPTIONS)
    merged_executor = append_java_options(executor.value if executor else None, JVM_FLAGS)
    if executor is not None and executor.source != SOURCE_SUBMIT_OPTS:
        _restate_executor_options(new_argv, new_env, kind, executor.source, merged_executor)
    ours_first = [f"-D{EVENTLOG_ENABLED}=true", f"-D{EVENTLOG_DIR}={eventlog_dir}", *JVM_FLAGS]
    pieces = [join_java_options(ours_first), user_opts.strip(),
              join_java_options([f"-D{EXECUTOR_JAVA_OPTIONS}={merged_executor}"])]
    new_env["SPARK_SUBMIT_OPTS"] = " ".join(piece for piece in pieces if piece)
    user_dir = settings.get(EVENTLOG_DIR)
    enabled = settings.get(EVENTLOG_ENABLED)
    disabled = False
    notices: list[str] = []
    if enabled is not None and enabled.value.strip().lower() == "false":
        disabled = True
        notices.append(f"the Spark event log is disabled in your {enabled.source} "
                       "(spark.eventLog.enabled=false): no stage/task correlation")
    if not env.get("PYSPARK_PYTHON"):
        notices.append(PYSPARK_PYTHON_NOTICE)
    return SparkPlan(tuple(new_argv), new_env, user_dir.value if user_dir else None, disabled,
                     tuple(notices))


def _visible_settings(argv: Sequence[str], env: Mapping[str, str], kind: CommandKind,
                      user_opts: str, defaults: Mapping[str, str]) -> dict[str, _Setting]:
    """The user's settings we can see, each from its highest-precedence source."""
    layers: list[tuple[str, Mapping[str, str]]] = [
        (SOURCE_SUBMIT_OPTS, submit_opts_properties(user_opts)),
        (SOURCE_DEFAULTS, defaults),
    ]
    if kind in (CommandKind.SPARK_SUBMIT, CommandKind.PYSPARK_SHELL):
        layers.append((SOURCE_COMMAND_LINE, submit_confs(split_submit_args(argv[1:]).options)))
    else:
        layers.append((SOURCE_PYSPARK_ARGS, submit_confs(user_submit_args(argv, env))))
    settings: dict[str, _Setting] = {}
    for source, values in layers:
        for key in (EVENTLOG_ENABLED, EVENTLOG_DIR, EXECUTOR_JAVA_OPTIONS):
            if key in values:
                settings[key] = _Setting(values[key], source)
    return settings


def _restate_executor_options(argv: list[str], env: dict[str, str], kind: CommandKind,
                              source: str, merged: str) -> None:
    conf = f"{EXECUTOR_JAVA_OPTIONS}={merged}"
    if kind in (CommandKind.SPARK_SUBMIT, CommandKind.PYSPARK_SHELL):
        options = list(split_submit_args(argv[1:]).options)
        if source == SOURCE_COMMAND_LINE:
            _replace_conf(options, EXECUTOR_JAVA_OPTIONS, conf)
        else:
            options[:0] = ["--conf", conf]  # above the properties file, below the user's --conf
        application = split_submit_args(argv[1:]).application
        argv[1:] = [*options, *application]
        return
    args = shlex.split(env.get("PYSPARK_SUBMIT_ARGS", ""))
    if source == SOURCE_PYSPARK_ARGS:
        _replace_conf(args, EXECUTOR_JAVA_OPTIONS, conf)
    else:
        args[:0] = ["--conf", conf]
    if not args or args[-1] != PYSPARK_SHELL:
        args.append(PYSPARK_SHELL)
    env["PYSPARK_SUBMIT_ARGS"] = shlex.join(args)


def _replace_conf(args: list[str], key: str, conf: str) -> None:
    """Rewrite the last ``--conf key=...`` in place (the one Spark uses)."""
    for index in range(len(args) - 1, -1, -1):
        arg = args[index]
        if arg in ("--conf", "-c") and index + 1 < len(args) and \
                args[index + 1].partition("=")[0].strip() == key:
            args[index + 1] = conf
            return
        if arg.startswith("--conf=") and arg[len("--conf="):].partition("=")[0].strip() == key:
            args[index] = f"--conf={conf}"
            return
