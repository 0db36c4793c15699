/* The process's clocks (monotonic, wall, thread CPU), read in one place (util/clock.c). The
 * engines never read a clock: they take the time as a parameter, and the layer check keeps codec,
 * engine and storage from including this header. Code with a loop asks it (crow_loop_now), which reads
 * crow_clock_mono_ns. */
#ifndef CROWCAST_CLOCK_H
#define CROWCAST_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC: intervals and deadlines within one process (any origin). */
uint64_t crow_clock_mono_ns(void);
/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): what must mean the same across a restart or
 * another host (soak deadlines, signed timestamps, log stamps); it can step. */
uint64_t crow_clock_wall_ns(void);
/* Nanoseconds of CPU the calling thread has used (CLOCK_THREAD_CPUTIME_ID): what one core must keep
 * up with, for reports. */
uint64_t crow_clock_thread_cpu_ns(void);

#endif
