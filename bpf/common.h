/* Shared by every probe family: event layouts, the tracked-process map, time buckets and
 * loss counters. The probe files are concatenated after this header into one BPF program;
 * families are switched on with -DWITH_<FAMILY> and tuned with the -D values below.
 * Every struct here has a numpy twin in profiler/capture/stream/records.py: change both together. */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

#ifndef BUCKET_NS
#define BUCKET_NS 100000000ULL
#endif
#ifndef MAX_TRACKED
#define MAX_TRACKED 8192
#endif
#ifndef MAX_THREADS
#define MAX_THREADS 65536
#endif
#ifndef MAX_AGG
#define MAX_AGG 32768
#endif
#ifndef STACK_ENTRIES
#define STACK_ENTRIES 16384
#endif

/* Indexes into the per-CPU `stats` counters (names in records.py STAT_NAMES). */
#define STAT_AGG_FULL 0
#define STAT_INFLIGHT_FULL 1
#define STAT_USTACK_FAILED 2
#define STAT_KSTACK_FAILED 3
#define STAT_TRACKED_FULL 4
#define STAT_DEFERRED_LATE 5   /* off-CPU block sent without its deferred user stack */
#define STAT_COUNT 8

BPF_PERCPU_ARRAY(stats, u64, STAT_COUNT);
/* tgid -> 1 for the command and its descendants (user space lists and clears it). */
BPF_HASH(tracked, u32, u8, MAX_TRACKED);
/* The same set as one bit per pid: the first check of every handler runs for every process
 * of the host, and an array lookup is inlined by the verifier where a hash lookup is a call
 * plus a jhash (measured: benchmarks/bench_record_overhead.py). */
#ifndef PID_MAX
#define PID_MAX 4194304
#endif
#define PID_WORDS ((PID_MAX + 63) / 64)
BPF_ARRAY(tracked_bits, u64, PID_WORDS);
/* Which of the two aggregation map copies the probes write to; user space flips it and
 * drains the other copy while nothing writes to it. */
BPF_ARRAY(active_copy, u32, 1);
#if defined(WITH_SLOW_STACKS) || defined(WITH_OFFCPU_STACKS)
/* Stacks whose ids live long: kernel stacks of off-CPU blocks (taken when a block starts,
 * sent when it ends) and the call sites of JNI reference functions. Never emptied. */
BPF_STACK_TRACE(stacks, STACK_ENTRIES);
#endif

static __always_inline void stat_add(int index)
{
    u64 *value = stats.lookup(&index);
    if (value)
        *value += 1;
}

static __always_inline int bit_is_set(u64 *word, u32 id)
{
    return word && ((*word >> (id & 63)) & 1);
}

static __always_inline int is_tracked(u32 tgid)
{
    u32 index = tgid >> 6;
    return bit_is_set(tracked_bits.lookup(&index), tgid);
}

/* Set or clear the bit of `id` in its word of a per-pid/tid bitmap (atomic: probes on other
 * CPUs update the same words). */
static __always_inline void set_bit_to(u64 *word, u32 id, int on)
{
    if (!word)
        return;
    if (on)
        __sync_fetch_and_or(word, 1ULL << (id & 63));
    else
        __sync_fetch_and_and(word, ~(1ULL << (id & 63)));
}

static __always_inline void set_tracked(u32 tgid, int on)
{
    u32 index = tgid >> 6;
    set_bit_to(tracked_bits.lookup(&index), tgid, on);
}

static __always_inline u32 current_copy(void)
{
    int zero = 0;
    u32 *copy = active_copy.lookup(&zero);
    return copy ? *copy : 0;
}

static __always_inline u64 bucket_of(u64 ts)
{
    return ts / BUCKET_NS * BUCKET_NS;
}

/* --- events streamed through perf buffers (fixed sizes, see records.py) --- */
enum proc_event_type {
    PROC_FORK = 1, PROC_EXEC = 2, PROC_EXIT = 3,
    THREAD_NEW = 4, THREAD_EXIT = 5, THREAD_RENAME = 6,
};

