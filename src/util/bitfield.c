/* Bit sets in BitTorrent wire order, with a running population count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/bitfield.h"
#include "crowcast/error.h"

int crow_bitfield_init(crow_bitfield_t *bf, uint32_t nbits)
{
    bf->nbits = nbits;
    bf->count = 0;
    bf->bytes = calloc(crow_bitfield_bytes(nbits) ? crow_bitfield_bytes(nbits) : 1, 1);
    return bf->bytes ? 0 : -ENOMEM;
}

void crow_bitfield_dispose(crow_bitfield_t *bf)
{
    free(bf->bytes);
    bf->bytes = NULL;
    bf->nbits = bf->count = 0;
}

bool crow_bitfield_set(crow_bitfield_t *bf, uint32_t i)
{
    if (i >= bf->nbits || crow_bitfield_get(bf, i))
        return false;
    bf->bytes[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
    bf->count++;
    return true;
}

bool crow_bitfield_clear(crow_bitfield_t *bf, uint32_t i)
{
    if (i >= bf->nbits || !crow_bitfield_get(bf, i))
        return false;
    bf->bytes[i >> 3] &= (uint8_t) ~(0x80u >> (i & 7));
    bf->count--;
    return true;
}

static uint8_t spare_mask(uint32_t nbits)
{
    unsigned used = nbits & 7;
    return used ? (uint8_t)(0xffu >> used) : 0;
}

void crow_bitfield_set_all(crow_bitfield_t *bf)
{
    size_t n = crow_bitfield_bytes(bf->nbits);
    if (n == 0)
        return;
    memset(bf->bytes, 0xff, n);
    bf->bytes[n - 1] &= (uint8_t)~spare_mask(bf->nbits);
    bf->count = bf->nbits;
}

int crow_bitfield_load(crow_bitfield_t *bf, const uint8_t *wire, size_t len)
{
    size_t n = crow_bitfield_bytes(bf->nbits);
    if (len != n || (n && (wire[n - 1] & spare_mask(bf->nbits))))
        return CROW_EPROTO;
    memcpy(bf->bytes, wire, n);
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += (uint32_t)__builtin_popcount(wire[i]);
    bf->count = count;
    return 0;
}

static uint32_t next_with(const crow_bitfield_t *bf, uint32_t from, uint8_t skip_byte, bool want)
{
    uint32_t i = from;
    while (i < bf->nbits) {
        if ((i & 7) == 0 && bf->bytes[i >> 3] == skip_byte) {
            i += 8;
            continue;
        }
        if (crow_bitfield_get(bf, i) == want)
            return i;
        i++;
    }
    return bf->nbits;
}

uint32_t crow_bitfield_next_clear(const crow_bitfield_t *bf, uint32_t from)
{
    return next_with(bf, from, 0xff, false);
}

uint32_t crow_bitfield_next_set(const crow_bitfield_t *bf, uint32_t from)
{
    return next_with(bf, from, 0x00, true);
}
