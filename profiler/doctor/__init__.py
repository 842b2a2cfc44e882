"""``sparkprof doctor``: what will work on this host for profiling, and how to fix the rest.

Each check is a small function returning a :class:`Check`; probe families are tested by
really loading tiny BPF programs (``bpf/selftest.c``) in a child process.

Modules: ``model`` (Check, DoctorReport), ``host_checks``, ``probes`` (parent side) and
``probe_worker`` (the child that imports bcc), ``run`` (``run_doctor``), ``render``.
Nothing is imported here so that the probe worker starts light.
"""
