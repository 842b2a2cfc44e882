/* Process and thread lifecycle of tracked processes. A child of a tracked process is put in
 * `tracked` by task_newtask (which runs in the parent before the child can run), so it is
 * counted from its first syscall. Thread starts, renames (pthread_setname_np) and exits are
 * streamed too: they are rare and give thread names and lifetimes. */
BPF_PERF_OUTPUT(proc_events);
BPF_PERCPU_ARRAY(proc_scratch, struct proc_event, 1);

#define CLONE_THREAD_ 0x00010000

static __always_inline struct proc_event *new_proc_event(u32 type, u32 pid, u32 tid)
{
    int zero = 0;
    struct proc_event *ev = proc_scratch.lookup(&zero);
    if (!ev)
        return NULL;
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->ts = bpf_ktime_get_ns();
    ev->type = type;
    ev->pid = pid;
    ev->tid = tid;
    ev->exit_code = -1;
    return ev;
}

TRACEPOINT_PROBE(task, task_newtask)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tgid = pid_tgid >> 32;
    if (!is_tracked(tgid))
        return 0;
    u32 child = args->pid;
    struct proc_event *ev;
    if (args->clone_flags & CLONE_THREAD_) {
        ev = new_proc_event(THREAD_NEW, tgid, child);
    } else {
        u8 one = 1;
        if (tracked.update(&child, &one) != 0)
            stat_add(STAT_TRACKED_FULL);
        set_tracked(child, 1);
        ev = new_proc_event(PROC_FORK, child, child);
    }
    if (!ev)
        return 0;
    ev->ppid = tgid;
    bpf_probe_read_kernel(&ev->comm, sizeof(ev->comm), args->comm);
    proc_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exec)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    struct proc_event *ev = new_proc_event(PROC_EXEC, tgid, args->pid);
    if (!ev)
        return 0;
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
    unsigned short offset = args->data_loc_filename & 0xFFFF;
    bpf_probe_read_kernel_str(&ev->filename, sizeof(ev->filename), (void *)args + offset);
    proc_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}

TRACEPOINT_PROBE(task, task_rename)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!is_tracked(tgid))
        return 0;
    struct proc_event *ev = new_proc_event(THREAD_RENAME, tgid, args->pid);
    if (!ev)
        return 0;
    bpf_probe_read_kernel(&ev->comm, sizeof(ev->comm), args->newcomm);
    proc_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tgid = pid_tgid >> 32;
    u32 tid = (u32)pid_tgid;
    if (!is_tracked(tgid))
        return 0;
    /* Per-thread state the other families keep must not outlive the thread. */
#ifdef WITH_SYSCALLS
    inflight.delete(&tid);
#endif
#ifdef WITH_SCHED
    offstart.delete(&tid);
    oncpu_start.delete(&tid);
#endif
    struct proc_event *ev;
    if (args->group_dead) {
        ev = new_proc_event(PROC_EXIT, tgid, tid);
        if (!ev)
            return 0;
#ifdef WITH_SYSCALLS
        s32 *status = exit_status.lookup(&tgid);
        if (status) {
            ev->exit_code = *status;
            exit_status.delete(&tgid);
        }
#endif
        tracked.delete(&tgid);
        set_tracked(tgid, 0);
    } else {
        ev = new_proc_event(THREAD_EXIT, tgid, tid);
        if (!ev)
            return 0;
    }
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
    proc_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}
