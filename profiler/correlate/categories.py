"""The categories task time is broken into: stable identifiers (JSON keys) and labels."""

from __future__ import annotations

CPU_JVM, CPU_PYTHON, CPU_KERNEL = "cpu_jvm", "cpu_python", "cpu_kernel"
FILE_IO, JNI, GC, FUTEX, OFFCPU_OTHER = "file_io", "jni", "gc", "futex", "offcpu_other"
UNEXPLAINED = "unexplained"

# network.peer_class -> category
PEER_CATEGORIES: dict[str, str] = {
    "py4j": "net_py4j",
    "python-worker": "net_python_worker",
    "shuffle": "net_shuffle",
    "driver-rpc": "net_driver_rpc",
    "external": "net_external",
    "unknown": "net_unknown",
}
NETWORK = tuple(PEER_CATEGORIES.values())
CPU = (CPU_JVM, CPU_PYTHON, CPU_KERNEL)
# Wall time inside calls, measured per call: these claim their nanoseconds first.
CALLS = (*NETWORK, FILE_IO, FUTEX)

# Report order; "unexplained" is what is left of task time.
CATEGORIES: tuple[str, ...] = (*CPU, *NETWORK, FILE_IO, JNI, GC, FUTEX, OFFCPU_OTHER)
ALL_COLUMNS: tuple[str, ...] = (*CATEGORIES, UNEXPLAINED)

LABELS: dict[str, str] = {
    CPU_JVM: "on-CPU JVM",
    CPU_PYTHON: "on-CPU Python",
    CPU_KERNEL: "on-CPU kernel",
    "net_py4j": "network: Py4J bridge",
    "net_python_worker": "network: Python worker bridge",
    "net_shuffle": "network: shuffle",
    "net_driver_rpc": "network: driver RPC",
    "net_external": "network: external",
    "net_unknown": "network: unknown peer",
    FILE_IO: "file I/O",
    JNI: "JNI",
    GC: "GC pauses",
    FUTEX: "lock/futex waits",
    OFFCPU_OTHER: "other off-CPU",
    UNEXPLAINED: "unexplained",
}

# How a finding phrases the time: "stage 3: 41% of task time <phrase> (1.2 s)".
PHRASES: dict[str, str] = {
    CPU_JVM: "on-CPU in the JVM",
    CPU_PYTHON: "on-CPU in Python",
    CPU_KERNEL: "on-CPU in the kernel",
    "net_py4j": "on the Py4J bridge socket",
    "net_python_worker": "waiting on the Python worker socket",
    "net_shuffle": "in shuffle network calls",
    "net_driver_rpc": "in driver RPC calls",
    "net_external": "in network calls to external hosts",
    "net_unknown": "in network calls to unknown peers",
    FILE_IO: "in file I/O",
    JNI: "in JNI native methods",
    GC: "stopped by GC pauses",
    FUTEX: "waiting on locks (futex)",
    OFFCPU_OTHER: "off-CPU for other reasons",
    UNEXPLAINED: "not explained by the profile",
}
