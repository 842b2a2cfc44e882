/* Syscalls of tracked processes (raw_syscalls sys_enter/sys_exit: one attach point, the
 * cheapest on this kernel). Aggregated in the kernel per (bucket, thread, syscall) and per
 * (bucket, thread, fd, direction) for data-moving calls; connect/accept/close/open/dup,
 * epoll_create and epoll_ctl ADD/DEL, and calls slower than SLOW_NS are streamed.
 * `sys_flags[nr]` (filled from user space) decides what a syscall number means, so
 * uninteresting numbers leave after one array load. */
#ifndef SLOW_NS
#define SLOW_NS 1000000ULL
#endif

#define FL_FAMILY_MASK 3   /* 1 net, 2 io, 3 other: counted in sys_agg */
#define FL_FD_READ 4
#define FL_FD_WRITE 8
#define FL_CONNECT 16
#define FL_ACCEPT 32
#define FL_CLOSE 64
#define FL_OPEN 128        /* path in arg0 */
#define FL_OPENAT 256      /* path in arg1 */
#define FL_EXIT 512        /* exit/exit_group: remember the status for the exit event */
#define FL_DUP 1024        /* dup/dup2/dup3: the new fd is a copy of the fd in arg0 */
#define FL_FCNTL 2048      /* fcntl: a dup only with F_DUPFD / F_DUPFD_CLOEXEC */
#define FL_DUP_ONTO 4096   /* dup2/dup3: the new fd is arg1 and whatever it held is closed */
#define FL_FD_WAIT 8192    /* epoll_wait & co: time per epoll fd (arg0), no bytes */
#define FL_EPOLL_CTL 16384 /* epoll_ctl(epfd, op, fd): registrations of an epoll fd */
#define FL_EPOLL_NEW 32768 /* epoll_create/epoll_create1: the result is an epoll fd */
#define EPOLL_CTL_MOD_ 3
#define F_DUPFD_ 0
#define F_DUPFD_CLOEXEC_ 1030

#define HIST_SLOTS 32

BPF_ARRAY(sys_flags, u32, 512);

struct inflight_t {
    u64 ts;
    u64 arg0;
    u64 arg1;   /* epoll_ctl: op | registered fd << 32 (no third field for one syscall) */
    u32 nr;
    u32 flags;
};
BPF_HASH(inflight, u32, struct inflight_t, MAX_THREADS);
BPF_HASH(exit_status, u32, s32, MAX_TRACKED);

struct sys_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    u32 nr;
    u32 pad;
};
struct sys_val {
    u64 calls;
    u64 errors;
    u64 total_ns;
    u64 max_ns;
    u64 bytes;
    u32 hist[HIST_SLOTS];
};
BPF_HASH(sys_agg0, struct sys_key, struct sys_val, MAX_AGG);
BPF_HASH(sys_agg1, struct sys_key, struct sys_val, MAX_AGG);

struct fdio_key {
    u64 bucket;
    u32 pid;
    u32 tid;
    s32 fd;
    u32 gen_dir;   /* generation << 1 | direction (0 read/recv, 1 write/send) */
};
/* Generation of an fd number: how many times (tgid, fd) was closed. It keeps the bytes of
 * two files that reuse one number within a bucket apart; user space counts the same closes
 * from the close events, so (fd, generation) names exactly one open file. */
BPF_HASH(fd_gen, u64, u32, MAX_AGG);

static __always_inline u64 fd_gen_key(u32 tgid, s32 fd)
{
    return ((u64)tgid << 32) | (u32)fd;
}

/* The fd now names something else (closed, or dup2'ed over): its next generation. */
static __always_inline void next_fd_generation(u32 tgid, s32 fd)
{
    u64 gen_key = fd_gen_key(tgid, fd);
    u32 zero_gen = 0;
    u32 *gen = fd_gen.lookup_or_try_init(&gen_key, &zero_gen);
    if (gen)
        *gen += 1;
    else
        stat_add(STAT_AGG_FULL);
}
struct fdio_val {
    u64 calls;
    u64 bytes;
    u64 total_ns;
    u64 max_ns;
};
BPF_HASH(fdio_agg0, struct fdio_key, struct fdio_val, MAX_AGG);
BPF_HASH(fdio_agg1, struct fdio_key, struct fdio_val, MAX_AGG);

#ifdef WITH_SLOW
BPF_PERF_OUTPUT(slow_events);
#endif

