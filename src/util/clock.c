/* The monotonic, the wall and the thread's CPU clock (crowcast/clock.h): the only clock_gettime calls of src
 * and tools. */
#include <time.h>

#include "crowcast/clock.h"

static uint64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t crow_clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

uint64_t crow_clock_wall_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}

uint64_t crow_clock_thread_cpu_ns(void)
{
    return read_ns(CLOCK_THREAD_CPUTIME_ID);
}
