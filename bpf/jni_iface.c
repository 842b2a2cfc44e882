/* JNI interface functions (WITH_JNI_IFACE): uprobes on the hotspot_jni USDT sites of
 * libjvm (entry and return of each traced interface function, e.g. GetPrimitiveArrayCritical),
 * all handled by jnii_site. User space fills `jnii_sites` with (pid, site address) -> which
 * function, what the site measures, and where its USDT arguments are (they differ per site);
 * other hits are ignored.
 *
 * Per (bucket, pid, tid, function): calls, time inside the function, bytes copied where the
 * probe arguments size the copy, and for the release of a critical region the time the region
 * was held (Get*Critical return -> Release*Critical entry on the same thread; nested regions
 * count from the outermost). Global references: each one created is remembered with the user
 * stack of its call site (the first stack seen there) until it is deleted; counts per (pid,
 * creating stack, weak).
 *
 * Local references: return sites of the functions that hand native code a new local reference
 * (FindClass, NewStringUTF, CallObjectMethod, ...) and the entry of DeleteLocalRef, untimed
 * unless the function is timed anyway. Per (pid, creating stack, function): created, and
 * deleted by DeleteLocalRef (found through a live map of handle -> creating site); the rest
 * was left for the VM to free when the native method returned. */
#define JNII_ENTRY 1
#define JNII_RETURN 2
#define JNII_CRIT_BEGIN 4   /* return site of Get*Critical */
#define JNII_CRIT_END 8     /* entry site of Release*Critical */
#define JNII_BYTES_ARG 16   /* bytes = value argument x element size (Get/Set*Region) */
#define JNII_BYTES_ARRAY 32 /* bytes = length of the array `value` x element size */
#define JNII_REF_NEW 64     /* value: a global reference just created (return site) */
#define JNII_REF_DELETE 128 /* value: a global reference about to be deleted (entry site) */
#define JNII_REF_WEAK 256
#define JNII_LOCAL_NEW 512     /* value: a local reference just created (return site) */
#define JNII_LOCAL_DELETE 1024 /* value: a local reference about to be deleted (entry site) */
#define JNII_ARG_REG 1      /* argument kinds, as in profiler/capture/probes/jni/usdt_args.py */
#define JNII_ARG_MEM 2
#define JNII_ARG_CONST 3
#define JNII_ABORT 2        /* Release*ArrayElements mode that frees without copying back */
#ifndef JNII_MAX_REFS
#define JNII_MAX_REFS 262144
#endif
#ifndef JNII_MAX_LOCALS
#define JNII_MAX_LOCALS 65536
#endif

struct jnii_site_key {
    u64 ip;
    u32 pid;
    u32 pad;
};
struct jnii_arg {
    s32 offset;   /* memory displacement, or the constant */
    u8 kind;
    u8 reg;       /* index into struct pt_regs, see jnii_reg */
    u8 size;
    u8 is_signed;
};
struct jnii_site {
    u32 fn;
    u32 flags;
    struct jnii_arg value;
    struct jnii_arg extra;  /* Release*ArrayElements: the mode */
    u32 element_bytes;
    u32 length_offset;      /* where this JVM keeps an array's length in its header */
};
struct jnii_inflight {
    u64 ts;
    u64 held;
    u64 bytes;
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
    u64 bytes;
};
struct jnii_ref_key {
    u64 ref;
    u32 pid;
    u32 pad;
};
struct jnii_ref {
    s32 stack;
    u32 weak;
};
struct jnii_ref_site_key {
    u32 pid;
    s32 stack;
    u32 weak;
    u32 pad;
};
struct jnii_ref_counts {
    u64 created;
    u64 deleted;
};
struct jnii_local_site_key {
    u32 pid;
    s32 stack;
    u32 fn;
    u32 pad;
};
struct jnii_local {
    s32 stack;
    u32 fn;
};
struct jnii_call_site {
    u64 ret;   /* return address into the native code that called the JNI function */
    u32 pid;
    u32 pad;
};