RAW_TRACEPOINT_PROBE(sys_enter)
{
    u32 nr = (u32)ctx->args[1];
    u32 *flags = sys_flags.lookup(&nr);
    if (!flags || *flags == 0)
        return 0;
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tgid = pid_tgid >> 32;
    if (!is_tracked(tgid))
        return 0;
    struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
    struct inflight_t call = {};
    bpf_probe_read_kernel(&call.arg0, sizeof(call.arg0), &regs->di);
    if (*flags & FL_EXIT) {
        s32 status = (s32)(call.arg0 & 0xff);
        exit_status.update(&tgid, &status);
        return 0;
    }
    bpf_probe_read_kernel(&call.arg1, sizeof(call.arg1), &regs->si);
    call.nr = nr;
    call.flags = *flags;
    if (call.flags & FL_FCNTL) {
        /* Only the duplicating commands name a new fd (CPython's os.dup is one). */
        if (call.arg1 == F_DUPFD_ || call.arg1 == F_DUPFD_CLOEXEC_)
            call.flags |= FL_DUP;
        else if (!(call.flags & FL_FAMILY_MASK))
            return 0;
    }
    if (call.flags & FL_EPOLL_CTL) {
        /* MOD changes the events of a registration, not which fds are registered: not
         * streamed (a selector toggles OP_WRITE interest with it), so not kept either
         * when the "other" family does not count the call. */
        if (call.arg1 == EPOLL_CTL_MOD_) {
            call.flags &= ~FL_EPOLL_CTL;
            if (!(call.flags & FL_FAMILY_MASK))
                return 0;
        } else {
            u64 fd = 0;
            bpf_probe_read_kernel(&fd, sizeof(fd), &regs->dx);
            call.arg1 = (u32)call.arg1 | ((u64)(u32)fd << 32);
        }
    }
    u32 tid = (u32)pid_tgid;
    call.ts = bpf_ktime_get_ns();
    if (inflight.update(&tid, &call) != 0)
        stat_add(STAT_INFLIGHT_FULL);
    return 0;
}

static __always_inline u32 log2_slot(u64 ns)
{
    u32 slot = bpf_log2l(ns);
    return slot < HIST_SLOTS ? slot : HIST_SLOTS - 1;
}

static __always_inline void count_call(u32 copy, struct sys_key *key, u64 dur, s64 ret,
                                       u32 flags)
{
    struct sys_val zero = {};
    struct sys_val *val = copy ? sys_agg1.lookup_or_try_init(key, &zero)
                               : sys_agg0.lookup_or_try_init(key, &zero);
    if (!val) {
        stat_add(STAT_AGG_FULL);
        return;
    }
    val->calls += 1;
    if (ret < 0)
        val->errors += 1;
    else if (flags & (FL_FD_READ | FL_FD_WRITE))
        val->bytes += ret;
    val->total_ns += dur;
    if (dur > val->max_ns)
        val->max_ns = dur;
    u32 slot = log2_slot(dur);
    if (slot < HIST_SLOTS)
        val->hist[slot] += 1;
}

static __always_inline void count_fd_io(u32 copy, struct sys_key *skey, s32 fd, u64 dur,
                                        s64 ret, u32 flags)
{
    u64 gen_key = fd_gen_key(skey->pid, fd);
    u32 *gen = fd_gen.lookup(&gen_key);
    u32 dir = (flags & FL_FD_WRITE) ? 1 : 0;
    struct fdio_key key = {.bucket = skey->bucket, .pid = skey->pid, .tid = skey->tid,
                           .fd = fd, .gen_dir = ((gen ? *gen : 0) << 1) | dir};
    struct fdio_val zero = {};
    struct fdio_val *val = copy ? fdio_agg1.lookup_or_try_init(&key, &zero)
                                : fdio_agg0.lookup_or_try_init(&key, &zero);
    if (!val) {
        stat_add(STAT_AGG_FULL);
        return;
    }
    val->calls += 1;
    if (ret > 0 && !(flags & FL_FD_WAIT))
        val->bytes += ret;
    val->total_ns += dur;
    if (dur > val->max_ns)
        val->max_ns = dur;
}

/* connect/accept: the peer's address from the caller's sockaddr (still mapped at exit). */
static __always_inline void read_sockaddr(struct sock_event *ev, u64 uaddr)
{
    if (!uaddr)
        return;
    u16 family = 0;
    bpf_probe_read_user(&family, sizeof(family), (void *)uaddr);
    ev->family = family;
    if (family == AF_INET_) {
        bpf_probe_read_user(&ev->rport, 2, (void *)(uaddr + 2));
        bpf_probe_read_user(&ev->raddr, 4, (void *)(uaddr + 4));
    } else if (family == AF_INET6_) {
        bpf_probe_read_user(&ev->rport, 2, (void *)(uaddr + 2));
        bpf_probe_read_user(&ev->raddr, 16, (void *)(uaddr + 8));
    }
    ev->rport = (ev->rport >> 8) | (ev->rport << 8);   /* network to host order */
}

