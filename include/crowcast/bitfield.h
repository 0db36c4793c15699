/* A fixed-size set of bits, stored most-significant bit first as BitTorrent's BITFIELD message
 * does (bit 0 is the high bit of byte 0). Spare bits past `nbits` are always zero. */
#ifndef CROWCAST_BITFIELD_H
#define CROWCAST_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crow_bitfield {
    uint8_t *bytes; /* owned; (nbits + 7) / 8 bytes */
    uint32_t nbits;
    uint32_t count; /* number of set bits, kept current by set/clear */
} crow_bitfield_t;

/* Allocates an all-zero field; returns 0 or -ENOMEM. */
int crow_bitfield_init(crow_bitfield_t *bf, uint32_t nbits);
void crow_bitfield_dispose(crow_bitfield_t *bf);

static inline size_t crow_bitfield_bytes(uint32_t nbits)
{
    return ((size_t)nbits + 7) / 8;
}

static inline bool crow_bitfield_get(const crow_bitfield_t *bf, uint32_t i)
{
    return i < bf->nbits && (bf->bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Both return true when the bit changed. Out-of-range indexes are ignored. */
bool crow_bitfield_set(crow_bitfield_t *bf, uint32_t i);
bool crow_bitfield_clear(crow_bitfield_t *bf, uint32_t i);
void crow_bitfield_set_all(crow_bitfield_t *bf);
static inline bool crow_bitfield_full(const crow_bitfield_t *bf)
{
    return bf->count == bf->nbits;
}

/* Replaces the contents with a wire bitfield of exactly crow_bitfield_bytes(nbits) bytes.
 * Returns 0, or CROW_EPROTO when len is wrong or a spare bit is set (the field is unchanged). */
int crow_bitfield_load(crow_bitfield_t *bf, const uint8_t *wire, size_t len);

/* Index of the first clear bit at or after `from`, or nbits when there is none. */
uint32_t crow_bitfield_next_clear(const crow_bitfield_t *bf, uint32_t from);
/* Index of the first set bit at or after `from`, or nbits when there is none. */
uint32_t crow_bitfield_next_set(const crow_bitfield_t *bf, uint32_t from);

#endif