BPF_HASH(jnii_sites, struct jnii_site_key, struct jnii_site, 16384);
BPF_HASH(jnii_inflight_map, u32, struct jnii_inflight, MAX_THREADS);
BPF_HASH(jnii_crit_map, u32, struct jnii_crit, MAX_THREADS);
BPF_ARRAY(jnii_copy, u32, 1);
BPF_HASH(jnii_agg0, struct jnii_key, struct jnii_val, 16384);
BPF_HASH(jnii_agg1, struct jnii_key, struct jnii_val, 16384);
/* live global references -> the stack that created them; cumulative counts per stack */
BPF_HASH(jnii_refs, struct jnii_ref_key, struct jnii_ref, JNII_MAX_REFS);
BPF_HASH(jnii_ref_sites, struct jnii_ref_site_key, struct jnii_ref_counts, 16384);
/* call site -> the user stack first seen creating references there: walking the stack of
 * every NewGlobalRef costs ~4 us, reading the return address ~0.1 us */
BPF_HASH(jnii_call_stacks, struct jnii_call_site, s32, 16384);
#if !defined(WITH_SLOW_STACKS) && !defined(WITH_OFFCPU_STACKS)
BPF_STACK_TRACE(stacks, STACK_ENTRIES);  /* common.h's, when no other family made it */
#endif
/* local reference handle -> the site that created it. A handle's slot is reused once the
 * VM frees it (native method return, PopLocalFrame), without any probe firing: a creation
 * overwrites the slot's entry, and the LRU map evicts slots never reused rather than
 * refusing new ones when full. */
BPF_TABLE("lru_hash", struct jnii_ref_key, struct jnii_local, jnii_locals, JNII_MAX_LOCALS);
BPF_HASH(jnii_local_sites, struct jnii_local_site_key, struct jnii_ref_counts, 16384);
/* 0: return without a matching entry, 1: count map full, 2: array length unreadable,
 * 3: reference map full, 4: delete of a reference not seen created, 5: ref site map full,
 * 6: argument unreadable, 7: local site map full, 8: DeleteLocalRef of a handle not seen
 * created (an argument of the native method, or evicted), 9: local handle map update failed */
BPF_PERCPU_ARRAY(jnii_stats, u64, 10);

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

#define JNII_PT_REGS 21  /* u64 slots of the kernel's x86-64 struct pt_regs */

/* Register `reg` (its index in struct pt_regs) at the probe hit. Read through a helper: the
 * verifier refuses a ctx load at an offset it cannot see as a constant. */
static __always_inline u64 jnii_reg(struct pt_regs *ctx, u32 reg)
{
    u64 value = 0;
    if (reg >= JNII_PT_REGS)
        return 0;
    bpf_probe_read_kernel(&value, sizeof(value), (u64 *)ctx + reg);
    return value;
}

/* The value of a USDT argument at its site; 0 with *ok = 0 when it cannot be read. */
static __always_inline s64 jnii_arg(struct pt_regs *ctx, struct jnii_arg *arg, int *ok)
{
    u64 raw = 0;
    *ok = 1;
    if (arg->kind == JNII_ARG_REG) {
        raw = jnii_reg(ctx, arg->reg);
    } else if (arg->kind == JNII_ARG_MEM) {
        u64 addr = jnii_reg(ctx, arg->reg) + (s64)arg->offset;
        if (bpf_probe_read_user(&raw, sizeof(raw), (void *)addr) != 0) {
            *ok = 0;
            return 0;
        }
    } else if (arg->kind == JNII_ARG_CONST) {
        return arg->offset;
    } else {
        *ok = 0;
        return 0;
    }
    switch (arg->size) {
    case 1: return arg->is_signed ? (s64)(s8)raw : (s64)(u8)raw;
    case 2: return arg->is_signed ? (s64)(s16)raw : (s64)(u16)raw;
    case 4: return arg->is_signed ? (s64)(s32)raw : (s64)(u32)raw;
    }
    return (s64)raw;
}

