/* JNI interface functions (WITH_JNI_IFACE): uprobes on the hotspot_jni USDT sites of
 * libjvm (entry and return of each traced interface function, e.g. GetPrimitiveArrayCritical),
 * all handled by jnii_site. User space fills `jnii_sites` with (pid, site address) -> which
 * function and whether the site is its entry or return; other hits are ignored.
 *
 * Per (bucket, pid, tid, function): calls, time inside the function, and for the release of a
 * critical region the time the region was held (Get*Critical return -> Release*Critical
 * entry on the same thread; nested regions count from the outermost). */
#define JNII_ENTRY 1
#define JNII_RETURN 2
#define JNII_CRIT_BEGIN 4   /* return site of Get*Critical */
#define JNII_CRIT_END 8     /* entry site of Release*Critical */

struct jnii_site_key {
    u64 ip;
    u32 pid;
    u32 pad;
};
struct jnii_site {
    u32 fn;
    u32 flags;
};
struct jnii_inflight {
    u64 ts;
    u64 held;
    u32 fn;
    u32 pad;
};
struct jnii_crit {
    u64 ts;
    u64 depth;
};
struct jnii_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    u32 fn;
    u32 pad;
};
struct jnii_val {
    u64 calls;
    u64 total_ns;
    u64 max_ns;
    u64 held_ns;
    u64 held_max_ns;
};

BPF_HASH(jnii_sites, struct jnii_site_key, struct jnii_site, 16384);
BPF_HASH(jnii_inflight_map, u32, struct jnii_inflight, MAX_THREADS);
BPF_HASH(jnii_crit_map, u32, struct jnii_crit, MAX_THREADS);
BPF_ARRAY(jnii_copy, u32, 1);
BPF_HASH(jnii_agg0, struct jnii_key, struct jnii_val, 16384);
BPF_HASH(jnii_agg1, struct jnii_key, struct jnii_val, 16384);
/* 0: return without a matching entry, 1: count map full */
BPF_PERCPU_ARRAY(jnii_stats, u64, 2);

static __always_inline void jnii_stat(int index)
{
    u64 *value = jnii_stats.lookup(&index);
    if (value)
        *value += 1;
}

static __always_inline u64 jnii_region_end(u32 tid, u64 now)
{
    struct jnii_crit *crit = jnii_crit_map.lookup(&tid);
    if (!crit)
        return 0;
    if (crit->depth > 1) {
        crit->depth -= 1;
        return 0;
    }
    u64 held = now - crit->ts;
    jnii_crit_map.delete(&tid);
    return held;
}

static __always_inline void jnii_region_begin(u32 tid, u64 now)
{
    struct jnii_crit fresh = {.ts = now, .depth = 0};
    struct jnii_crit *crit = jnii_crit_map.lookup_or_try_init(&tid, &fresh);
    if (crit)
        crit->depth += 1;
}

int jnii_site(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    if (!is_tracked(tgid))
        return 0;
    struct jnii_site_key site_key = {.ip = PT_REGS_IP(ctx), .pid = tgid};
    struct jnii_site *site = jnii_sites.lookup(&site_key);
    if (!site)
        return 0;
    u32 tid = (u32)id;
    u64 now = bpf_ktime_get_ns();
    if (site->flags & JNII_ENTRY) {
        struct jnii_inflight entry = {.ts = now, .fn = site->fn};
        if (site->flags & JNII_CRIT_END)
            entry.held = jnii_region_end(tid, now);
        jnii_inflight_map.update(&tid, &entry);
        return 0;
    }
    struct jnii_inflight *entry = jnii_inflight_map.lookup(&tid);
    if (!entry || entry->fn != site->fn) {
        jnii_stat(0);
        return 0;
    }
    u64 dur = now - entry->ts;
    u64 held = entry->held;
    jnii_inflight_map.delete(&tid);
    if (site->flags & JNII_CRIT_BEGIN)
        jnii_region_begin(tid, now);
    struct jnii_key key = {.bucket = bucket_of(now), .pid = tgid, .tid = tid, .fn = site->fn};
    int zero = 0;
    u32 *copy = jnii_copy.lookup(&zero);
    struct jnii_val init = {};
    struct jnii_val *val = (copy && *copy) ? jnii_agg1.lookup_or_try_init(&key, &init)
                                           : jnii_agg0.lookup_or_try_init(&key, &init);
    if (!val) {
        jnii_stat(1);
        return 0;
    }
    __sync_fetch_and_add(&val->calls, 1);
    __sync_fetch_and_add(&val->total_ns, dur);
    if (dur > val->max_ns)
        val->max_ns = dur;
    if (held) {
        __sync_fetch_and_add(&val->held_ns, held);
        if (held > val->held_max_ns)
            val->held_max_ns = held;
    }
    return 0;
}
