/* TCP lifecycle of tracked processes: state changes (sock:inet_sock_set_state) and
 * retransmits (tcp:tcp_retransmit_skb). Many transitions run in softirq context where the
 * current task is not the socket's owner, so a socket seen once in a tracked process's
 * context is remembered by address in `tracked_socks` and followed from then on. */
#define IPPROTO_TCP_ 6
#define TCP_CLOSE_ 7

BPF_TABLE("lru_hash", u64, u32, tracked_socks, MAX_THREADS);

static __always_inline int follow_socket(u64 skaddr, int closing)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u32 *owner = tracked_socks.lookup(&skaddr);
    if (is_tracked(tgid)) {
        if (!closing)
            tracked_socks.update(&skaddr, &tgid);
        else if (owner)
            tracked_socks.delete(&skaddr);
        return tgid;
    }
    if (!owner)
        return 0;
    u32 known = *owner;
    if (closing)
        tracked_socks.delete(&skaddr);
    return known;
}

static __always_inline void copy_addrs(struct sock_event *ev, u16 family, const u8 *s4,
                                       const u8 *d4, const u8 *s6, const u8 *d6)
{
    ev->family = family;
    if (family == AF_INET_) {
        bpf_probe_read_kernel(&ev->laddr, 4, s4);
        bpf_probe_read_kernel(&ev->raddr, 4, d4);
    } else {
        bpf_probe_read_kernel(&ev->laddr, 16, s6);
        bpf_probe_read_kernel(&ev->raddr, 16, d6);
    }
}

static __always_inline struct sock_event *new_sock_event(u32 type, u32 owner)
{
    int zero = 0;
    struct sock_event *ev = sock_scratch.lookup(&zero);
    if (!ev)
        return NULL;
    __builtin_memset(ev, 0, sizeof(*ev));
    u64 pid_tgid = bpf_get_current_pid_tgid();
    ev->ts = bpf_ktime_get_ns();
    ev->type = type;
    ev->pid = owner;
    /* The thread is only meaningful when the owner itself is running. */
    ev->tid = (pid_tgid >> 32) == owner ? (u32)pid_tgid : 0;
    ev->fd = -1;
    return ev;
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != IPPROTO_TCP_)
        return 0;
    u64 skaddr = (u64)args->skaddr;
    u32 owner = follow_socket(skaddr, args->newstate == TCP_CLOSE_);
    if (!owner)
        return 0;
    struct sock_event *ev = new_sock_event(SOCK_STATE, owner);
    if (!ev)
        return 0;
    ev->skaddr = skaddr;
    ev->oldstate = args->oldstate;
    ev->newstate = args->newstate;
    ev->lport = args->sport;
    ev->rport = args->dport;
    copy_addrs(ev, args->family, args->saddr, args->daddr, args->saddr_v6, args->daddr_v6);
    sock_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
    u64 skaddr = (u64)args->skaddr;
    u32 owner = follow_socket(skaddr, 0);
    if (!owner)
        return 0;
    struct sock_event *ev = new_sock_event(SOCK_RETRANSMIT, owner);
    if (!ev)
        return 0;
    ev->skaddr = skaddr;
    ev->newstate = args->state;
    ev->lport = args->sport;
    ev->rport = args->dport;
    copy_addrs(ev, args->family, args->saddr, args->daddr, args->saddr_v6, args->daddr_v6);
    sock_events.perf_submit(args, ev, sizeof(*ev));
    return 0;
}
