"""Host detection: what this machine offers a BPF profiler, and the small set-up steps
(`ensure_*`) that ``sparkprof record`` may take as root.

Pure detection lives here so both ``sparkprof doctor`` and ``sparkprof record`` share one
answer. Nothing in this package imports ``bcc`` at module level.
"""
