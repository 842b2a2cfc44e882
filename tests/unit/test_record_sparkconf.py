"""Spark configuration for recording: our settings never override the user's."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from profiler.record.command import (
    CommandKind,
    command_kind,
    command_label,
    split_submit_args,
)
from profiler.record.javaprops import (
    append_java_options,
    join_java_options,
    parse_properties,
    split_java_options,
)
from profiler.record.sparkconf import (
    JVM_FLAGS,
    plan_spark_launch,
    submit_confs,
    submit_opts_properties,
    worker_interpreter_notice,
)

EVENTLOG = Path("/runs/r1/eventlog")
FLAGS = " ".join(JVM_FLAGS)


def submit_opts(plan_env: dict[str, str]) -> list[str]:
    return split_java_options(plan_env["SPARK_SUBMIT_OPTS"])


def test_properties_file_syntax() -> None:
    text = (
        "# comment\n"
        "! another\n"
        "spark.master   local[2]\n"
        "spark.eventLog.dir=file:/var/log/spark\n"
        "spark.executor.extraJavaOptions : -Da=1 \\\n"
        "    -Db=2\n"
        "spark.key\\ with\\ spaces  v\\u0041\\tz\n"
        "   \n"
        "spark.empty\n"
    )
    assert parse_properties(text) == {
        "spark.master": "local[2]",
        "spark.eventLog.dir": "file:/var/log/spark",
        "spark.executor.extraJavaOptions": "-Da=1 -Db=2",
        "spark.key with spaces": "vA\tz",
        "spark.empty": "",
    }


@pytest.mark.parametrize(
    "options",
    [["-Da=1"], ["-Dx=a b", "-Dq='\"", "back\\slash", ""], ["-XX:+PreserveFramePointer"]],
)
def test_java_option_quoting_round_trips(options: list[str]) -> None:
    assert split_java_options(join_java_options(options)) == options


def test_split_java_options_like_spark_launcher() -> None:
    assert split_java_options(" -Da='x y'  -Db=\"p q\" c\\ d ") == ["-Da=x y", "-Db=p q", "c d"]


def test_append_java_options_keeps_user_value_and_order() -> None:
    assert append_java_options(None, ("-X1", "-X2")) == "-X1 -X2"
    assert append_java_options("-Dq='a b' -X2", ("-X1", "-X2")) == "-Dq='a b' -X2 -X1"


def test_command_kinds_and_labels() -> None:
    assert command_kind(["/opt/spark/bin/spark-submit", "app.py"]) is CommandKind.SPARK_SUBMIT
    assert command_kind(["pyspark"]) is CommandKind.PYSPARK_SHELL
    assert command_kind(["python3.11", "app.py"]) is CommandKind.PYTHON
    assert command_kind(["./run.sh"]) is CommandKind.OTHER
    assert command_label(["spark-submit", "--master", "local[2]", "--conf", "a=b",
                          "--verbose", "jobs/etl.py", "--date", "x"]) == "etl"
    assert command_label(["spark-submit", "--class", "Main", "target/app.jar"]) == "app"
    assert command_label(["/usr/bin/python3", "-u", "-X", "dev", "/home/u/wordcount.py"]) \
        == "wordcount"
    assert command_label(["python", "-m", "mypkg.job"]) == "mypkg.job"
    assert command_label(["python", "-c", "print(1)"]) == "python"
    assert command_label(["./scripts/nightly.sh", "a"]) == "nightly"


def test_split_submit_args_stops_at_the_application() -> None:
    split = split_submit_args(["--master", "local", "--supervise", "--conf=a=b", "app.py",
                               "--conf", "mine"])
    assert split.options == ("--master", "local", "--supervise", "--conf=a=b")
    assert split.application == ("app.py", "--conf", "mine")


def test_submit_confs_and_submit_opts() -> None:
    confs = submit_confs(["--conf", "spark.a=1", "-c", "spark.b=x=y", "--conf=spark.c=3",
                          "--driver-java-options", "-Dd=4"])
    assert confs == {"spark.a": "1", "spark.b": "x=y", "spark.c": "3",
                     "spark.driver.extraJavaOptions": "-Dd=4"}
    assert submit_opts_properties("-Xmx1g -Dspark.eventLog.dir=/x -Dother=1") == {
        "spark.eventLog.dir": "/x"}


def test_python_app_gets_lowest_precedence_settings_only() -> None:
    env = {"PATH": "/usr/bin", "PYSPARK_PYTHON": "/venv/bin/python"}
    plan = plan_spark_launch(["python", "app.py"], env, EVENTLOG, {})
    assert plan.argv == ("python", "app.py")
    assert "PYSPARK_SUBMIT_ARGS" not in plan.env
    opts = submit_opts(plan.env)
    assert opts[:2] == ["-Dspark.eventLog.enabled=true", f"-Dspark.eventLog.dir={EVENTLOG}"]
    for flag in JVM_FLAGS:
        assert flag in opts
    assert f"-Dspark.executor.extraJavaOptions={FLAGS}" in opts
    assert plan.user_eventlog_dir is None
    assert plan.notices == ()


def test_user_submit_opts_come_after_ours_so_they_win() -> None:
    env = {"SPARK_SUBMIT_OPTS": "-Dspark.eventLog.dir=/mine -XX:-PreserveFramePointer"}
    plan = plan_spark_launch(["python", "app.py"], env, EVENTLOG, {})
    opts = submit_opts(plan.env)
    assert opts.index("-Dspark.eventLog.dir=/mine") > opts.index(
        f"-Dspark.eventLog.dir={EVENTLOG}")
    assert opts.index("-XX:-PreserveFramePointer") > opts.index("-XX:+PreserveFramePointer")
    assert plan.user_eventlog_dir == "/mine"
    assert any("PYSPARK_PYTHON" in notice for notice in plan.notices)


def test_spark_submit_keeps_user_event_log_dir_and_merges_executor_options() -> None:
    argv = ["spark-submit", "--master", "local[2]", "--conf",
            "spark.executor.extraJavaOptions=-Dmine=1", "--conf", "spark.eventLog.dir=/logs",
            "app.py", "--conf", "app-arg=1"]
    plan = plan_spark_launch(argv, {}, EVENTLOG, {})
    assert plan.argv == ("spark-submit", "--master", "local[2]", "--conf",
                         f"spark.executor.extraJavaOptions=-Dmine=1 {FLAGS}", "--conf",
                         "spark.eventLog.dir=/logs", "app.py", "--conf", "app-arg=1")
    assert plan.user_eventlog_dir == "/logs"


def test_executor_options_from_defaults_are_restated_above_the_defaults() -> None:
    defaults = {"spark.executor.extraJavaOptions": "-Dfromdefaults=1",
                "spark.eventLog.enabled": "false"}
    plan = plan_spark_launch(["spark-submit", "app.py"], {}, EVENTLOG, defaults)
    assert plan.argv == ("spark-submit", "--conf",
                         f"spark.executor.extraJavaOptions=-Dfromdefaults=1 {FLAGS}", "app.py")
    assert plan.eventlog_disabled_by_user
    assert any("disabled" in notice for notice in plan.notices)


def test_python_app_with_defaults_gets_pyspark_submit_args_ending_in_pyspark_shell() -> None:
    defaults = {"spark.executor.extraJavaOptions": "-Dd=1"}
    env = {"PYSPARK_SUBMIT_ARGS": "--master local[3] pyspark-shell"}
    plan = plan_spark_launch(["python3", "app.py"], env, EVENTLOG, defaults)
    args = shlex.split(plan.env["PYSPARK_SUBMIT_ARGS"])
    assert args == ["--conf", f"spark.executor.extraJavaOptions=-Dd=1 {FLAGS}", "--master",
                    "local[3]", "pyspark-shell"]


def test_user_pyspark_submit_args_conf_is_rewritten_in_place() -> None:
    env = {"PYSPARK_SUBMIT_ARGS":
           "--conf 'spark.executor.extraJavaOptions=-Da=1 -Db=2' --conf spark.x=1 pyspark-shell"}
    plan = plan_spark_launch(["./job.sh"], env, EVENTLOG, {})
    args = shlex.split(plan.env["PYSPARK_SUBMIT_ARGS"])
    assert args == ["--conf", f"spark.executor.extraJavaOptions=-Da=1 -Db=2 {FLAGS}",
                    "--conf", "spark.x=1", "pyspark-shell"]


def test_run_directory_with_spaces_survives_the_launcher_split() -> None:
    target = Path("/home/u/my runs/r 1/eventlog")
    plan = plan_spark_launch(["python", "app.py"], {}, target, {})
    assert f"-Dspark.eventLog.dir={target}" in submit_opts(plan.env)


def test_the_pyspark_python_notice_reports_what_the_workers_ran() -> None:
    ran = worker_interpreter_notice(["/venv/bin/python", None, "/venv/bin/python"])
    assert ran.endswith("they ran /venv/bin/python")
    assert "no Python worker ran" in worker_interpreter_notice([])
    assert "not seen" in worker_interpreter_notice([None])
