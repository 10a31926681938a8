/* A slower disk for bench/write_vs_hello.py --slow-fsync-us: LD_PRELOAD this library and every fsync() and
 * fdatasync() of the process first sleeps SLOW_FSYNC_US microseconds (default 2000), as on a cloud volume or a
 * spinning disk, where each durable commit costs milliseconds instead of this machine's tenth of one. The benchmark
 * compiles it with cc into a temporary folder. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void wait_like_a_slow_disk(void) {
    const char *us_text = getenv("SLOW_FSYNC_US");
    long us = us_text ? atol(us_text) : 2000;
    struct timespec pause = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&pause, NULL);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    wait_like_a_slow_disk();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    wait_like_a_slow_disk();
    return real(fd);
}
