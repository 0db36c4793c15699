/* The simulator's random numbers: xoshiro256** seeded through splitmix64, so one 64-bit seed fixes
 * every draw of a run (loss, start times, crashes) and a run replays exactly. Not for secrets. */
#ifndef CROWCAST_SIM_RNG_H
#define CROWCAST_SIM_RNG_H

#include <stdint.h>

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng_t;

void sim_rng_seed(sim_rng_t *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng_t *r);
/* Uniform in [0, n) (n > 0; 0 when n is 0). */
uint64_t sim_rng_below(sim_rng_t *r, uint64_t n);
/* Uniform in [0, 1). */
double sim_rng_unit(sim_rng_t *r);

#endif
