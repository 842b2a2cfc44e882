/* HotSpot USDT probes of one libjvm.so (no semaphores, so they are attached by path for
 * every process mapping that library, present and future, and filtered by `tracked`): GC
 * pauses (gc__begin/gc__end), per-pool collections (mem__pool__gc__begin/end) and Java
 * thread names (thread__start/thread__stop). BCC generates bpf_usdt_readarg per handler and
 * forbids it inside macros, so one program serves one libjvm.so. */
BPF_PERF_OUTPUT(jvm_events);
BPF_PERCPU_ARRAY(jvm_scratch, struct jvm_event, 1);

static __always_inline struct jvm_event *new_jvm_event(u32 type)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!is_tracked(pid_tgid >> 32))
        return NULL;
    int zero = 0;
    struct jvm_event *ev = jvm_scratch.lookup(&zero);
    if (!ev)
        return NULL;
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->ts = bpf_ktime_get_ns();
    ev->type = type;
    ev->pid = pid_tgid >> 32;
    ev->tid = (u32)pid_tgid;
    return ev;
}

/* A HotSpot probe string is (pointer, length) and not NUL-terminated: copy 64 bytes and
 * let user space cut at the length. */
static __always_inline void read_jstring(char *dest, u64 ptr)
{
    if (bpf_probe_read_user(dest, 64, (void *)ptr) != 0)
        bpf_probe_read_user_str(dest, 64, (void *)ptr);
}


int jvm_gc_begin(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_GC_BEGIN);
    if (!ev)
        return 0;
    u64 full = 0;
    bpf_usdt_readarg(1, ctx, &full);
    ev->a = full & 0xff;
    jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

int jvm_gc_end(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_GC_END);
    if (ev)
        jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

int jvm_pool_begin(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_POOL_BEGIN);
    if (!ev)
        return 0;
    u64 mgr = 0, mgr_len = 0, pool = 0, pool_len = 0;
    bpf_usdt_readarg(1, ctx, &mgr);
    bpf_usdt_readarg(2, ctx, &mgr_len);
    bpf_usdt_readarg(3, ctx, &pool);
    bpf_usdt_readarg(4, ctx, &pool_len);
    read_jstring(ev->s1, mgr);
    read_jstring(ev->s2, pool);
    ev->a = mgr_len;
    ev->b = pool_len;
    jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

int jvm_pool_end(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_POOL_END);
    if (!ev)
        return 0;
    u64 mgr = 0, mgr_len = 0, pool = 0, pool_len = 0;
    bpf_usdt_readarg(1, ctx, &mgr);
    bpf_usdt_readarg(2, ctx, &mgr_len);
    bpf_usdt_readarg(3, ctx, &pool);
    bpf_usdt_readarg(4, ctx, &pool_len);
    read_jstring(ev->s1, mgr);
    read_jstring(ev->s2, pool);
    ev->a = mgr_len;
    ev->b = pool_len;
    jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

int jvm_thread_start(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_THREAD_START);
    if (!ev)
        return 0;
    /* thread__start/stop(name, int len, long java_tid, u64 native_tid, bool daemon): the
     * length is a 4-byte argument and must be read into a 4-byte variable (reading it
     * into a u64 gives 0 with BCC's generated readarg; `tplist-bpfcc -vv -l libjvm.so`). */
    u64 name = 0, java_tid = 0, native_tid = 0;
    s32 name_len = 0;
    bpf_usdt_readarg(1, ctx, &name);
    bpf_usdt_readarg(2, ctx, &name_len);
    bpf_usdt_readarg(3, ctx, &java_tid);
    bpf_usdt_readarg(4, ctx, &native_tid);
    read_jstring(ev->s1, name);
    ev->len1 = name_len > 0 ? name_len : 0;
    ev->a = java_tid;
    ev->b = native_tid;
    jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

int jvm_thread_stop(struct pt_regs *ctx)
{
    struct jvm_event *ev = new_jvm_event(JVM_THREAD_STOP);
    if (!ev)
        return 0;
    /* same arguments as thread__start */
    u64 name = 0, java_tid = 0, native_tid = 0;
    s32 name_len = 0;
    bpf_usdt_readarg(1, ctx, &name);
    bpf_usdt_readarg(2, ctx, &name_len);
    bpf_usdt_readarg(3, ctx, &java_tid);
    bpf_usdt_readarg(4, ctx, &native_tid);
    read_jstring(ev->s1, name);
    ev->len1 = name_len > 0 ? name_len : 0;
    ev->a = java_tid;
    ev->b = native_tid;
    jvm_events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}
