/* Big-endian (network order) loads and stores on byte buffers, for the codecs. */
#ifndef CROWCAST_BYTEORDER_H
#define CROWCAST_BYTEORDER_H

#include <stdint.h>

static inline uint16_t crow_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t crow_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t crow_get64(const uint8_t *p)
{
    return (uint64_t)crow_get32(p) << 32 | crow_get32(p + 4);
}

/* Each store returns the pointer past what it wrote. */
static inline uint8_t *crow_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *crow_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *crow_put64(uint8_t *p, uint64_t v)
{
    return crow_put32(crow_put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

#endif
