/* A need map: the segments of a release a peer still needs from the multicast stream
 * (crowcast/stream_need.h says what a segment is), and its text form in announces, sans I/O.
 *
 * Text: "r" followed by the needed segments as ranges in ascending order, "A-B" (inclusive) or "A"
 * (decimal), joined by "."; "r" alone is the empty map. Examples: "r", "r3", "r0-15.200.1000-1023".
 * Every byte is URL-unreserved, so the form travels as is in a query and in a bencoded answer.
 * crow_need_map_format writes at most CROW_NEED_TEXT_RANGES ranges: a map with more is widened by closing
 * its narrowest gaps first (the seeder then sends a few segments more, never one less), which bounds
 * the text below CROW_NEED_TEXT_MAX. Before this form need= was 16 hex digits (64 segments): a
 * parser refuses it, as it refuses any other text, and the caller treats the map as unknown.
 */
#ifndef CROWCAST_NEED_MAP_H
#define CROWCAST_NEED_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_NEED_SEGMENTS    1024u
#define CROW_NEED_WORDS       (CROW_NEED_SEGMENTS / 64)
#define CROW_NEED_TEXT_RANGES 48
#define CROW_NEED_TEXT_MAX    (2 + CROW_NEED_TEXT_RANGES * 10) /* "r", ranges "1023-1023." and a NUL */

typedef struct crow_need {
    uint64_t w[CROW_NEED_WORDS]; /* segment i: bit i % 64 of w[i / 64] */
} crow_need_map_t;

static inline bool crow_need_map_get(const crow_need_map_t *n, uint32_t seg)
{
    return seg < CROW_NEED_SEGMENTS && (n->w[seg / 64] >> (seg % 64) & 1);
}

static inline void crow_need_map_set(crow_need_map_t *n, uint32_t seg)
{
    if (seg < CROW_NEED_SEGMENTS)
        n->w[seg / 64] |= 1ull << (seg % 64);
}

static inline bool crow_need_map_any(const crow_need_map_t *n)
{
    uint64_t any = 0;
    for (unsigned i = 0; i < CROW_NEED_WORDS; i++)
        any |= n->w[i];
    return any != 0;
}

static inline bool crow_need_map_equal(const crow_need_map_t *a, const crow_need_map_t *b)
{
    for (unsigned i = 0; i < CROW_NEED_WORDS; i++)
        if (a->w[i] != b->w[i])
            return false;
    return true;
}

static inline void crow_need_map_or(crow_need_map_t *dst, const crow_need_map_t *src)
{
    for (unsigned i = 0; i < CROW_NEED_WORDS; i++)
        dst->w[i] |= src->w[i];
}

/* Segments [first, end) set (end clipped to CROW_NEED_SEGMENTS). */
void crow_need_map_set_range(crow_need_map_t *n, uint32_t first, uint32_t end);
/* How many segments are set. */
uint32_t crow_need_map_count(const crow_need_map_t *n);

/* Writes the text form (NUL-terminated) into out[0..cap); returns its length, or CROW_ESPACE when
 * cap is below CROW_NEED_TEXT_MAX. */
long crow_need_map_format(const crow_need_map_t *n, char *out, size_t cap);
/* Reads a text form of exactly len bytes; false (and *n unchanged) for anything else. */
bool crow_need_map_parse(const char *text, size_t len, crow_need_map_t *n);

#endif
