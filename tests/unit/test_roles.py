"""Role classification of Spark processes and threads (pure, from command lines)."""

from __future__ import annotations

import pytest

from profiler.roles import (
    DRIVER_JVM,
    EXECUTOR_JVM,
    OTHER,
    PYSPARK_DAEMON,
    PYTHON_DRIVER,
    PYTHON_WORKER,
    ProcessRole,
    classify_process,
    classify_thread,
    role_of_parent,
)

JAVA = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
DRIVER_CMDLINE = [
    JAVA, "-cp", "/spark/conf/:/spark/jars/*", "-Xmx1g", "-XX:+PreserveFramePointer",
    "org.apache.spark.deploy.SparkSubmit", "--conf", "spark.eventLog.enabled=true",
    "pyspark-shell",
]
EXECUTOR_CMDLINE = [
    JAVA, "-cp", "/spark/jars/*", "-Xmx1024M", "-Dspark.driver.port=40000",
    "org.apache.spark.executor.CoarseGrainedExecutorBackend",
    "--driver-url", "spark://CoarseGrainedScheduler@host:40000", "--executor-id", "3",
    "--hostname", "host", "--cores", "2", "--app-id", "app-20261121122800-0001",
    "--resourceProfileId", "0",
]
# spark-class runs the launcher with SparkSubmit as an argument: not the driver.
LAUNCHER_CMDLINE = [
    JAVA, "-Xmx128m", "-cp", "/spark/jars/*", "org.apache.spark.launcher.Main",
    "org.apache.spark.deploy.SparkSubmit", "app.py",
]
DAEMON_CMDLINE = ["/work/main/.venv/bin/python", "-m", "pyspark.daemon"]


def test_driver_jvm() -> None:
    assert classify_process(DRIVER_CMDLINE, "java", "other") == ProcessRole(DRIVER_JVM)


def test_a_clone_of_a_jvm_is_not_another_jvm() -> None:
    assert classify_process(DRIVER_CMDLINE, "java", DRIVER_JVM).role == OTHER
    assert classify_process(EXECUTOR_CMDLINE, "java", EXECUTOR_JVM).role == OTHER


def test_executor_jvm_carries_executor_and_app_id() -> None:
    role = classify_process(EXECUTOR_CMDLINE, "java", None)
    assert role == ProcessRole(EXECUTOR_JVM, "3", "app-20261121122800-0001")


def test_yarn_executor_backend_is_an_executor() -> None:
    cmdline = [*EXECUTOR_CMDLINE]
    cmdline[5] = "org.apache.spark.executor.YarnCoarseGrainedExecutorBackend"
    assert classify_process(cmdline, "java", None).role == EXECUTOR_JVM


def test_launcher_and_scripts_mentioning_spark_submit_are_other() -> None:
    assert classify_process(LAUNCHER_CMDLINE, "java", "other").role == OTHER
    bash = ["bash", "/spark/bin/spark-class", "org.apache.spark.deploy.SparkSubmit", "app.py"]
    assert classify_process(bash, "bash", None).role == OTHER


def test_pyspark_daemon_and_its_forked_workers() -> None:
    assert classify_process(DAEMON_CMDLINE, "python", DRIVER_JVM).role == PYSPARK_DAEMON
    # A worker is forked without exec: same cmdline, the parent's role decides.
    assert classify_process(DAEMON_CMDLINE, "python", PYSPARK_DAEMON).role == PYTHON_WORKER


def test_worker_without_daemon() -> None:
    cmdline = ["python3", "-m", "pyspark.worker"]
    assert classify_process(cmdline, "python3", EXECUTOR_JVM).role == PYTHON_WORKER


def test_python_started_by_driver_jvm_is_the_python_driver() -> None:
    cmdline = ["/usr/bin/python3", "/home/u/app.py", "--rows", "10"]
    assert classify_process(cmdline, "python3", DRIVER_JVM).role == PYTHON_DRIVER


def test_python_app_becomes_driver_once_it_starts_the_driver_jvm() -> None:
    cmdline = ["/usr/bin/python3.11", "app.py"]
    first = classify_process(cmdline, "python3.11", None)
    assert first.role == OTHER
    assert role_of_parent(first.role, cmdline, "python3.11", DRIVER_JVM) == PYTHON_DRIVER
    # A shell that starts the driver JVM stays "other".
    assert role_of_parent(OTHER, ["bash", "run.sh"], "bash", DRIVER_JVM) == OTHER
    assert role_of_parent(OTHER, cmdline, "python3.11", PYSPARK_DAEMON) == OTHER


def test_unrelated_processes_are_other() -> None:
    assert classify_process(["ls", "-l"], "ls", DRIVER_JVM).role == OTHER
    assert classify_process(["python3", "-c", "print(1)"], "python3", None).role == OTHER
    assert classify_process([], "kworker/0:1", None).role == OTHER


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Executor task launch worker for task 0.0 in stage 1.0 (TID 4)", "task-runner"),
        ("Executor task l", "task-runner"),  # 15-byte comm
        ("Executor task idle worker-3", "task-runner"),  # Spark 4's idle task pool
        ("Executor task i", "task-runner"),
        ("Executor task", "other"),  # no pool name, not a cut comm
        ("Worker Monitor for /usr/bin/python3", "other"),
        ("shuffle-client-4-1", "shuffle"),
        ("shuffle-server-5-1", "shuffle"),
        ("block-manager-storage-async-thread-pool-0", "shuffle"),
        ("dispatcher-event-loop-1", "rpc"),
        ("rpc-server-3-1", "rpc"),
        ("GC Thread#0", "gc"),
        ("G1 Conc#0", "gc"),
        ("VM Thread", "gc"),
        ("C2 CompilerThread0", "jit"),
        ("C1 CompilerThre", "jit"),
        ("python3", "python-main"),
        ("main", "other"),
        ("Signal Dispatcher", "other"),
        ("Execut", "other"),  # a short name is not a truncated comm
    ],
)
def test_thread_roles(name: str, role: str) -> None:
    assert classify_thread(name) == role