/* Length of the Java array behind a JNI handle: the handle points at a slot holding the
 * (uncompressed) oop, its low two bits tag weak/global handles; the length is an int in
 * the array's header. -1 when unreadable. */
static __always_inline s64 jnii_array_length(u64 handle, u32 length_offset)
{
    u64 oop = 0;
    s32 length = -1;
    if (!handle)
        return 0;
    if (bpf_probe_read_user(&oop, sizeof(oop), (void *)(handle & ~3ULL)) != 0 || !oop)
        return -1;
    if (bpf_probe_read_user(&length, sizeof(length), (void *)(oop + length_offset)) != 0)
        return -1;
    return length;
}

/* Bytes an entry site copies, from its arguments (0 when the site sizes nothing). */
static __always_inline u64 jnii_entry_bytes(struct pt_regs *ctx, struct jnii_site *site)
{
    int ok = 0;
    s64 value;
    if (!(site->flags & (JNII_BYTES_ARG | JNII_BYTES_ARRAY)))
        return 0;
    value = jnii_arg(ctx, &site->value, &ok);
    if (!ok) {
        jnii_stat(6);
        return 0;
    }
    if (site->flags & JNII_BYTES_ARRAY) {
        if (site->extra.kind && jnii_arg(ctx, &site->extra, &ok) == JNII_ABORT && ok)
            return 0;
        value = jnii_array_length((u64)value, site->length_offset);
        if (value < 0) {
            jnii_stat(2);
            return 0;
        }
    }
    return value > 0 ? (u64)value * site->element_bytes : 0;
}

/* The stack id standing for the code that called the JNI function: one walk per call site
 * (libjvm keeps frame pointers, so the caller's return address is at rbp + 8, as the walk
 * itself finds it); a walk each time when the return address cannot be read. */
static __always_inline s32 jnii_creating_stack(struct pt_regs *ctx, u32 tgid)
{
    struct jnii_call_site call = {.pid = tgid};
    u64 frame = jnii_reg(ctx, 4);  /* rbp */
    if (!frame || bpf_probe_read_user(&call.ret, sizeof(call.ret), (void *)(frame + 8)) != 0)
        return stacks.get_stackid(ctx, BPF_F_USER_STACK);
    s32 *known = jnii_call_stacks.lookup(&call);
    if (known)
        return *known;
    s32 stack = stacks.get_stackid(ctx, BPF_F_USER_STACK);
    if (stack >= 0)
        jnii_call_stacks.update(&call, &stack);
    return stack;
}

/* The reference a site's value argument holds: 0 when there is none (a call that failed)
 * or it cannot be read (counted). */
static __always_inline u64 jnii_ref_value(struct pt_regs *ctx, struct jnii_site *site)
{
    int ok = 0;
    u64 ref = (u64)jnii_arg(ctx, &site->value, &ok);
    if (!ok) {
        jnii_stat(6);
        return 0;
    }
    return ref;
}

static __always_inline void jnii_ref_created(struct pt_regs *ctx, struct jnii_site *site,
                                             u32 tgid)
{
    u64 ref = jnii_ref_value(ctx, site);
    if (!ref)
        return;
    u32 weak = (site->flags & JNII_REF_WEAK) ? 1 : 0;
    s32 stack = jnii_creating_stack(ctx, tgid);
    struct jnii_ref_key key = {.ref = ref, .pid = tgid};
    struct jnii_ref live = {.stack = stack, .weak = weak};
    if (jnii_refs.update(&key, &live) != 0)
        jnii_stat(3);
    struct jnii_ref_site_key site_key = {.pid = tgid, .stack = stack, .weak = weak};
    struct jnii_ref_counts zero = {};
    struct jnii_ref_counts *counts = jnii_ref_sites.lookup_or_try_init(&site_key, &zero);
    if (counts)
        __sync_fetch_and_add(&counts->created, 1);
    else
        jnii_stat(5);
}

