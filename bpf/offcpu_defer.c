/* Off-CPU blocks waiting for their user stack (WITH_DEFERRED_USTACK).
 *
 * Walking a user stack costs ~2 us and a JVM switches out tens of thousands of times a
 * run, mostly for less than the block threshold: taking the stack at every switch-out threw
 * ~90% of the walks away. A thread's user stack does not change while it is blocked, so a
 * block found long enough when the thread is switched back in waits here until the thread
 * returns from the syscall it blocked in (sys_exit runs in the thread itself, where a user
 * stack can be walked). A block that ended outside a syscall (a major page fault) finds no
 * syscall exit within DEFER_WINDOW_NS and is sent without a user stack, counted.
 *
 * Placed after common.h and before syscalls.c (whose sys_exit calls take_deferred_stack);
 * sched.c fills it. */
#ifdef WITH_OFFCPU
BPF_PERF_OUTPUT(block_events);
#endif

#ifdef WITH_DEFERRED_USTACK
#ifndef DEFER_WINDOW_NS
#define DEFER_WINDOW_NS 2000000ULL
#endif
#define USTACK_NOT_IN_SYSCALL -2   /* blocked outside a syscall: no stack to take */

/* tid -> the block (its start + dur is when the thread was switched back in) */
BPF_HASH(deferred_blocks, u32, struct block_event, MAX_THREADS);
BPF_ARRAY(deferred_bits, u64, PID_WORDS);   /* the same set, checked on every syscall exit */

static __always_inline void set_deferred_bit(u32 tid, int on)
{
    u32 index = tid >> 6;
    set_bit_to(deferred_bits.lookup(&index), tid, on);
}

/* From sched_switch: the block of `tid` (switched in now) is long; keep it for its stack.
 * An older block still waiting (two long blocks inside one syscall) goes out first. */
static __always_inline void defer_block(void *ctx, struct block_event *ev)
{
    u32 tid = ev->tid;
    struct block_event *older = deferred_blocks.lookup(&tid);
    if (older) {
        struct block_event out = *older;
        out.ustack = USTACK_NOT_IN_SYSCALL;
        stat_add(STAT_DEFERRED_LATE);
        block_events.perf_submit(ctx, &out, sizeof(out));
    }
    if (deferred_blocks.update(&tid, ev) == 0) {
        set_deferred_bit(tid, 1);
    } else {
        ev->ustack = USTACK_NOT_IN_SYSCALL;
        stat_add(STAT_DEFERRED_LATE);
        block_events.perf_submit(ctx, ev, sizeof(*ev));
    }
}

/* From sys_exit of a tracked thread: its waiting block gets the current user stack. */
static __always_inline void take_deferred_stack(void *ctx, u32 tid)
{
    u32 index = tid >> 6;
    if (!bit_is_set(deferred_bits.lookup(&index), tid))
        return;
    set_deferred_bit(tid, 0);
    struct block_event *waiting = deferred_blocks.lookup(&tid);
    if (!waiting)
        return;
    struct block_event ev = *waiting;
    deferred_blocks.delete(&tid);
    if (bpf_ktime_get_ns() - (ev.start + ev.dur) <= DEFER_WINDOW_NS) {
        ev.ustack = fresh_user_stack(ctx);
        if (ev.ustack < 0)
            stat_add(STAT_USTACK_FAILED);
    } else {
        ev.ustack = USTACK_NOT_IN_SYSCALL;
        stat_add(STAT_DEFERRED_LATE);
    }
    block_events.perf_submit(ctx, &ev, sizeof(ev));
}
#endif
