/* sched_switch for tracked threads: on-CPU time per process (the denominator of the
 * self-cost percentage) and, with WITH_OFFCPU, time spent switched out per thread, state and
 * bucket (bucketed by the end of the block). Blocks longer than OFFCPU_BLOCK_NS are streamed,
 * with the kernel stack taken when the thread left the CPU (WITH_OFFCPU_STACKS) and the user
 * stack taken then too or, cheaper, only for long blocks when the thread returns from its
 * syscall (WITH_DEFERRED_USTACK, offcpu_defer.c). */
#ifndef OFFCPU_BLOCK_NS
#define OFFCPU_BLOCK_NS 1000000ULL
#endif

#define STATE_SLEEPING 0
#define STATE_IO 1
#define STATE_PREEMPTED 2
#define STATE_OTHER 3
#define TASK_REPORT_MAX_ 0x100   /* what the tracepoint reports for a preempted task */

struct offstart_t {
    u64 ts;
    u32 tgid;
    u32 state;
    s32 ustack;
    s32 kstack;
};
BPF_HASH(offstart, u32, struct offstart_t, MAX_THREADS);
/* tid -> has an offstart entry, so that switching in any other thread of the host costs
 * an inlined array load instead of a hash lookup. */
BPF_ARRAY(offstart_bits, u64, PID_WORDS);

static __always_inline void set_offstart_bit(u32 tid, int on)
{
    u32 index = tid >> 6;
    set_bit_to(offstart_bits.lookup(&index), tid, on);
}
BPF_HASH(oncpu_start, u32, u64, MAX_THREADS);
BPF_HASH(oncpu_ns, u32, u64, MAX_TRACKED);

#ifdef WITH_OFFCPU
struct offcpu_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    u32 state;
    u32 pad;
};
struct offcpu_val {
    u64 count;
    u64 total_ns;
    u64 max_ns;
};
BPF_HASH(offcpu_agg0, struct offcpu_key, struct offcpu_val, MAX_AGG);
BPF_HASH(offcpu_agg1, struct offcpu_key, struct offcpu_val, MAX_AGG);
#endif

static __always_inline u32 switch_state(long prev_state)
{
    if (prev_state == 0 || (prev_state & TASK_REPORT_MAX_))
        return STATE_PREEMPTED;
    if (prev_state & 1)
        return STATE_SLEEPING;
    if (prev_state & 2)
        return STATE_IO;
    return STATE_OTHER;
}

#ifdef WITH_OFFCPU
static __always_inline void count_block(void *ctx,
                                        struct offstart_t *off, u32 tid, u64 now)
{
    u64 dur = now - off->ts;
    struct offcpu_key key = {.bucket = bucket_of(now), .pid = off->tgid, .tid = tid,
                             .state = off->state};
    struct offcpu_val zero = {};
    struct offcpu_val *val = current_copy() ? offcpu_agg1.lookup_or_try_init(&key, &zero)
                                            : offcpu_agg0.lookup_or_try_init(&key, &zero);
    if (val) {
        val->count += 1;
        val->total_ns += dur;
        if (dur > val->max_ns)
            val->max_ns = dur;
    } else {
        stat_add(STAT_AGG_FULL);
    }
    if (dur >= OFFCPU_BLOCK_NS) {
        struct block_event ev = {.start = off->ts, .dur = dur, .pid = off->tgid, .tid = tid,
                                 .state = off->state, .ustack = off->ustack,
                                 .kstack = off->kstack};
#ifdef WITH_DEFERRED_USTACK
        if (off->state != STATE_PREEMPTED) {
            defer_block(ctx, &ev);
            return;
        }
#endif
        block_events.perf_submit(ctx, &ev, sizeof(ev));
    }
}
#endif

TRACEPOINT_PROBE(sched, sched_switch)
{
    /* Runs on every context switch of the host: the tracked checks come first and the
     * clock is read only for tracked threads. */
    u64 now = 0;
    u32 prev = args->prev_pid;
    if (prev != 0) {
        u32 prev_tgid = bpf_get_current_pid_tgid() >> 32;
        if (is_tracked(prev_tgid)) {
            now = bpf_ktime_get_ns();
            u64 *since = oncpu_start.lookup(&prev);
            if (since) {
                u64 ran = now - *since;
                u64 zero = 0;
                u64 *total = oncpu_ns.lookup_or_try_init(&prev_tgid, &zero);
                if (total)
                    *total += ran;
                oncpu_start.delete(&prev);
            }
            struct offstart_t off = {.ts = now, .tgid = prev_tgid,
                                     .state = switch_state(args->prev_state),
                                     .ustack = -1, .kstack = -1};
#ifdef WITH_OFFCPU_STACKS
            if (off.state != STATE_PREEMPTED) {
#ifndef WITH_DEFERRED_USTACK
                off.ustack = stacks.get_stackid(args, BPF_F_USER_STACK);
                if (off.ustack < 0)
                    stat_add(STAT_USTACK_FAILED);
#endif
                off.kstack = stacks.get_stackid(args, 0);
                if (off.kstack < 0)
                    stat_add(STAT_KSTACK_FAILED);
            }
#endif
            if (offstart.update(&prev, &off) == 0)
                set_offstart_bit(prev, 1);
        }
    }
    u32 next = args->next_pid;
    if (next == 0)
        return 0;
    u32 index = next >> 6;
    if (!bit_is_set(offstart_bits.lookup(&index), next))
        return 0;
    struct offstart_t *off = offstart.lookup(&next);
    if (!off)
        return 0;
    if (now == 0)
        now = bpf_ktime_get_ns();
    oncpu_start.update(&next, &now);
#ifdef WITH_OFFCPU
    count_block(args, off, next, now);
#endif
    offstart.delete(&next);
    set_offstart_bit(next, 0);
    return 0;
}