static __always_inline void stream_fd_event(struct bpf_raw_tracepoint_args *ctx,
                                            struct inflight_t *call, u64 pid_tgid, s64 ret,
                                            u64 now)
{
    int zero = 0;
    struct sock_event *ev = sock_scratch.lookup(&zero);
    if (!ev)
        return;
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->ts = now;
    ev->pid = pid_tgid >> 32;
    ev->tid = (u32)pid_tgid;
    ev->ret = ret;
    u32 flags = call->flags;
    if (flags & FL_CONNECT) {
        if (ret < 0 && ret != -115)   /* -EINPROGRESS: a non-blocking connect under way */
            return;
        ev->type = SOCK_CONNECT;
        ev->fd = (s32)call->arg0;
        read_sockaddr(ev, call->arg1);
    } else if (flags & FL_ACCEPT) {
        if (ret < 0)
            return;
        ev->type = SOCK_ACCEPT;
        ev->fd = (s32)ret;
        read_sockaddr(ev, call->arg1);
    } else if (flags & FL_CLOSE) {
        if (ret < 0)
            return;
        ev->type = SOCK_CLOSE;
        ev->fd = (s32)call->arg0;
        next_fd_generation(ev->pid, ev->fd);
    } else if (flags & FL_DUP) {
        if (ret < 0)
            return;
        ev->type = FD_DUP;
        ev->fd = (s32)ret;
        ev->oldstate = (s32)call->arg0;   /* the source fd */
        if ((flags & FL_DUP_ONTO) && (s32)ret != (s32)call->arg0) {
            /* dup2/dup3 onto a number closes what it held: a new generation, as a close
             * would (user space counts the same from newstate). */
            ev->newstate = 1;
            next_fd_generation(ev->pid, ev->fd);
        }
    } else if (flags & FL_EPOLL_CTL) {
        if (ret < 0)
            return;
        ev->type = EPOLL_CTL_EV;
        ev->fd = (s32)(call->arg1 >> 32);
        ev->oldstate = (s32)call->arg0;        /* the epoll fd */
        ev->newstate = (s32)(u32)call->arg1;   /* EPOLL_CTL_ADD / EPOLL_CTL_DEL */
    } else if (flags & FL_EPOLL_NEW) {
        if (ret < 0)
            return;
        ev->type = EPOLL_NEW;
        ev->fd = (s32)ret;
    } else {
        if (ret < 0)
            return;
        ev->type = FILE_OPEN;
        ev->fd = (s32)ret;
        u64 path = (flags & FL_OPENAT) ? call->arg1 : call->arg0;
        bpf_probe_read_user_str(&ev->path, sizeof(ev->path), (void *)path);
    }
    sock_events.perf_submit(ctx, ev, sizeof(*ev));
}

RAW_TRACEPOINT_PROBE(sys_exit)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!is_tracked(pid_tgid >> 32))   /* every syscall of the host: no hash lookup */
        return 0;
    u32 tid = (u32)pid_tgid;
#ifdef WITH_DEFERRED_USTACK
    take_deferred_stack(ctx, tid);
#endif
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call)
        return 0;
    u64 now = bpf_ktime_get_ns();
    s64 ret = (s64)ctx->args[1];
    u64 dur = now - call->ts;
    u32 flags = call->flags;
    u32 copy = current_copy();
    struct sys_key key = {.bucket = bucket_of(now), .pid = pid_tgid >> 32, .tid = tid,
                          .nr = call->nr};
    if (flags & FL_FAMILY_MASK)
        count_call(copy, &key, dur, ret, flags);
    if (flags & (FL_FD_READ | FL_FD_WRITE | FL_FD_WAIT))
        count_fd_io(copy, &key, (s32)call->arg0, dur, ret, flags);
    if (flags & (FL_CONNECT | FL_ACCEPT | FL_CLOSE | FL_OPEN | FL_OPENAT | FL_DUP
                 | FL_EPOLL_CTL | FL_EPOLL_NEW))
        stream_fd_event(ctx, call, pid_tgid, ret, now);
#ifdef WITH_SLOW
    if (dur >= SLOW_NS && (flags & FL_FAMILY_MASK)) {
        struct slow_event ev = {.ts = call->ts, .dur = dur, .ret = ret, .pid = key.pid,
                                .tid = tid, .fd = (s32)call->arg0, .nr = call->nr};
#ifdef WITH_SLOW_STACKS
        ev.ustack = fresh_user_stack(ctx);
        if (ev.ustack < 0)
            stat_add(STAT_USTACK_FAILED);
#else
        ev.ustack = -1;
#endif
        slow_events.perf_submit(ctx, &ev, sizeof(ev));
    }
#endif
    inflight.delete(&tid);
    return 0;
}
