/* JNI native methods (WITH_JNI): an entry uprobe (jni_entry) and a return uprobe
 * (jni_return) on each traced `Java_*` symbol, attached without a pid; tracked processes
 * only. Calls are aggregated per (bucket, pid, tid, function address): user space knows which
 * library and symbol each address of each process is.
 *
 * A method over the call-rate budget is muted (`jni_muted`, per process and address): its
 * calls still trap but are no longer counted.
 *
 * Nesting (a native method calling back into Java that calls another native method on the
 * same thread) keeps a small per-thread stack of entries. Counts and stack entries are
 * double-buffered on their own switch (`jni_copy`), drained by profiler/capture/jni_tracer. */
#ifndef JNI_MAX_DEPTH
#define JNI_MAX_DEPTH 4
#endif
#ifndef MAX_JNI_KEYS
#define MAX_JNI_KEYS 16384
#endif

struct jni_frame_t {
    u64 ts[JNI_MAX_DEPTH];
    u64 ip[JNI_MAX_DEPTH];
    u32 depth;
    u32 pad;
};
struct jni_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    u64 ip;
};
struct jni_val {
    u64 calls;
    u64 total_ns;
    u64 max_ns;
    u64 hist[32];
};

struct jni_site_t {
    u64 ip;
    u32 pid;
    u32 pad;
};
BPF_HASH(jni_muted, struct jni_site_t, u8, 4096);
BPF_ARRAY(jni_copy, u32, 1);
BPF_HASH(jni_inflight, u32, struct jni_frame_t, MAX_THREADS);
BPF_HASH(jni_agg0, struct jni_key, struct jni_val, MAX_JNI_KEYS);
BPF_HASH(jni_agg1, struct jni_key, struct jni_val, MAX_JNI_KEYS);
/* 0: too deep (entry not timed), 1: return without entry, 2: count map full */
BPF_PERCPU_ARRAY(jni_stats, u64, 4);

static __always_inline void jni_stat(int index)
{
    u64 *value = jni_stats.lookup(&index);
    if (value)
        *value += 1;
}

static __always_inline u32 jni_log2(u64 v)
{
    u32 r = 0;
#pragma unroll
    for (int i = 5; i >= 0; i--) {
        u32 shift = 1 << i;
        if (v >= (1ULL << shift)) {
            v >>= shift;
            r += shift;
        }
    }
    return r > 31 ? 31 : r;
}

int jni_entry(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    if (!is_tracked(id >> 32))
        return 0;
    u32 tid = (u32)id;
    struct jni_frame_t empty = {};
    struct jni_frame_t *frame = jni_inflight.lookup_or_try_init(&tid, &empty);
    if (!frame)
        return 0;
    u32 depth = frame->depth;
    if (depth >= JNI_MAX_DEPTH) {
        frame->depth = depth + 1;  /* still counted so the returns pair up */
        jni_stat(0);
        return 0;
    }
    struct jni_site_t site = {.ip = PT_REGS_IP(ctx), .pid = id >> 32};
    frame->ts[depth & (JNI_MAX_DEPTH - 1)] = bpf_ktime_get_ns();
    /* ip 0 marks a muted call: its return pops the frame and counts nothing */
    frame->ip[depth & (JNI_MAX_DEPTH - 1)] = jni_muted.lookup(&site) ? 0 : site.ip;
    frame->depth = depth + 1;
    return 0;
}

int jni_return(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    if (!is_tracked(tgid))
        return 0;
    u32 tid = (u32)id;
    struct jni_frame_t *frame = jni_inflight.lookup(&tid);
    if (!frame || frame->depth == 0) {
        jni_stat(1);
        return 0;
    }
    u32 depth = frame->depth - 1;
    frame->depth = depth;
    if (depth >= JNI_MAX_DEPTH)
        return 0;
    u64 now = bpf_ktime_get_ns();
    u64 dur = now - frame->ts[depth & (JNI_MAX_DEPTH - 1)];
    struct jni_key key = {.bucket = bucket_of(now), .pid = tgid, .tid = tid,
                          .ip = frame->ip[depth & (JNI_MAX_DEPTH - 1)]};
    if (depth == 0)
        jni_inflight.delete(&tid);
    if (key.ip == 0)
        return 0;
    int zero = 0;
    u32 *copy = jni_copy.lookup(&zero);
    struct jni_val init = {};
    struct jni_val *val = (copy && *copy) ? jni_agg1.lookup_or_try_init(&key, &init)
                                          : jni_agg0.lookup_or_try_init(&key, &init);
    if (!val) {
        jni_stat(2);
        return 0;
    }
    __sync_fetch_and_add(&val->calls, 1);
    __sync_fetch_and_add(&val->total_ns, dur);
    if (dur > val->max_ns)
        val->max_ns = dur;
    u32 slot = jni_log2(dur);
    __sync_fetch_and_add(&val->hist[slot & 31], 1);
    return 0;
}
