/* xoshiro256** (Blackman and Vigna) with a splitmix64 seeder: small, fast, and the same sequence on
 * every machine for a seed. */
#include "sim_rng.h"

#include "crowcast/mix.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(sim_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = crow_mix_next(&seed);
}

uint64_t sim_rng_next(sim_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sim_rng_below(sim_rng_t *r, uint64_t n)
{
    /* Lemire's multiply-shift; the tiny bias for huge n does not matter to a simulation. */
    return n ? (uint64_t)(((unsigned __int128)sim_rng_next(r) * n) >> 64) : 0;
}

double sim_rng_unit(sim_rng_t *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
