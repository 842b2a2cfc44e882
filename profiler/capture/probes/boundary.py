"""The JVM/native boundary part of a capture: on-CPU stack sampling and JNI method tracing.

Both live in the session's BPF program (families ``stacks`` and ``jni``) but attach after
loading: the perf event at start, the uprobes as JVMs map libraries. CaptureSession calls
``start`` after loading, ``drain`` at each of its drains, ``process_exited`` for each exit
and ``stop`` after it has stopped tracking processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from profiler import roles
from profiler.capture.options import CaptureOptions, CaptureReport
from profiler.capture.probes.jni.interface import JniInterfaceTracer
from profiler.capture.probes.jni.tracer import JniOptions, JniTracer
from profiler.capture.probes.processes import ProcessInfo
from profiler.capture.probes.sampling import SampleCollector
from profiler.capture.symbols.stacks import StackResolver
from profiler.rundir.writer import RunWriter

_JVM_ROLES = frozenset({roles.DRIVER_JVM, roles.EXECUTOR_JVM})


def is_jvm(info: ProcessInfo) -> bool:
    program = os.path.basename(info.cmdline[0]) if info.cmdline else ""
    return info.role in _JVM_ROLES or program == "java" or info.comm == "java"


class BoundaryCapture:
    def __init__(self, options: CaptureOptions, writer: RunWriter,
                 processes: Callable[[], Iterable[ProcessInfo]]) -> None:
        self._options = options
        self._writer = writer
        self._processes = processes
        self.sampler: SampleCollector | None = None
        self.jni: JniTracer | None = None
        self.jni_iface: JniInterfaceTracer | None = None
        self._failed: dict[str, str] = {}

    def start(self, bpf: Any, lib: Any, families: list[str], stacks: StackResolver) -> None:
        """``stacks``: the capture's one symbolizer (each file's symbols loaded once)."""
        if "stacks" in families:
            sampler = SampleCollector(bpf, lib, self._writer, self._options.sample_hz,
                                      self._is_jvm_pid, stacks)
            try:
                sampler.attach()
                self.sampler = sampler
            except Exception as error:  # BCC raises bare Exceptions
                self._failed["stacks"] = f"perf cpu-clock event: {error}"[:300]
        if "jni" in families:
            options = JniOptions(self._options.jni_include, self._options.jni_exclude,
                                 self._options.jni_calls_per_s)
            self.jni = JniTracer(bpf, lib, self._writer, options, self._live_jvms)
        if "jni_iface" in families:
            self.jni_iface = JniInterfaceTracer(bpf, lib, self._writer, self._live_jvms,
                                                stacks)

    def _is_jvm_pid(self, pid: int) -> bool:
        return any(p.pid == pid and is_jvm(p) for p in self._processes())

    def _live_jvms(self) -> list[int]:
        return [p.pid for p in self._processes() if p.exit_ns is None and is_jvm(p)]

    def drain(self) -> None:
        if self.jni is not None:
            self.jni.scan()
            self.jni.drain()
        if self.jni_iface is not None:
            self.jni_iface.scan()
            self.jni_iface.drain()
        if self.sampler is not None:
            self.sampler.drain()

    def process_exited(self, pid: int) -> None:
        if self.sampler is not None:
            self.sampler.process_exited(pid)

    def process_execed(self, pid: int) -> None:
        if self.sampler is not None:
            self.sampler.forget_image(pid)

    def stop(self, report: CaptureReport) -> None:
        """Final drains; what was captured, skipped and lost goes into ``report``."""
        if self.sampler is not None:
            sampled = self.sampler.stop()
            report.sampling = sampled.as_meta()
            report.self_cost.helper_cpu_ns += int(sampled.helper_cpu_s * 1e9)
            report.notices.extend(sampled.notices)
            report.probes_attached.append(
                f"perf_event:cpu-clock@{self._options.sample_hz}Hz")
        if self.jni is not None:
            jni = self.jni.stop()
            report.jni = jni.as_meta()
            report.probes_attached.extend(f"uprobe:{lib} ({count} native methods)"
                                          for lib, count in jni.libraries.items())
            if jni.detached:
                report.notices.append(f"JNI cost guard detached {len(jni.detached)} busy "
                                      f"method(s): see meta.json jni.detached")
        if self.jni_iface is not None:
            iface = self.jni_iface.stop()
            report.jni_interface = iface.as_meta()
            report.probes_attached.extend(f"usdt:hotspot_jni ({count} sites in {path})"
                                          for path, count in iface.libjvms.items())
        report.probes_failed.update(self._failed)