static __always_inline void jnii_ref_deleted(struct pt_regs *ctx, struct jnii_site *site,
                                             u32 tgid)
{
    u64 ref = jnii_ref_value(ctx, site);
    if (!ref)
        return;
    struct jnii_ref_key key = {.ref = ref, .pid = tgid};
    struct jnii_ref *live = jnii_refs.lookup(&key);
    if (!live) {
        jnii_stat(4);
        return;
    }
    struct jnii_ref_site_key site_key = {.pid = tgid, .stack = live->stack,
                                         .weak = live->weak};
    jnii_refs.delete(&key);
    struct jnii_ref_counts *counts = jnii_ref_sites.lookup(&site_key);
    if (counts)
        __sync_fetch_and_add(&counts->deleted, 1);
}

static __always_inline void jnii_local_created(struct pt_regs *ctx, struct jnii_site *site,
                                               u32 tgid)
{
    u64 ref = jnii_ref_value(ctx, site);
    if (!ref)  /* the call failed (an exception is pending): nothing created */
        return;
    s32 stack = jnii_creating_stack(ctx, tgid);
    struct jnii_local_site_key site_key = {.pid = tgid, .stack = stack, .fn = site->fn};
    struct jnii_ref_counts zero = {};
    struct jnii_ref_counts *counts = jnii_local_sites.lookup_or_try_init(&site_key, &zero);
    if (!counts) {
        jnii_stat(7);
        return;
    }
    __sync_fetch_and_add(&counts->created, 1);
    struct jnii_ref_key key = {.ref = ref, .pid = tgid};
    struct jnii_local live = {.stack = stack, .fn = site->fn};
    if (jnii_locals.update(&key, &live) != 0)
        jnii_stat(9);
}

static __always_inline void jnii_local_deleted(struct pt_regs *ctx, struct jnii_site *site,
                                               u32 tgid)
{
    u64 ref = jnii_ref_value(ctx, site);
    if (!ref)
        return;
    struct jnii_ref_key key = {.ref = ref, .pid = tgid};
    struct jnii_local *live = jnii_locals.lookup(&key);
    if (!live) {
        jnii_stat(8);
        return;
    }
    struct jnii_local_site_key site_key = {.pid = tgid, .stack = live->stack, .fn = live->fn};
    jnii_locals.delete(&key);
    struct jnii_ref_counts *counts = jnii_local_sites.lookup(&site_key);
    if (counts)
        __sync_fetch_and_add(&counts->deleted, 1);
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
    /* local references first: most of their sites are not timed and stop here */
    if (site->flags & JNII_LOCAL_NEW)
        jnii_local_created(ctx, site, tgid);
    else if (site->flags & JNII_LOCAL_DELETE)
        jnii_local_deleted(ctx, site, tgid);
    if (!(site->flags & (JNII_ENTRY | JNII_RETURN)))
        return 0;
    u32 tid = (u32)id;
    u64 now = bpf_ktime_get_ns();
    if (site->flags & JNII_ENTRY) {
        struct jnii_inflight entry = {.ts = now, .fn = site->fn};
        if (site->flags & JNII_CRIT_END)
            entry.held = jnii_region_end(tid, now);
        if (site->flags & JNII_REF_DELETE)
            jnii_ref_deleted(ctx, site, tgid);
        entry.bytes = jnii_entry_bytes(ctx, site);
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
    u64 bytes = entry->bytes;
    jnii_inflight_map.delete(&tid);
    if (site->flags & JNII_REF_NEW)
        jnii_ref_created(ctx, site, tgid);
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
    if (bytes)
        __sync_fetch_and_add(&val->bytes, bytes);
    if (dur > val->max_ns)
        val->max_ns = dur;
    if (held) {
        __sync_fetch_and_add(&val->held_ns, held);
        if (held > val->held_max_ns)
            val->held_max_ns = held;
    }
    return 0;
}
