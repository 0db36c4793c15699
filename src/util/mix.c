/* SplitMix64 and hash-table sizing (crowcast/mix.h). */
#include "crowcast/mix.h"

uint64_t crow_mix_bits(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t crow_mix_next(uint64_t *state)
{
    return crow_mix_bits(*state += CROW_MIX_GOLDEN);
}

uint32_t crow_mix_table_mask(uint32_t entries)
{
    uint32_t size = 16;
    while (size < 2 * entries && size < (1u << 31))
        size *= 2;
    return size - 1;
}
