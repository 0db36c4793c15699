/* Bit mixing for hash tables and reproducible pseudo-random streams (not for secrets: see random.h).
 * SplitMix64 (Steele, Lea and Flood, 2014): the output function spreads every input bit over the
 * whole word; the generator walks a Weyl sequence through it. */
#ifndef CROWCAST_MIX_H
#define CROWCAST_MIX_H

#include <stdint.h>

/* The SplitMix64 generator's increment (2^64 / golden ratio, odd). */
#define CROW_MIX_GOLDEN 0x9e3779b97f4a7c15ull

/* SplitMix64's output function of x. */
uint64_t crow_mix_bits(uint64_t x);
/* The next value of the SplitMix64 sequence at *state: crow_mix_bits(*state += CROW_MIX_GOLDEN). */
uint64_t crow_mix_next(uint64_t *state);
/* The mask of an open-addressing table for `entries` keys: a power of two at least twice as large
 * (and at least 16), minus one. */
uint32_t crow_mix_table_mask(uint32_t entries);

#endif
