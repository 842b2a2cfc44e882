/* On-CPU stack sampling (WITH_SAMPLES): a perf cpu-clock event on every CPU calls
 * on_cpu_sample; samples of tracked processes are counted in the kernel per (bucket, pid,
 * tid, cpu, user stack, kernel stack).
 *
 * Counts and stacks are double-buffered on their own switch (`sample_copy`), apart from the
 * shared `active_copy`: user space drains the quiet copy's counts, resolves its stack ids
 * and then clears that copy's stack table, so stack ids never outlive their names and the
 * tables never fill up in a long run. */
#include <uapi/linux/bpf_perf_event.h>

#ifndef SAMPLE_STACK_ENTRIES
#define SAMPLE_STACK_ENTRIES 16384
#endif
#ifndef MAX_SAMPLE_KEYS
#define MAX_SAMPLE_KEYS 32768
#endif
#define SAMPLE_NO_KERNEL_STACK (-1)  /* the sample interrupted user mode */

struct sample_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    u32 cpu;
    s32 ustack;
    s32 kstack;
    u32 pad;
};

BPF_ARRAY(sample_copy, u32, 1);
BPF_HASH(sample_agg0, struct sample_key, u64, MAX_SAMPLE_KEYS);
BPF_HASH(sample_agg1, struct sample_key, u64, MAX_SAMPLE_KEYS);
BPF_STACK_TRACE(sample_stacks0, SAMPLE_STACK_ENTRIES);
BPF_STACK_TRACE(sample_stacks1, SAMPLE_STACK_ENTRIES);
/* 0: samples counted, 1: count map full, 2: user walk failed, 3: kernel walk failed */
BPF_PERCPU_ARRAY(sample_stats, u64, 4);

static __always_inline void sample_stat(int index)
{
    u64 *value = sample_stats.lookup(&index);
    if (value)
        *value += 1;
}

int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    if (tgid == 0 || !is_tracked(tgid))
        return 0;
    int zero = 0;
    u32 *copy_ptr = sample_copy.lookup(&zero);
    u32 copy = copy_ptr ? *copy_ptr : 0;
    struct sample_key key = {.bucket = bucket_of(bpf_ktime_get_ns()), .pid = tgid,
                             .tid = (u32)id, .cpu = bpf_get_smp_processor_id()};
    int user_mode = (ctx->regs.cs & 3) != 0;
    if (copy) {
        key.ustack = sample_stacks1.get_stackid(&ctx->regs, BPF_F_USER_STACK);
        key.kstack = user_mode ? SAMPLE_NO_KERNEL_STACK
                               : sample_stacks1.get_stackid(&ctx->regs, 0);
    } else {
        key.ustack = sample_stacks0.get_stackid(&ctx->regs, BPF_F_USER_STACK);
        key.kstack = user_mode ? SAMPLE_NO_KERNEL_STACK
                               : sample_stacks0.get_stackid(&ctx->regs, 0);
    }
    if (key.ustack < 0)
        sample_stat(2);
    if (!user_mode && key.kstack < 0)
        sample_stat(3);
    u64 initial = 0;
    u64 *count = copy ? sample_agg1.lookup_or_try_init(&key, &initial)
                      : sample_agg0.lookup_or_try_init(&key, &initial);
    if (!count) {
        sample_stat(1);
        return 0;
    }
    __sync_fetch_and_add(count, 1);
    sample_stat(0);
    return 0;
}
