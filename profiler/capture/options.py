"""What ``record`` asks the capture to do (CaptureOptions) and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSCALL_FAMILIES: frozenset[str] = frozenset({"net", "io", "other"})


def parse_syscall_families(text: str) -> frozenset[str]:
    """``"net,io"`` -> {"net", "io"}; ``"all"`` -> all three; ``""``/``"none"`` -> empty."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    if names <= {"none"}:
        return frozenset()
    if "all" in names:
        return SYSCALL_FAMILIES
    unknown = names - SYSCALL_FAMILIES
    if unknown:
        raise ValueError(f"unknown syscall families: {', '.join(sorted(unknown))}")
    return frozenset(names)


@dataclass(frozen=True)
class CaptureOptions:
    """Probe families and thresholds. ``syscalls`` is a subset of {"net", "io", "other"}
    ("all" is accepted and means all three)."""

    syscalls: frozenset[str] = frozenset({"net", "io"})
    offcpu: bool = True
    offcpu_block_threshold_us: int = 1000  # blocks longer than this are streamed with stacks
    slow_syscall_threshold_us: int = 1000  # calls slower than this are streamed with a stack
    gc: bool = True
    jvm_threads: bool = True
    network_lifecycle: bool = True  # connect/accept/close, inet_sock_set_state, retransmits
    bucket_ms: int = 100
    wakeup_events: int = 64  # perf buffer batching (BCC's default 1 costs 8-9 us/event)
    drain_interval_s: float = 1.0
    offcpu_stacks: bool = True  # user+kernel stack ids when a thread blocks (~3 us each)
    slow_syscall_stacks: bool = True
    java_home: str | None = None  # whose libjvm.so gets the USDT probes (default: found)
    stream_buffer_pages: int = 256  # per-CPU pages of the slow-call / off-CPU perf buffers
    sample: bool = True  # on-CPU stack sampling (perf cpu-clock, bpf/stacks.c)
    sample_hz: int = 49
    jni: bool = True  # uprobes on the native methods of the default/included libraries
    jni_include: tuple[str, ...] = ()  # library basename or symbol / Class.method globs
    jni_exclude: tuple[str, ...] = ()
    jni_calls_per_s: int = 3_000  # a method called more often is detached (cost guard)
    jni_interface: bool = False  # hotspot_jni USDT sites (native code calling the VM)

    def __post_init__(self) -> None:
        families = frozenset(self.syscalls)
        if "all" in families:
            families = SYSCALL_FAMILIES
        unknown = families - SYSCALL_FAMILIES
        if unknown:
            raise ValueError(f"unknown syscall families: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "syscalls", families)
        if self.bucket_ms <= 0 or self.drain_interval_s <= 0 or self.wakeup_events <= 0:
            raise ValueError("bucket_ms, drain_interval_s and wakeup_events must be > 0")
        if self.sample and not 1 <= self.sample_hz <= 10_000:
            raise ValueError("sample_hz must be within 1..10000")

    @property
    def bucket_ns(self) -> int:
        return self.bucket_ms * 1_000_000

    def as_meta(self) -> dict[str, Any]:
        """The options as JSON-ready values for meta.json."""
        return {
            "syscalls": sorted(self.syscalls),
            "offcpu": self.offcpu,
            "offcpu_block_threshold_us": self.offcpu_block_threshold_us,
            "slow_syscall_threshold_us": self.slow_syscall_threshold_us,
            "gc": self.gc,
            "jvm_threads": self.jvm_threads,
            "network_lifecycle": self.network_lifecycle,
            "bucket_ms": self.bucket_ms,
            "wakeup_events": self.wakeup_events,
            "drain_interval_s": self.drain_interval_s,
            "offcpu_stacks": self.offcpu_stacks,
            "slow_syscall_stacks": self.slow_syscall_stacks,
            "java_home": self.java_home,
            "stream_buffer_pages": self.stream_buffer_pages,
            "sample": self.sample,
            "sample_hz": self.sample_hz if self.sample else None,
            "sample_period_ns": round(1e9 / self.sample_hz) if self.sample else None,
            "jni": self.jni,
            "jni_include": list(self.jni_include),
            "jni_exclude": list(self.jni_exclude),
            "jni_calls_per_s": self.jni_calls_per_s,
            "jni_interface": self.jni_interface,
        }


@dataclass
class SelfCost:
    bpf_run_ns: int = 0
    bpf_run_count: int = 0
    collector_cpu_ns: int = 0
    profiled_cpu_ns: int = 0
    # CPU of processes the recorder ran for itself (jcmd asking a JVM for its perf map)
    helper_cpu_ns: int = 0
    # part of collector_cpu_ns spent loading the symbol tables of mapped files and reading
    # processes' maps, shared by sampled, off-CPU and slow-syscall stacks
    symbol_tables_ns: int = 0
    # ns per BPF program: where the kernel-side cost goes (counted for every process of the
    # host that hits the probe, tracked or not)
    bpf_run_by_program: dict[str, int] = field(default_factory=dict)
    bpf_runs_by_program: dict[str, int] = field(default_factory=dict)  # runs, for ns a run

    @property
    def pct(self) -> float | None:
        if self.profiled_cpu_ns <= 0:
            return None
        return (100.0 * (self.bpf_run_ns + self.collector_cpu_ns + self.helper_cpu_ns)
                / self.profiled_cpu_ns)

    def as_meta(self) -> dict[str, Any]:
        return {"bpf_run_ns": self.bpf_run_ns, "bpf_run_count": self.bpf_run_count,
                "collector_cpu_ns": self.collector_cpu_ns, "helper_cpu_ns": self.helper_cpu_ns,
                "profiled_cpu_ns": self.profiled_cpu_ns, "pct": self.pct,
                "symbol_tables_ns": self.symbol_tables_ns,
                "bpf_run_by_program": dict(self.bpf_run_by_program),
                "bpf_runs_by_program": dict(self.bpf_runs_by_program)}


@dataclass
class CaptureReport:
    """What ``CaptureSession.stop()`` returns; the fields map onto meta.json keys
    (probes, lost_events, unmatched, self_cost) via :meth:`as_meta`."""

    probes_attached: list[str] = field(default_factory=list)
    probes_failed: dict[str, str] = field(default_factory=dict)
    lost_events: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)
    compile_s: float = 0.0
    self_cost: SelfCost = field(default_factory=SelfCost)
    events: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    sampling: dict[str, Any] = field(default_factory=dict)  # probes.sampling
    jni: dict[str, Any] = field(default_factory=dict)  # probes.jni.tracer
    jni_interface: dict[str, Any] = field(default_factory=dict)  # probes.jni.interface

    def as_meta(self) -> dict[str, Any]:
        return {
            **({"sampling": dict(self.sampling)} if self.sampling else {}),
            **({"jni": dict(self.jni)} if self.jni else {}),
            **({"jni_interface": dict(self.jni_interface)} if self.jni_interface else {}),
            "probes": {"attached": list(self.probes_attached),
                       "failed": dict(self.probes_failed)},
            "lost_events": dict(self.lost_events),
            "unmatched": dict(self.unmatched),
            "self_cost": self.self_cost.as_meta(),
            "compile_s": round(self.compile_s, 3),
            "events": dict(self.events),
        }
