/* On-CPU stack sampling (WITH_SAMPLES): a perf cpu-clock event on every CPU calls
 * on_cpu_sample; samples of tracked processes are counted in the kernel per (bucket, pid,
 * tid, cpu, user stack, kernel stack, Python stack).
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
    u64 pystack;  /* key of the Python frames in py_stacks0/1, 0 when there are none */
};

BPF_ARRAY(sample_copy, u32, 1);
BPF_HASH(sample_agg0, struct sample_key, u64, MAX_SAMPLE_KEYS);
BPF_HASH(sample_agg1, struct sample_key, u64, MAX_SAMPLE_KEYS);
BPF_STACK_TRACE(sample_stacks0, SAMPLE_STACK_ENTRIES);
BPF_STACK_TRACE(sample_stacks1, SAMPLE_STACK_ENTRIES);
/* 0: samples counted, 1: count map full, 2: user walk failed, 3: kernel walk failed,
 * 4: samples with Python frames, 5: Python process but no thread state for the thread,
 * 6: Python stack map full, 7: Python stack deeper than PY_MAX_FRAMES (root side cut) */
BPF_PERCPU_ARRAY(sample_stats, u64, 8);

static __always_inline void sample_stat(int index)
{
    u64 *value = sample_stats.lookup(&index);
    if (value)
        *value += 1;
}

/* Python frames. CPython keeps its call stack in memory, not on the C stack (Debian's
 * python3.11 has no frame pointers either), so for processes that user space registered in
 * py_procs the handler walks the interpreter's frame chain itself: the sampled thread's
 * PyThreadState (the GIL holder, else a search of the interpreter's thread list by native
 * thread id), then _PyInterpreterFrame.previous links, recording each frame's code object
 * pointer. User space names the code objects from /proc/PID/mem. The struct offsets come
 * with each process (profiler/capture/symbols/pyruntime.py), so this code is version-agnostic. */
#ifndef PY_MAX_FRAMES
#define PY_MAX_FRAMES 64
#endif
#ifndef PY_MAX_THREADS
#define PY_MAX_THREADS 16
#endif
#ifndef PY_STACK_ENTRIES
#define PY_STACK_ENTRIES 4096
#endif
#define PY_FRAME_WORDS 8  /* a frame's code and previous pointers lie in its first 64 bytes */

struct py_proc {
    u64 runtime;  /* address of _PyRuntime in the process */
    u16 interp_head;  /* _PyRuntimeState.interpreters.head */
    u16 tstate_current;  /* _PyRuntimeState.gilstate.tstate_current */
    u16 tstate_head;  /* PyInterpreterState.threads.head */
    u16 tstate_next;
    u16 tstate_native_id;
    u16 tstate_cframe;
    u16 cframe_frame;  /* _PyCFrame.current_frame */
    u16 frame_code;  /* _PyInterpreterFrame.f_code */
    u16 frame_previous;
    u16 pad[3];
};

struct py_stack {
    u32 pid;  /* stacks are per process: user space names them while it lives */
    u32 depth;
    u64 code[PY_MAX_FRAMES];  /* leaf first */
};

/* Forked children inherit their parent's entry (PySpark's daemon forks the workers). */
BPF_TABLE("lru_hash", u32, struct py_proc, py_procs, 4096);
/* Until user space has looked at a new process (up to a drain interval), it is walked
 * with py_default: the entry of a registered Python whose executable is not position-
 * independent, so _PyRuntime has the same address in every process running it (Debian's
 * python3.11). A thread state must carry the sampled thread's id, so a process running
 * something else yields no frames. Processes user space found to be no (walkable) Python
 * are in py_skip. */
BPF_ARRAY(py_default, struct py_proc, 1);
BPF_TABLE("lru_hash", u32, u8, py_skip, 8192);
BPF_HASH(py_stacks0, u64, struct py_stack, PY_STACK_ENTRIES);
BPF_HASH(py_stacks1, u64, struct py_stack, PY_STACK_ENTRIES);
BPF_PERCPU_ARRAY(py_scratch, struct py_stack, 1);

