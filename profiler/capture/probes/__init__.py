"""The probe families: each module turns what one ``bpf/*.c`` family emits into rows.

``processes`` (procs.c), ``syscall_table`` and ``events`` (syscalls.c, sched.c),
``jvmevents`` and ``jvmcheck`` (jvm.c), ``sampling``, ``boundary`` and ``pystacks`` (stacks.c);
the network family (net.c) in ``probes.net`` and JNI tracing (jni.c, jni_iface.c) in
``probes.jni``.
"""
