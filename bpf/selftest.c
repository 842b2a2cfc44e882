// Tiny programs for `sparkprof doctor`: each probe family counts the events it sees from
// the doctor's own process (SELFTEST_TGID) in its own one-slot map, so a family can be
// attached, triggered and read in isolation. Families are compiled in with -D flags:
//   -DSELFTEST_SYSCALLS -DSELFTEST_SCHED -DSELFTEST_UPROBE -DSELFTEST_USDT
//   -DSELFTEST_PERF -DSELFTEST_KPROBE
// The USDT program counts every hit: the JVM it is attached to is never the doctor.
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>

#ifndef SELFTEST_TGID
#error "compile with -DSELFTEST_TGID=<pid of the process that triggers the probes>"
#endif

// True when the running task belongs to the doctor's process.
#define FROM_DOCTOR() ((bpf_get_current_pid_tgid() >> 32) == SELFTEST_TGID)

static __always_inline int bump(u64 *hits)
{
    if (hits)
        __sync_fetch_and_add(hits, 1);
    return 0;
}

#ifdef SELFTEST_SYSCALLS
BPF_ARRAY(syscalls_hits, u64, 1);
int selftest_syscalls(void *ctx)
{
    u32 slot = 0;
    return FROM_DOCTOR() ? bump(syscalls_hits.lookup(&slot)) : 0;
}
#endif

#ifdef SELFTEST_SCHED
BPF_ARRAY(sched_hits, u64, 1);
// sched_switch runs in the context of the task being switched out: the doctor sleeping.
int selftest_sched(void *ctx)
{
    u32 slot = 0;
    return FROM_DOCTOR() ? bump(sched_hits.lookup(&slot)) : 0;
}
#endif

#ifdef SELFTEST_UPROBE
BPF_ARRAY(uprobe_hits, u64, 1);
int selftest_uprobe(struct pt_regs *ctx)
{
    u32 slot = 0;
    return FROM_DOCTOR() ? bump(uprobe_hits.lookup(&slot)) : 0;
}
#endif

#ifdef SELFTEST_USDT
BPF_ARRAY(usdt_hits, u64, 1);
// No JVM runs during the doctor: attaching is the test, hits are a bonus.
int selftest_usdt(struct pt_regs *ctx)
{
    u32 slot = 0;
    return bump(usdt_hits.lookup(&slot));
}
#endif

#ifdef SELFTEST_PERF
BPF_ARRAY(perf_hits, u64, 1);
int selftest_perf(struct bpf_perf_event_data *ctx)
{
    u32 slot = 0;
    return FROM_DOCTOR() ? bump(perf_hits.lookup(&slot)) : 0;
}
#endif

#ifdef SELFTEST_KPROBE
BPF_ARRAY(kprobe_hits, u64, 1);
int selftest_kprobe(struct pt_regs *ctx)
{
    u32 slot = 0;
    return FROM_DOCTOR() ? bump(kprobe_hits.lookup(&slot)) : 0;
}
#endif
