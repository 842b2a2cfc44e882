"""The capture half of ``sparkprof record``: BPF programs (``bpf/``) loaded with BCC, a
collector draining their perf buffers and maps, and rows written through ``RunWriter``.

Only this subpackage imports ``bcc``. Entry point: :class:`CaptureSession`.
"""

from profiler.capture.options import CaptureOptions, CaptureReport

__all__ = ["CaptureOptions", "CaptureReport"]
