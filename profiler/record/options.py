"""Probe options of ``sparkprof record`` and their translation into the capture's options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from profiler.errors import UsageError

if TYPE_CHECKING:  # profiler.capture needs BCC at run time; keep --help working without it
    from profiler.capture import CaptureOptions

SYSCALL_FAMILIES: frozenset[str] = frozenset({"net", "io", "other"})
DEFAULT_SYSCALL_FAMILIES: frozenset[str] = frozenset({"net", "io"})
# wakeup_events: BCC's default of 1 costs 8-9 us per event here, 64 costs ~0.8 us (PLATFORM.md).
DEFAULT_WAKEUP_EVENTS = 64


@dataclass(frozen=True)
class ProbeOptions:
    """What to capture, as chosen on the command line (times in the user's units)."""

    syscalls: frozenset[str] = field(default=DEFAULT_SYSCALL_FAMILIES)
    offcpu: bool = True
    gc: bool = True
    jvm_threads: bool = True
    network_lifecycle: bool = True
    bucket_ms: int = 100
    slow_syscall_ms: float = 1.0
    offcpu_block_ms: float = 1.0
    wakeup_events: int = DEFAULT_WAKEUP_EVENTS
    drain_interval_s: float = 1.0
    sample: bool = True
    sample_hz: int = 49
    jni: bool = True
    jni_include: tuple[str, ...] = ()
    jni_exclude: tuple[str, ...] = ()
    jni_interface: bool = False

    def __post_init__(self) -> None:
        if not self.syscalls <= SYSCALL_FAMILIES:
            raise UsageError(f"unknown syscall families {sorted(self.syscalls - SYSCALL_FAMILIES)}",
                             "use --syscalls=net,io,other,all,none")
        if self.bucket_ms < 1:
            raise UsageError("--bucket-ms must be at least 1", "e.g. --bucket-ms 100")
        if self.slow_syscall_ms < 0 or self.offcpu_block_ms < 0:
            raise UsageError("thresholds must not be negative",
                             "e.g. --slow-syscall-ms 1 --offcpu-block-ms 10")
        if not 1 <= self.sample_hz <= 10_000:
            raise UsageError("--sample-hz must be between 1 and 10000", "e.g. --sample-hz 49")

    def to_capture_options(self, java_home: str | None = None) -> CaptureOptions:
        from profiler.capture import CaptureOptions  # lazy: imports BCC

        return CaptureOptions(
            syscalls=self.syscalls,
            offcpu=self.offcpu,
            offcpu_block_threshold_us=round(self.offcpu_block_ms * 1000),
            slow_syscall_threshold_us=round(self.slow_syscall_ms * 1000),
            gc=self.gc,
            jvm_threads=self.jvm_threads,
            network_lifecycle=self.network_lifecycle,
            bucket_ms=self.bucket_ms,
            wakeup_events=self.wakeup_events,
            drain_interval_s=self.drain_interval_s,
            java_home=java_home,
            sample=self.sample,
            sample_hz=self.sample_hz,
            jni=self.jni,
            jni_include=self.jni_include,
            jni_exclude=self.jni_exclude,
            jni_interface=self.jni_interface,
        )

    def as_meta(self) -> dict[str, Any]:
        """The options as meta.json stores them (JSON types only)."""
        values = asdict(self)
        values["syscalls"] = sorted(self.syscalls)
        values["jni_include"] = list(self.jni_include)
        values["jni_exclude"] = list(self.jni_exclude)
        return values


def parse_syscall_families(spec: str) -> frozenset[str]:
    """``net,io`` / ``all`` / ``none`` (case-insensitive, spaces ignored) -> a family set."""
    families: set[str] = set()
    for raw in spec.split(","):
        word = raw.strip().lower()
        if not word:
            continue
        if word == "all":
            families |= SYSCALL_FAMILIES
        elif word == "none":
            continue
        elif word in SYSCALL_FAMILIES:
            families.add(word)
        else:
            raise UsageError(f"--syscalls: unknown family {raw.strip()!r}",
                             "use a comma-separated list of net, io, other, or all / none")
    if "none" in {w.strip().lower() for w in spec.split(",")} and families:
        raise UsageError("--syscalls: 'none' cannot be combined with other families",
                         "use --syscalls=none alone")
    return frozenset(families)


def parse_pid_list(spec: str) -> tuple[int, ...]:
    """``123,456`` -> (123, 456); UsageError for anything that is not a positive integer."""
    pids: list[int] = []
    for raw in spec.split(","):
        word = raw.strip()
        if not word:
            continue
        if not word.isdigit() or int(word) <= 0:
            raise UsageError(f"--pid: {word!r} is not a process id", "e.g. --pid 1234,5678")
        pids.append(int(word))
    if not pids:
        raise UsageError("--pid needs at least one process id", "e.g. --pid 1234")
    return tuple(dict.fromkeys(pids))