struct proc_event {
    u64 ts;
    u32 type;
    u32 pid;        /* tgid of the subject */
    u32 tid;
    u32 ppid;       /* parent tgid (fork) */
    s32 exit_code;  /* -1 when unknown (killed by a signal) */
    u32 pad;
    char comm[16];
    char filename[128];
};

enum sock_event_type {
    SOCK_CONNECT = 1, SOCK_ACCEPT = 2, SOCK_CLOSE = 3, FILE_OPEN = 4,
    SOCK_STATE = 5, SOCK_RETRANSMIT = 6,
    FD_DUP = 7,   /* fd: the new fd, oldstate: the source fd, newstate: 1 when it replaced one */
    EPOLL_CTL_EV = 8,   /* fd: the registered fd, oldstate: the epoll fd, newstate: the op */
    EPOLL_NEW = 9,      /* fd: a new epoll fd (epoll_create/epoll_create1) */
};

struct sock_event {
    u64 ts;
    u64 skaddr;
    u32 type;
    u32 pid;
    u32 tid;
    s32 fd;
    s64 ret;
    u16 family;
    u16 lport;
    u16 rport;
    u16 pad;
    s32 oldstate;
    s32 newstate;
    u8 laddr[16];
    u8 raddr[16];
    char path[160];
};
#define AF_INET_ 2
#define AF_INET6_ 10
/* connect/accept/close/open (syscalls.c) and TCP state/retransmits (net.c) share a buffer. */
BPF_PERCPU_ARRAY(sock_scratch, struct sock_event, 1);
BPF_PERF_OUTPUT(sock_events);

struct slow_event {
    u64 ts;         /* entry time */
    u64 dur;
    s64 ret;
    u32 pid;
    u32 tid;
    s32 fd;
    u32 nr;
    s32 ustack;
    u32 pad;
};

struct block_event {
    u64 start;
    u64 dur;
    u32 pid;
    u32 tid;
    u32 state;
    s32 ustack;
    s32 kstack;
    u32 pad;
};

enum jvm_event_type {
    JVM_GC_BEGIN = 1, JVM_GC_END = 2, JVM_POOL_BEGIN = 3, JVM_POOL_END = 4,
    JVM_THREAD_START = 5, JVM_THREAD_STOP = 6,
};

struct jvm_event {
    u64 ts;
    u32 type;
    u32 pid;
    u32 tid;
    u32 len1;
    u64 a;
    u64 b;
    char s1[64];
    char s2[64];
};

#if defined(WITH_SLOW_STACKS) || defined(WITH_DEFERRED_USTACK)
/* User stacks taken just before their event is sent (slow syscalls, and off-CPU blocks at
 * their syscall's exit) go to one of two tables: user space resolves the ids of one while
 * the probes fill the other, empties it and switches at each drain, so JIT code that keeps
 * changing cannot fill a table for the whole run. Their ids are tagged with the table
 * (profiler/capture/symbols/stacks.py reads them). */
#ifndef USER_STACK_ENTRIES
#define USER_STACK_ENTRIES 8192
#endif
#define USTACK_FRESH (1 << 20)   /* an id of ustacks0/1, not of `stacks` */
#define USTACK_COPY1 (1 << 21)   /* ... of ustacks1 */
BPF_STACK_TRACE(ustacks0, USER_STACK_ENTRIES);
BPF_STACK_TRACE(ustacks1, USER_STACK_ENTRIES);
BPF_ARRAY(ustack_copy, u32, 1);

static __always_inline s32 fresh_user_stack(void *ctx)
{
    int zero = 0;
    u32 *copy = ustack_copy.lookup(&zero);
    s32 id;
    if (copy && *copy) {
        id = ustacks1.get_stackid(ctx, BPF_F_USER_STACK);
        return id < 0 ? id : (id | USTACK_FRESH | USTACK_COPY1);
    }
    id = ustacks0.get_stackid(ctx, BPF_F_USER_STACK);
    return id < 0 ? id : (id | USTACK_FRESH);
}
#endif
