/* Synthetic producer for bench_collector.py: after one byte on stdin (the collector is
 * tracking us by then), make exactly N one-byte write()s to /dev/null, as fast as possible,
 * then print the elapsed monotonic nanoseconds. Statically linked: no loader syscalls. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char gate, byte = 'x';
    if (read(0, &gate, 1) != 1)
        return 2;
    int fd = open("/dev/null", O_WRONLY);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < n; i++)
        if (write(fd, &byte, 1) != 1)
            return 3;
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%ld\n", (end.tv_sec - start.tv_sec) * 1000000000L + (end.tv_nsec - start.tv_nsec));
    return 0;
}
