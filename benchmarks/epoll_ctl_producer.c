/* Producer for bench_epoll_ctl.py: after one byte on stdin (tracked by then), N
 * epoll_ctl ADD+DEL pairs of an eventfd, then N MODs of it; prints the ns per pair and per
 * MOD. Statically linked: no loader syscalls. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    char gate;
    if (read(0, &gate, 1) != 1)
        return 2;
    int ep = epoll_create1(0), ev = eventfd(0, 0);
    struct epoll_event want = {.events = EPOLLIN};
    long start = now_ns();
    for (long i = 0; i < n; i++)
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &want) || epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL))
            return 3;
    long pairs = now_ns() - start;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &want))
        return 4;
    start = now_ns();
    for (long i = 0; i < n; i++) {
        want.events = (i & 1) ? EPOLLIN : EPOLLIN | EPOLLOUT;
        if (epoll_ctl(ep, EPOLL_CTL_MOD, ev, &want))
            return 5;
    }
    long mods = now_ns() - start;
    printf("%ld %ld\n", pairs / n, mods / n);
    return 0;
}