static __always_inline u64 py_read_word(u64 address)
{
    u64 value = 0;
    if (address < 4096 || bpf_probe_read_user(&value, sizeof(value), (void *)address))
        return 0;
    return value;
}

static __always_inline u64 py_thread_state(struct py_proc *proc, u32 tid)
{
    u64 tstate = py_read_word(proc->runtime + proc->tstate_current);
    if (tstate && py_read_word(tstate + proc->tstate_native_id) == tid)
        return tstate;
    u64 interp = py_read_word(proc->runtime + proc->interp_head);
    tstate = interp ? py_read_word(interp + proc->tstate_head) : 0;
    for (int i = 0; i < PY_MAX_THREADS && tstate; i++) {
        if (py_read_word(tstate + proc->tstate_native_id) == tid)
            return tstate;
        tstate = py_read_word(tstate + proc->tstate_next);
    }
    return 0;
}

/* The key of the sampled thread's Python stack, stored in the copy's py_stacks table; 0 when
 * the process is not a registered Python process or the thread runs no Python code. */
static __always_inline u64 py_stack_of(u32 tgid, u32 tid, u32 copy)
{
    int zero = 0;
    int guessed = 0;
    struct py_proc *proc = py_procs.lookup(&tgid);
    if (!proc) {
        if (py_skip.lookup(&tgid))
            return 0;
        proc = py_default.lookup(&zero);
        if (!proc || !proc->runtime)
            return 0;
        guessed = 1;
    }
    u64 tstate = py_thread_state(proc, tid);
    if (!tstate) {
        if (!guessed)
            sample_stat(5);
        return 0;
    }
    u64 frame = py_read_word(py_read_word(tstate + proc->tstate_cframe) + proc->cframe_frame);
    struct py_stack *stack = py_scratch.lookup(&zero);
    if (!stack || !frame)
        return 0;
    u32 code_word = (proc->frame_code / 8) & (PY_FRAME_WORDS - 1);
    u32 previous_word = (proc->frame_previous / 8) & (PY_FRAME_WORDS - 1);
    u64 words[PY_FRAME_WORDS];
    u64 hash = (14695981039346656037ULL ^ tgid) * 1099511628211ULL;  /* FNV-1a: pid, codes */
    u32 depth = 0;
    for (int i = 0; i < PY_MAX_FRAMES; i++) {
        if (!frame || bpf_probe_read_user(words, sizeof(words), (void *)frame))
            break;
        u64 code = words[code_word];
        stack->code[i] = code;
        hash = (hash ^ code) * 1099511628211ULL;
        depth = i + 1;
        frame = words[previous_word];
    }
    if (depth == 0)
        return 0;
    if (depth == PY_MAX_FRAMES && frame)
        sample_stat(7);
    stack->pid = tgid;
    stack->depth = depth;
    hash |= 1;  /* never 0, which means "no Python stack" */
    int failed = copy ? py_stacks1.update(&hash, stack) : py_stacks0.update(&hash, stack);
    if (failed) {
        sample_stat(6);
        return 0;
    }
    sample_stat(4);
    return hash;
}

TRACEPOINT_PROBE(sched, sched_process_fork)
{
    u32 parent = bpf_get_current_pid_tgid() >> 32;
    struct py_proc *proc = py_procs.lookup(&parent);
    if (!proc)
        return 0;
    /* A new thread's id lands here too: harmless, its id is no process's while it lives. */
    u32 child = args->child_pid;
    struct py_proc inherited = *proc;
    py_procs.update(&child, &inherited);
    return 0;
}

RAW_TRACEPOINT_PROBE(sched_process_exec)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    py_procs.delete(&tgid);  /* a new program: user space looks at it again */
    py_skip.delete(&tgid);
    return 0;
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
    key.pystack = py_stack_of(tgid, (u32)id, copy);
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
