"""JNI tracing: uprobes on native methods (bpf/jni.c: ``tracer``, ``discovery``, ``names``,
``guard``, ``uprobe_multi``) and, with ``--jni-interface``, native code calling into the VM
(bpf/jni_iface.c: ``interface``, ``functions``, ``local_refs``, ``global_refs``, ``usdt_args``)."""
